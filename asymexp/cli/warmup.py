"""``asymexp warmup``: compile the Numba kernels a workload needs, ahead of the first real run.

Each workload runs the smallest real call of its code path (widths 4-8, a handful of replicas, a 0.01 time
span, 40 MNIST images), so exactly the kernel signatures a real run uses are compiled and written to the on-disk
cache (:mod:`asymexp.jit`); later runs load them. A warm cache makes this a few seconds. Progress goes to stderr
(one line per step, plus the compile notices of :mod:`asymexp.compile_notice`), the summary to stdout.

The steps compile disjoint kernels, so ``--jobs J`` runs them in J fresh processes at once (default: one per
CPU), the longest first (:data:`COST`): a cold compile is single-threaded, and on two cores the MNIST workload's
two kernels and the simulator's compile side by side. The MNIST workload is two steps: an epoch with the
evaluation kernel stubbed out, and an evaluation with the epoch kernel stubbed out (:func:`_stubbed`).
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

from asymexp.cli._common import add_json_argument, emit_json, integer
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


def _deep_start():
    from asymexp import validate

    validate("sigmoid4.toml", ["3/5", "7/10", "9/10"], widths=[4, 8], replicas=4, time=0.0, sensitivity_width=None)


def _deep():
    from asymexp import validate

    validate("tanh4.toml", ["3/4", "3/4"], widths=[4, 8], replicas=4, time=0.01, sensitivity_width=None)


@contextmanager
def _stubbed(name: str, stub):
    """``asymexp.mnist.epoch_kernel.<name>`` replaced by the Python ``stub`` for the duration (the trainer imports
    its kernels at call time), so that a warmup step compiles only the other kernel."""
    from asymexp.mnist import epoch_kernel

    kept = getattr(epoch_kernel, name)
    setattr(epoch_kernel, name, stub)
    try:
        yield
    finally:
        setattr(epoch_kernel, name, kept)


def _mnist_epoch():
    from asymexp import train

    with _stubbed("evaluate", lambda *args: None):
        train("1", widths=[4], epochs=1, n_train=40, n_test=20)


def _mnist_evaluation():
    from asymexp import train

    with _stubbed("train_epoch", lambda *args: (0.0, 1, 0, -1)):   # (loss sum, batches, correct, bad batch)
        train("1", widths=[4], epochs=1, n_train=40, n_test=20)


# workload -> [(step, call)]; "validate" is the command's default path (one hidden layer, gradient flow).
WORKLOADS = {
    "validate": [("shallow validation (flow)", _validate)],
    "simulate": [(f"simulate ({d})", _simulate(d)) for d in ("flow", "gd", "sgd")],
    "deep": [("deep validation (gd)", _deep)],
    "mnist": [("MNIST epoch (float32)", _mnist_epoch), ("MNIST evaluation (float32)", _mnist_evaluation)],
}
#: ``asymexp demo``'s kernels (``make demo``): the shallow validation, the deep one at t = 0, the MNIST epoch.
WORKLOADS["demo"] = WORKLOADS["validate"] + [("deep validation at t = 0", _deep_start)] + WORKLOADS["mnist"]
#: Cold compile CPU seconds of each step (2-core machine, unloaded; scheduling order only, longest first).
COST = {"shallow validation (flow)": 25, "deep validation (gd)": 120, "MNIST epoch (float32)": 40,
        "MNIST evaluation (float32)": 50, "deep validation at t = 0": 30, "simulate (flow)": 25, "simulate (gd)": 20, "simulate (sgd)": 20}


def add_arguments(parser) -> None:
    parser.add_argument("--workload", default="all",
                        help=f"comma-separated: {', '.join(WORKLOADS)}, or all (default: all)")
    parser.add_argument("--jobs", type=integer(1), default=None,
                        help="compile in this many processes at once (default: one per CPU, at most one per step)")
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


def _step(label: str) -> tuple[int, float, float]:
    """Run the warmup step ``label`` in this process: (kernels compiled, compile seconds, seconds)."""
    from asymexp import compile_notice

    call = next(c for steps in WORKLOADS.values() for name, c in steps if name == label)
    k0, s0 = compile_notice.compiled()
    t0 = time.perf_counter()
    call()
    k1, s1 = compile_notice.compiled()
    return k1 - k0, s1 - s0, time.perf_counter() - t0


def _say(text: str) -> None:
    sys.stderr.write(f"asymexp warmup: {text}\n")
    sys.stderr.flush()


def _run_steps(steps: list[tuple[str, str]], jobs: int):
    """Yield (workload, label, (kernels, compile s, s)) as the steps finish: in this process when ``jobs`` is 1,
    else in ``jobs`` spawned processes, the costliest steps first."""
    if jobs == 1:
        for i, (workload, label) in enumerate(steps, 1):
            _say(f"[{i}/{len(steps)}] {label} ...")
            yield workload, label, _step(label)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    order = sorted(steps, key=lambda s: -COST.get(s[1], 30))
    _say(f"{len(steps)} steps in {jobs} processes: {', '.join(label for _, label in order)} ...")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {pool.submit(_step, label): (workload, label) for workload, label in order}
        for done, future in enumerate(as_completed(futures), 1):
            workload, label = futures[future]
            result = future.result()
            _say(f"[{done}/{len(steps)}] {label} done ({result[2]:.0f} s)")
            yield workload, label, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run(args) -> int:
    from asymexp import jit

    names = _workloads(args.workload)
    steps, seen = [], set()
    for w in names:                     # a step shared by workloads runs once, counted under the first
        for label, _ in WORKLOADS[w]:
            if label not in seen:
                seen.add(label)
                steps.append((w, label))
    jobs = min(len(steps), args.jobs or os.cpu_count() or 1)
    rows, t_start = {}, time.perf_counter()
    for workload, label, (kernels, compile_s, seconds) in _run_steps(steps, jobs):
        row = rows.setdefault(workload, {"kernels_compiled": 0, "compile_seconds": 0.0, "seconds": 0.0})
        row["kernels_compiled"] += kernels
        row["compile_seconds"] = round(row["compile_seconds"] + compile_s, 2)
        row["seconds"] = round(row["seconds"] + seconds, 2)
    doc = {"workloads": rows, "seconds": round(time.perf_counter() - t_start, 2), "jobs": jobs,
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
