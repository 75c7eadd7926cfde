"""Benchmark: time to first result on a cold Numba cache, this checkout against a baseline commit, in one run.

Two workloads, each in a fresh process with an empty NUMBA_CACHE_DIR (then once more on the now warm cache):

- ``validate``: the README's toy ``asymexp validate --problem tanh4.toml --gamma 0.75 --widths 16,32,64,128,256
  --replicas 64 --time 0.1 --seed 1`` (its first result on a fresh machine);
- ``simulate``: a first ``asymexp.simulate("3/4", x, y, widths=16, replicas=8)`` from Python.

For each it prints the cold wall and CPU times (CPU time is the steadier figure on a shared machine), the warm
wall time, the kernels compiled (outermost compiles and all signatures,
counted from Numba's compile events), the seconds until the first stderr line that says what is happening (the
project's compile notice; the baseline says nothing), and the ratio cold(project) / cold(baseline). The
baseline's package is taken with ``git archive`` (no change to the repository's state). Each figure is one run
on a possibly shared machine: the load average before and after is printed as its noise indicator, and
``--repeat`` reruns the cold measurement to give a spread.

    python benchmarks/bench_cold_start.py [--baseline 6bbc528] [--workloads validate,simulate] [--repeat 1]
                                          [--project DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r'''
import json, sys, time
t0 = time.perf_counter()
import numba.core.event as ev
counts = {"outer": 0, "all": 0}
depth = [0]
class Count(ev.Listener):
    def on_start(self, e):
        depth[0] += 1
    def on_end(self, e):
        depth[0] -= 1
        counts["all"] += 1
        counts["outer"] += depth[0] == 0
ev.register("numba:compile", Count())
if sys.argv[1] == "validate":
    from asymexp.cli import main
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["validate", "--problem", "tanh4.toml", "--gamma", "0.75", "--widths", "16,32,64,128,256",
                   "--replicas", "64", "--time", "0.1", "--seed", "1"])
    assert rc == 0, rc
else:
    import numpy as np
    import asymexp
    x = np.array([[0.1, -0.3, 1.0], [0.5, 0.2, 1.0], [-0.4, 0.9, 1.0]])
    asymexp.simulate("3/4", x, np.array([0.3, -0.2, 0.1]), widths=16, replicas=8)
print("RESULT " + json.dumps({"seconds": time.perf_counter() - t0, **counts}))
'''


def _run(top: Path, cache: Path, workload: str) -> dict:
    """One process: wall seconds, compile counts, seconds until its first stderr line naming the compile."""
    env = dict(os.environ, PYTHONPATH=str(top), NUMBA_CACHE_DIR=str(cache))
    env.pop("NUMBA_DISABLE_JIT", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, workload], env=env, cwd=tempfile.gettempdir(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first_notice: list[float] = []

    def watch():
        for line in proc.stderr:
            if not first_notice and "compiling Numba kernels" in line:
                first_notice.append(time.perf_counter() - t0)

    reader = threading.Thread(target=watch)
    reader.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{top}: {workload} failed with status {proc.returncode}")
    result = json.loads(next(l for l in out.splitlines() if l.startswith("RESULT "))[7:])
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "outer": result["outer"], "all": result["all"],
            "notice": first_notice[0] if first_notice else None}


def _measure(top: Path, workload: str, repeat: int) -> dict:
    colds = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="asymexp-cold-") as cache:
            cold = _run(top, Path(cache), workload)
            warm = _run(top, Path(cache), workload)
        colds.append(cold)
    walls, cpus = [c["wall"] for c in colds], [c["cpu"] for c in colds]
    return {"cold": statistics.mean(walls), "cold_sd": statistics.stdev(walls) if len(walls) > 1 else None,
            "cpu": statistics.mean(cpus), "cpu_sd": statistics.stdev(cpus) if len(cpus) > 1 else None,
            "warm": warm["wall"], "outer": cold["outer"], "all": cold["all"], "notice": cold["notice"]}


def _pm(mean: float, sd: float | None) -> str:
    return f"{mean:.1f} (1 run)" if sd is None else f"{mean:.1f} +- {sd:.1f}"


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="6bbc528", help="baseline commit (default: 6bbc528)")
    parser.add_argument("--workloads", default="validate,simulate", help="default: validate,simulate")
    parser.add_argument("--repeat", type=int, default=1, help="cold runs per measurement (default: 1)")
    parser.add_argument("--project", default=str(ROOT),
                        help="folder holding the asymexp package to compare (default: this checkout), e.g. a "
                             "patched copy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="asymexp-baseline-") as base:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "asymexp"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", base], input=archive, check=True)
        print(f"cold start, baseline {args.baseline} vs this checkout; load average before: {_load()} "
              f"on {os.cpu_count()} CPUs")
        print(f"{'workload':9s} {'code':9s} {'cold wall s':>15s} {'cold CPU s':>15s} {'warm s':>7s} {'kernels':>8s} "
              f"{'signatures':>10s} {'notice at':>9s}")
        for workload in args.workloads.split(","):
            rows = {}
            for label, top in (("baseline", Path(base)), ("project", Path(args.project))):
                r = rows[label] = _measure(top, workload, args.repeat)
                notice = "-" if r["notice"] is None else f"{r['notice']:.1f} s"
                print(f"{workload:9s} {label:9s} {_pm(r['cold'], r['cold_sd']):>15s} {_pm(r['cpu'], r['cpu_sd']):>15s} "
                      f"{r['warm']:7.1f} {r['outer']:8d} {r['all']:10d} {notice:>9s}")
            p, b = rows["project"], rows["baseline"]
            print(f"{workload:9s} ratio project / baseline, cold wall: {p['cold'] / b['cold']:.2f}, "
                  f"cold CPU: {p['cpu'] / b['cpu']:.2f}")
        print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
