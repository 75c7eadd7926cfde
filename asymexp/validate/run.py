"""Run a validation: tasks (width, replica chunk) through :func:`asymexp.sweep.run_tasks`, then the analysis.

Every chunk is one task, written atomically to ``<out>/tasks/<key>.json``; a rerun with the same ``out`` skips
finished chunks, so an interrupted validation loses only the chunks in flight.
"""
from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

from asymexp.errors import AsymexpError
from asymexp.sweep import Task, run_tasks
from asymexp.validate.worker import problem_to_params, simulate_chunk, stack_chunks


def _fmt(x) -> str:
    return format(float(x), "g")


def chunk_tasks(problem, gammas, width_lists, replicas: int, t: float, seed: int, dynamics: str,
                antithetic: bool, flow_dt, chunk: int) -> list[Task]:
    """One task per (widths, chunk of replicas); keys name gamma, widths, dynamics, seed and the first replica."""
    if replicas < 4:
        raise AsymexpError(f"--replicas {replicas}: at least 4 are needed for standard errors")
    if antithetic and replicas % 2:
        raise AsymexpError(f"--replicas {replicas}: antithetic pairs need an even number")
    chunk = max(2, int(chunk) - int(chunk) % 2) if antithetic else max(1, int(chunk))
    pparams = problem_to_params(problem)
    tasks = []
    for widths in width_lists:
        for start in range(0, replicas, chunk):
            count = min(chunk, replicas - start)
            key = (f"g{'+'.join(_fmt(g) for g in gammas)}_N{'+'.join(map(str, widths))}_t{_fmt(t)}_{dynamics}"
                   f"_s{seed}{'_a' if antithetic else ''}_r{start:07d}-{count}")
            tasks.append(Task(key, {"problem": pparams, "gammas": [str(g) for g in gammas],
                                    "widths": [int(w) for w in widths], "time": float(t), "dynamics": dynamics,
                                    "seed": int(seed), "start": start, "count": count,
                                    "antithetic": bool(antithetic), "flow_dt": flow_dt}))
    return tasks


def group_results(tasks: list[Task], results: dict) -> dict[tuple, dict]:
    """{tuple(widths): stacked arrays} in replica order."""
    groups: dict[tuple, list] = {}
    for task in sorted(tasks, key=lambda tk: (tuple(tk.params["widths"]), tuple(tk.params["gammas"]),
                                              tk.params["start"])):
        key = (tuple(task.params["gammas"]), tuple(task.params["widths"]))
        groups.setdefault(key, []).append(results[task.key])
    return {k: stack_chunks(v) for k, v in groups.items()}


def execute(tasks, out=None, workers=None, scheduler=None, progress=True) -> dict:
    """run_tasks in ``out`` (or a temporary folder); in-process unless workers/scheduler are given."""
    w = 0 if workers is None and scheduler is None else workers
    if out is None:
        with tempfile.TemporaryDirectory(prefix="asymexp-validate-") as tmp:
            return run_tasks(tasks, simulate_chunk, tmp, workers=w, scheduler=scheduler, desc="validate",
                             progress=progress)
    return run_tasks(tasks, simulate_chunk, Path(out), workers=w, scheduler=scheduler, desc="validate",
                     progress=progress)


def validate_shallow(problem, gamma, widths, replicas: int, t: float = 1.0, seed: int = 0, dynamics: str = "flow",
                     antithetic: bool = True, control: bool | None = None, flow_dt=None, chunk: int = 256,
                     out=None, workers=None, scheduler=None, progress=True, quad_order: int | None = None) -> dict:
    """The shallow validation document (see :mod:`asymexp.validate.shallow`); quad_order: nodes per dimension
    of the theory layer's quadrature (default: its most accurate)."""
    from asymexp.validate.shallow import summarize

    gamma = Fraction(gamma) if not isinstance(gamma, Fraction) else gamma
    if control is None:
        control = antithetic and problem.c_law.is_symmetric
    if control and not (antithetic and problem.c_law.is_symmetric):
        raise AsymexpError("the control variate needs antithetic pairs and a symmetric law of c")
    tasks = chunk_tasks(problem, [gamma], [[n] for n in widths], replicas, t, seed, dynamics, antithetic, flow_dt,
                        chunk)
    results = execute(tasks, out, workers, scheduler, progress)
    grouped = group_results(tasks, results)
    per_width = [grouped[((str(gamma),), (int(n),))] for n in widths]
    return summarize(problem, gamma, t, widths, per_width, antithetic, control, dynamics, flow_dt, quad_order)
