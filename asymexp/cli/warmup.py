"""``asymexp warmup``: compile the Numba kernels a workload needs, ahead of the first real run.

Each workload runs the smallest real call of its code path (widths 4-8, a handful of replicas, a 0.01 time
span, 40 MNIST images), so exactly the kernel signatures a real run uses are compiled and written to the on-disk
cache (:mod:`asymexp.jit`); later runs load them. A warm cache makes this a few seconds. Progress goes to stderr
(one line per step, plus the compile notices of :mod:`asymexp.compile_notice`), the summary to stdout.
"""
from __future__ import annotations

import sys
import time

from asymexp.cli._common import add_json_argument, emit_json
from asymexp.errors import SpecError

HELP = "compile the Numba kernels of a workload now (first run only; later runs load them from the cache)"
INTERRUPTED = "interrupted; the kernels compiled so far stay in the cache"  # Ctrl-C (asymexp.cli.main)


def _simulate(dynamics: str):
    def run():
        import numpy as np

        from asymexp import simulate

        x = np.array([[0.1, -0.3, 1.0], [0.5, 0.2, 1.0]])
        simulate("3/4", x, np.array([0.3, -0.2]), times=[0.01], replicas=2, widths=8, dynamics=dynamics)
    return run


def _validate():
    from asymexp import validate

    validate("tanh4.toml", "3/4", widths=[4, 8], replicas=4, time=0.01)


def _deep():
    from asymexp import validate

    validate("tanh4.toml", ["3/4", "3/4"], widths=[4, 8], replicas=4, time=0.01, sensitivity_width=None)


def _mnist():
    from asymexp import train

    train("1", widths=[4], epochs=1, n_train=40, n_test=20)


# workload -> [(step, call)]; "validate" is the command's default path (one hidden layer, gradient flow).
WORKLOADS = {
    "validate": [("shallow validation (flow)", _validate)],
    "simulate": [(f"simulate ({d})", _simulate(d)) for d in ("flow", "gd", "sgd")],
    "deep": [("deep validation (gd)", _deep)],
    "mnist": [("MNIST epoch (float32)", _mnist)],
}


def add_arguments(parser) -> None:
    parser.add_argument("--workload", default="all",
                        help=f"comma-separated: {', '.join(WORKLOADS)}, or all (default: all)")
    add_json_argument(parser)


def _workloads(text: str) -> list[str]:
    names = [w.strip() for w in str(text).split(",")]
    if names == ["all"]:
        return list(WORKLOADS)
    bad = [w for w in names if w not in WORKLOADS]
    if bad or not names:
        raise SpecError(f"--workload {text!r}: {', '.join(map(repr, bad)) or 'empty'} unknown; allowed: "
                        f"{', '.join(WORKLOADS)} (comma-separated) or all")
    return list(dict.fromkeys(names))


def run(args) -> int:
    from asymexp import compile_notice, jit

    names = _workloads(args.workload)
    steps = [(w, label, call) for w in names for label, call in WORKLOADS[w]]
    rows, t_start = {}, time.perf_counter()
    for i, (workload, label, call) in enumerate(steps, 1):
        sys.stderr.write(f"asymexp warmup: [{i}/{len(steps)}] {label} ...\n")
        sys.stderr.flush()
        k0, s0 = compile_notice.compiled()
        t0 = time.perf_counter()
        call()
        k1, s1 = compile_notice.compiled()
        row = rows.setdefault(workload, {"kernels_compiled": 0, "compile_seconds": 0.0, "seconds": 0.0})
        row["kernels_compiled"] += k1 - k0
        row["compile_seconds"] = round(row["compile_seconds"] + s1 - s0, 2)
        row["seconds"] = round(row["seconds"] + time.perf_counter() - t0, 2)
    doc = {"workloads": rows, "seconds": round(time.perf_counter() - t_start, 2),
           "cache": jit.CACHE_FOLDER, "cached_on_disk": jit.CACHE_FOLDER is not None}
    if args.json:
        emit_json(doc)
        return 0
    for workload, row in rows.items():
        what = (f"compiled {row['kernels_compiled']} kernels in {row['compile_seconds']:.1f} s"
                if row["kernels_compiled"] else "already compiled (loaded from the cache)")
        print(f"{workload:9s} {what}; {row['seconds']:.1f} s in all")
    where = jit.CACHE_FOLDER or "nowhere: the cache folder is not writable, so every run compiles again"
    print(f"kernel cache: {where}")
    return 0
