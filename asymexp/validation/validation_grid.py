"""``asymexp sweep validate``: the shallow validation over a (gamma, width) grid, one task per replica chunk.

    asymexp sweep validate --grid "gamma=0.6,0.75,0.9" --grid "width=64,128,256,512" --out DIR [--replicas R]

Tasks are (gamma, width, replica chunk) and go through :func:`asymexp.executor.run_tasks` (local processes, or Dask
with --scheduler); a rerun skips finished chunks. The summary holds, per gamma, the fitted exponent and b0 with
their CIs and the verdict; figures go to ``DIR/gamma-<g>/``.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from asymexp.errors import AsymexpError
from asymexp.input_checks import check_replicas, check_time
from asymexp.spec import exact_number, parse_gammas
from asymexp.validation.validate_options import SWEEP, SWEEP_AFTER_LONG_RUN, SWEEP_CHANGES, add_validate_arguments
from asymexp import budget

HELP = "shallow validation over a gamma x width grid (tasks: gamma, width, replica chunk)"


def add_arguments(parser) -> None:
    """asymexp validate's options that a grid shares (:mod:`asymexp.validation.validate_options`), with the
    grid's defaults (the built-in problem, gradient flow)."""
    add_validate_arguments(parser, SWEEP, **SWEEP_CHANGES)
    budget.add_long_run_argument(parser)
    add_validate_arguments(parser, SWEEP_AFTER_LONG_RUN)


def _axes(args) -> tuple[list[Fraction], list[int]]:
    from asymexp.executor import parse_grid

    axes = parse_grid(args.grid)
    unknown = sorted(set(axes) - {"gamma", "width"})
    if unknown or "gamma" not in axes or "width" not in axes:
        raise AsymexpError(f"sweep validate needs --grid gamma=... and --grid width=...; got axes "
                           f"{sorted(axes)} (allowed: gamma, width)")
    check_replicas(args.replicas, "--replicas")  # --seed, --chunk, --quad-order: checked by their argparse types
    check_time(args.time, "--time")
    gammas = list(parse_gammas(axes["gamma"], numeric=True))
    try:
        widths = sorted({int(w) for w in axes["width"]})
    except ValueError:
        raise AsymexpError(f"--grid width={','.join(axes['width'])}: widths must be integers >= 1") from None
    if any(w < 1 for w in widths):
        raise AsymexpError(f"widths {widths}: integers >= 1 are required")
    return gammas, widths


def _flow_dt(args):
    return None if args.flow_dt is None else float(exact_number(args.flow_dt, "--flow-dt", positive=True))


def _step(args, problem):
    """The RK4 step the tasks use: --flow-dt, else the default rule (asymexp.validation.flow_step)."""
    if args.dynamics != "flow":
        return _flow_dt(args)
    from asymexp.validation.flow_step import resolve

    return resolve(problem, args.time, _flow_dt(args), args.quad_order)[0]


def folder_identity(args) -> tuple[dict, dict]:
    """``(parameters, continuable)`` of the sweep's manifest (:func:`asymexp.run_folder.claim_folder`): the grid
    (exact gammas, sorted widths), the problem's content (a digest, so a renamed copy is the same problem) and
    every simulation setting; nothing may change between reruns."""
    from asymexp.inputs.problems import load_problem
    from asymexp.provenance import problem_key
    from asymexp.run_folder import digest

    gammas, widths = _axes(args)
    return {"gamma": [str(g) for g in gammas], "width": widths,
            "problem": digest(problem_key(load_problem(args.problem))), "replicas": args.replicas,
            "chunk": args.chunk, "time": args.time, "seed": args.seed, "dynamics": args.dynamics,
            "flow_dt": _flow_dt(args), "antithetic": not args.no_antithetic, "quad_order": args.quad_order}, {}


def build_tasks(args):
    from asymexp.inputs.problems import load_problem
    from asymexp.validation.tasks import chunk_tasks
    from asymexp.validation.worker import simulate_chunk

    gammas, widths = _axes(args)
    problem = load_problem(args.problem)
    if not getattr(args, "_budget_checked", False):          # build_tasks runs again in summarize
        from asymexp.validation.tasks import run_estimate

        jobs = [([n], args.replicas) for n in widths] * len(gammas)
        budget.check(run_estimate(problem, jobs, args.time, args.dynamics, _step(args, problem), args.chunk,
                                  f"sweep validate ({len(gammas)} gammas x {len(widths)} widths)"),
                     getattr(args, "yes_long_run", False), prog="asymexp sweep")
        args._budget_checked = True
    tasks = []
    for g in gammas:
        tasks += chunk_tasks(problem, [g], [[n] for n in widths], args.replicas, args.time, args.seed, args.dynamics,
                             not args.no_antithetic, _step(args, problem), args.chunk)
    return tasks, simulate_chunk


def summarize(args, results: dict) -> dict:
    from asymexp.inputs.problems import load_problem
    from asymexp.validation import figures
    from asymexp.validation.tasks import group_results
    from asymexp.validation.shallow_validation import summarize as summarize_one

    tasks, _ = build_tasks(args)
    grouped = group_results(tasks, results)
    gammas, widths = _axes(args)
    problem = load_problem(args.problem)
    antithetic = not args.no_antithetic
    out = {"problem": args.problem, "widths": widths, "by_gamma": {}}
    for g in gammas:
        per_width = [grouped[((str(g),), (n,))] for n in widths]
        doc = summarize_one(problem, g, args.time, widths, per_width, antithetic,
                            antithetic and problem.c_law.is_symmetric, args.dynamics, _flow_dt(args),
                            args.quad_order)
        folder = Path(args.out) / f"gamma-{float(g):g}"
        if len(widths) >= 2:
            doc["figures"] = figures.shallow_figures(doc, folder)
        s, r = doc.get("var_slope") or {}, doc.get("var_ratio") or {}
        out["by_gamma"][str(g)] = {"verdict": doc["verdict"], "var_slope": s, "var_ratio": r,
                                   "mean_residual_ratio": doc["mean_residual"].get("ratio_at_largest"),
                                   "end": doc.get("end")}
    return out
