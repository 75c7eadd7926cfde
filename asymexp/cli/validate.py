"""asymexp validate: Monte Carlo check of the expansion at finite widths (docs/interfaces.md,
docs/theory/5-verified-formulas.md)."""
from __future__ import annotations

from pathlib import Path

from asymexp.cli._common import add_json_argument, check_workers, emit_json, integer
from asymexp.errors import AsymexpError
from asymexp.json_out import dumps
from asymexp.spec import exact_number, parse_gammas
from asymexp import budget

HELP = "train many finite-width networks and hold mean and variance against the theory (fits, CIs, verdict)"


def add_arguments(parser) -> None:
    parser.add_argument("--problem", required=True, help="problem TOML (or a built-in name such as tanh4.toml)")
    parser.add_argument("--gamma", help="gamma of the one hidden layer, in [1/2, 1] (0.75 or 3/4); no default, "
                        "needed at --depth 1")
    parser.add_argument("--depth", type=int, default=1, help="hidden layers L (>= 2 needs --gammas)")
    parser.add_argument("--gammas", help="gamma_1..gamma_L for --depth L >= 2, comma-separated; no default")
    parser.add_argument("--widths", required=True, help="widths N, comma-separated (equal in all layers when deep)")
    parser.add_argument("--width-path", default=None,
                        help="deep: layer widths along N as c_1:b_1,...,c_L:b_L, N_l = c_l N^b_l with the outer "
                             "layer 1:1 (default: equal widths), e.g. 2:1/2,1:1")
    parser.add_argument("--replicas", type=int, default=512, help="networks per width (even with antithetic pairs)")
    parser.add_argument("--time", type=float, default=1.0, help="time t >= 0 (t = k / N_L)")
    parser.add_argument("--seed", type=integer(0), default=0, help="default 0")
    parser.add_argument("--dynamics", choices=("flow", "gd", "sgd"), default=None,
                        help="gradient flow (RK4; default for L = 1), full-batch GD (default for L >= 2) or online SGD")
    parser.add_argument("--flow-dt", default=None,
                        help="RK4 step for --dynamics flow (default: chosen from the limit kernel's largest rate so "
                             "that the step error is below 1e-10 of the training residual, the same for every N; "
                             "the step and its error are in the report; docs/validation.md)")
    parser.add_argument("--no-antithetic", action="store_true", help="independent replicas instead of pairs (C,W),(-C,W)")
    parser.add_argument("--no-control", action="store_true", help="no frozen-kernel control variate")
    parser.add_argument("--chunk", type=integer(1), default=256, help="replicas per task (one result file each)")
    parser.add_argument("--workers", type=integer(0), default=None,
                        help="local worker processes; 0 and the default (none): this process, Numba-parallel "
                        "over replicas")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler: 'local' or tcp://host:port (default: none, no Dask)")
    parser.add_argument("--out", default=None, help="folder for tasks/ (resumable), result.json, report.md, figures (default: none, "
                        "nothing written)")
    parser.add_argument("--quad-order", type=integer(2), default=None,
                        help="nodes per dimension of the theory layer's quadrature (default: its most accurate)")
    parser.add_argument("--sensitivity-width", type=integer(0), default=128,
                        help="deep: width of the per-gamma_l sensitivity table (0: skip)")
    parser.add_argument("--sensitivity-replicas", type=integer(4), default=None,
                        help="deep: replicas per table cell (default: --replicas)")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def _widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        raise AsymexpError(f"--widths {text!r} is not a comma-separated list of integers >= 1") from None
    if not widths or any(w < 1 for w in widths) or sorted(set(widths)) != widths:
        raise AsymexpError(f"--widths {text!r}: give distinct increasing integers >= 1")
    return widths


def _folder_parameters(args, problem, gammas, widths, flow_dt, dynamics) -> dict:
    """What defines a validate run in its --out folder's manifest (asymexp.run_folder): exact gammas, the
    problem's content digest and every simulation setting; not --workers, --scheduler or --json."""
    from asymexp.provenance import problem_key
    from asymexp.run_folder import digest

    return {"problem": digest(problem_key(problem)), "gammas": [str(g) for g in gammas], "widths": widths,
            "width_path": args.width_path, "replicas": args.replicas, "time": args.time, "seed": args.seed,
            "dynamics": dynamics, "flow_dt": flow_dt, "antithetic": not args.no_antithetic,
            "control": not args.no_control, "chunk": args.chunk, "quad_order": args.quad_order,
            "sensitivity_width": args.sensitivity_width if len(gammas) > 1 else None,
            "sensitivity_replicas": args.sensitivity_replicas if len(gammas) > 1 else None}


def run(args) -> int:
    import contextlib

    from asymexp.run_folder import check_out_folder, claim_folder

    if args.out is not None:
        check_out_folder(args.out)
    with contextlib.ExitStack() as stack:

        def claim(problem, gammas, widths, flow_dt, dynamics) -> None:
            """Hold --out for this run (lock and manifest), once every input is checked."""
            if args.out is not None:
                parameters = _folder_parameters(args, problem, gammas, widths, flow_dt, dynamics)
                stack.enter_context(claim_folder(args.out, "validate", parameters))

        return _run(args, claim)


def _run(args, claim) -> int:
    from asymexp.inputs.problems import load_problem
    from asymexp.validation import figures
    from asymexp.validation import markdown_report

    check_workers(args.workers, args.scheduler)
    problem = load_problem(args.problem)
    widths = _widths(args.widths)
    if args.replicas < 4:
        raise AsymexpError(f"--replicas {args.replicas}: at least 4 are needed")
    if not 0 <= args.time < float("inf"):
        raise AsymexpError(f"--time {args.time}: a finite time >= 0 is required")
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
