"""The tasks of a validation: one (widths, replica chunk) each, run through :func:`asymexp.executor.run_tasks`.

Every chunk is one task, written atomically to ``<out>/tasks/<key>.json``; a rerun with the same ``out`` skips
finished chunks, so an interrupted validation loses only the chunks in flight.
"""
from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

from asymexp import budget
from asymexp.errors import AsymexpError
from asymexp.executor import Task, run_tasks
from asymexp.sim.replicas import check_antithetic
from asymexp.validation.worker import problem_to_params, simulate_chunk, stack_chunks


def _fmt(x) -> str:
    return format(float(x), "g")


def _exact_text(value) -> str:
    """A Fraction as file-safe text: 3/4 -> "3-4" (the derivations' file names write gammas the same way)."""
    return str(value).replace("/", "-")


def chunk_tasks(problem, gammas, width_lists, replicas: int, t: float, seed: int, dynamics: str,
                antithetic: bool, flow_dt, chunk: int) -> list[Task]:
    """One task per (widths, chunk of replicas); keys name the exact gammas, widths, dynamics, seed and the first
    replica. Each task carries its network as ``spec.to_dict()`` (exact gammas), built here, once."""
    if replicas < 4:
        raise AsymexpError(f"--replicas {replicas}: at least 4 are needed for standard errors")
    if antithetic and replicas % 2:
        raise AsymexpError(f"--replicas {replicas}: antithetic pairs need an even number")
    chunk = max(2, int(chunk) - int(chunk) % 2) if antithetic else max(1, int(chunk))
    pparams = problem_to_params(problem)
    tasks = []
    for widths in width_lists:
        spec = problem.spec(gammas, widths)
        check_antithetic(spec, antithetic)
        for start in range(0, replicas, chunk):
            count = min(chunk, replicas - start)
            key = (f"g{'+'.join(_exact_text(g) for g in spec.gammas)}_N{'+'.join(map(str, spec.widths))}"
                   f"_t{_fmt(t)}_{dynamics}_s{seed}{'_a' if antithetic else ''}_r{start:07d}-{count}")
            tasks.append(Task(key, {"problem": pparams, "spec": spec.to_dict(), "time": float(t), "dynamics": dynamics,
                                    "seed": int(seed), "start": start, "count": count,
                                    "antithetic": bool(antithetic), "flow_dt": flow_dt}))
    return tasks


def group_results(tasks: list[Task], results: dict) -> dict[tuple, dict]:
    """{tuple(widths): stacked arrays} in replica order."""
    groups: dict[tuple, list] = {}
    for task in sorted(tasks, key=lambda tk: (tuple(tk.params["spec"]["widths"]), tuple(tk.params["spec"]["gammas"]),
                                              tk.params["start"])):
        key = (tuple(task.params["spec"]["gammas"]), tuple(task.params["spec"]["widths"]))
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


def run_estimate(problem, jobs, t: float, dynamics: str, flow_dt, chunk: int,
                 what: str = "the validation") -> budget.Estimate:
    """Memory and work of simulating ``jobs`` [(layer widths, replicas)] before any task is built
    (:func:`asymexp.budget.simulation` summed over the jobs; memory: the largest chunk plus every replica's
    results, which are all held until the fits). Steps: GD/SGD round(t N_L); flow t / flow_dt (default 1/N_L);
    SGD uses one training point per step."""
    P, M, d = problem.points.shape[0], problem.n_train, problem.dim
    peak = kept = flops = 0.0
    for widths, replicas in jobs:
        widths, replicas = [int(n) for n in widths], int(replicas)
        if dynamics == "flow":
            steps, evals, m = budget.flow_steps(float(t), flow_dt or 1.0 / widths[-1]), 4, M
        else:
            steps, evals, m = float(t) * widths[-1], 1, (1 if dynamics == "sgd" else M)
        one = budget.simulation(widths, replicas, max(1, int(chunk)), steps, m, P, d, evals)
        held = budget.simulation(widths, replicas, 0, 0, M, P, d).bytes
        peak, kept, flops = max(peak, one.bytes - held), kept + held, flops + one.flops
    return budget.Estimate(what, peak + kept, flops)
