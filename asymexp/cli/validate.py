"""asymexp validate: Monte Carlo check of the expansion at finite widths (docs/interfaces.md,
docs/theory/5-verified-formulas.md)."""
from __future__ import annotations

from pathlib import Path

from asymexp.cli._common import add_json_argument, check_workers, emit_json
from asymexp.errors import AsymexpError
from asymexp.input_checks import check_replicas, check_time, check_width_sweep
from asymexp.json_out import dumps
from asymexp.spec import exact_number, parse_gammas
from asymexp.validation.validate_options import add_validate_arguments, folder_parameters
from asymexp import budget

HELP = "train many finite-width networks and hold mean and variance against the theory (fits, CIs, verdict)"
#: Ctrl-C (asymexp.cli.main): with --out, the finished parts stay in the folder and a rerun resumes.
INTERRUPTED = "interrupted; finished results are kept"


def add_arguments(parser) -> None:
    add_validate_arguments(parser)  # validate's options, declared once (asymexp.validation.validate_options)
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def run(args) -> int:
    import contextlib

    from asymexp.run_folder import check_out_folder, claim_folder

    if args.out is not None:
        check_out_folder(args.out)
    with contextlib.ExitStack() as stack:

        def claim(problem, gammas, widths, flow_dt, dynamics) -> None:
            """Hold --out for this run (lock and manifest), once every input is checked."""
            if args.out is not None:
                parameters = folder_parameters(problem, gammas, widths, replicas=args.replicas, t=args.time,
                                               seed=args.seed, dynamics=dynamics, flow_dt=flow_dt,
                                               antithetic=not args.no_antithetic,
                                               control=False if args.no_control else None, chunk=args.chunk,
                                               quad_order=args.quad_order, width_path=args.width_path,
                                               sensitivity_width=args.sensitivity_width,
                                               sensitivity_replicas=args.sensitivity_replicas)
                stack.enter_context(claim_folder(args.out, "validate", parameters))

        return _run(args, claim)


def _run(args, claim) -> int:
    from asymexp.inputs.problems import load_problem
    from asymexp.validation import figures
    from asymexp.validation import markdown_report

    check_workers(args.workers, args.scheduler)
    problem = load_problem(args.problem)
    widths = check_width_sweep(args.widths, "--widths")
    check_replicas(args.replicas, "--replicas")
    check_time(args.time, "--time")
    flow_dt = None if args.flow_dt is None else float(exact_number(args.flow_dt, "--flow-dt", positive=True))
    out = Path(args.out) if args.out else None
    common = dict(replicas=args.replicas, t=args.time, seed=args.seed, antithetic=not args.no_antithetic,
                  chunk=args.chunk, out=out, workers=args.workers, scheduler=args.scheduler, progress=True,
                  long_run_ok=args.yes_long_run)
    if args.depth < 1:
        raise AsymexpError(f"--depth {args.depth}: depth must be >= 1")
    if args.depth == 1:
        if args.gamma is None and args.gammas is None:
            raise AsymexpError("--gamma is required for a one-hidden-layer validation (e.g. --gamma 0.75)")
        (gamma,) = parse_gammas([args.gamma if args.gamma is not None else args.gammas], numeric=True)
        from asymexp.validation.shallow_validation import validate_shallow

        if args.width_path:
            raise AsymexpError("--width-path applies to deep networks (--depth >= 2) only")
        claim(problem, [gamma], widths, flow_dt, args.dynamics or "flow")

        doc = validate_shallow(problem, gamma, widths, dynamics=args.dynamics or "flow",
                               control=False if args.no_control else None, flow_dt=flow_dt,
                               quad_order=args.quad_order, **common)
        make_figures = figures.shallow_figures
    else:
        if args.gammas is None:
            raise AsymexpError(f"--depth {args.depth} needs --gammas g1,...,g{args.depth}")
        gammas = list(parse_gammas(args.gammas, numeric=True))
        if len(gammas) != args.depth:
            raise AsymexpError(f"--gammas has {len(gammas)} entries but --depth is {args.depth}")
        if flow_dt is not None and (args.dynamics or "gd") != "flow":
            raise AsymexpError(f"--flow-dt {args.flow_dt} applies to --dynamics flow only (deep default: gd)")
        from asymexp.validation.deep_validation import validate_deep

        claim(problem, gammas, widths, flow_dt, args.dynamics or "gd")

        doc = validate_deep(problem, gammas, widths, dynamics=args.dynamics or "gd",
                            sensitivity_width=args.sensitivity_width or None,
                            sensitivity_replicas=args.sensitivity_replicas, width_path=args.width_path,
                            flow_dt=flow_dt, **common)
        make_figures = figures.deep_figures
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        doc["figures"] = make_figures(doc, out)
        (out / "result.json").write_text(dumps(doc, indent=1))
        (out / "report.md").write_text(markdown_report.markdown(doc) + "\n")
    if args.json:
        emit_json(doc)
    else:
        print(markdown_report.markdown(doc))
    return 0
