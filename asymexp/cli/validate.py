"""asymexp validate: Monte Carlo check of the expansion at finite widths (docs/interfaces.md,
docs/theory/5-verified-formulas.md)."""
from __future__ import annotations

import json
from pathlib import Path

from asymexp.cli._common import add_json_argument, emit_json, integer
from asymexp.errors import AsymexpError
from asymexp.spec import exact_number, parse_gammas

HELP = "train many finite-width networks and hold mean and variance against the theory (fits, CIs, verdict)"


def add_arguments(parser) -> None:
    parser.add_argument("--problem", required=True, help="problem TOML (or a built-in name such as tanh4.toml)")
    parser.add_argument("--gamma", help="gamma of the one hidden layer, in [1/2, 1] (0.75 or 3/4)")
    parser.add_argument("--depth", type=int, default=1, help="hidden layers L (>= 2 needs --gammas)")
    parser.add_argument("--gammas", help="gamma_1..gamma_L for --depth L >= 2, comma-separated")
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
                        help="RK4 step for --dynamics flow (default 1/N; e.g. 1/64: the step error is reported "
                             "in docs/validation.md)")
    parser.add_argument("--no-antithetic", action="store_true", help="independent replicas instead of pairs (C,W),(-C,W)")
    parser.add_argument("--no-control", action="store_true", help="no frozen-kernel control variate")
    parser.add_argument("--chunk", type=integer(1), default=256, help="replicas per task (one result file each)")
    parser.add_argument("--workers", type=integer(0), default=None,
                        help="local processes; 0 or none: this process, Numba-parallel over replicas")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler: 'local' or tcp://host:port")
    parser.add_argument("--out", default=None, help="folder for tasks/ (resumable), result.json, report.md, figures")
    parser.add_argument("--quad-order", type=int, default=None,
                        help="nodes per dimension of the theory layer's quadrature (default: its most accurate)")
    parser.add_argument("--sensitivity-width", type=int, default=128,
                        help="deep: width of the per-gamma_l sensitivity table (0: skip)")
    parser.add_argument("--sensitivity-replicas", type=int, default=None, help="deep: replicas per table cell")
    add_json_argument(parser)


def _widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        raise AsymexpError(f"--widths {text!r} is not a comma-separated list of integers >= 1") from None
    if not widths or any(w < 1 for w in widths) or sorted(set(widths)) != widths:
        raise AsymexpError(f"--widths {text!r}: give distinct increasing integers >= 1")
    return widths


def run(args) -> int:
    from asymexp.inputs.problems import load_problem
    from asymexp.validation import figures
    from asymexp.validation import markdown_report

    problem = load_problem(args.problem)
    widths = _widths(args.widths)
    if args.replicas < 4:
        raise AsymexpError(f"--replicas {args.replicas}: at least 4 are needed")
    if args.time < 0:
        raise AsymexpError(f"--time {args.time}: a time >= 0 is required")
    flow_dt = None if args.flow_dt is None else float(exact_number(args.flow_dt, "--flow-dt", positive=True))
    out = Path(args.out) if args.out else None
    common = dict(replicas=args.replicas, t=args.time, seed=args.seed, antithetic=not args.no_antithetic,
                  chunk=args.chunk, out=out, workers=args.workers, scheduler=args.scheduler, progress=True)
    if args.depth < 1:
        raise AsymexpError(f"--depth {args.depth}: depth must be >= 1")
    if args.depth == 1:
        if args.gamma is None and args.gammas is None:
            raise AsymexpError("--gamma is required for a one-hidden-layer validation (e.g. --gamma 0.75)")
        (gamma,) = parse_gammas([args.gamma if args.gamma is not None else args.gammas], numeric=True)
        from asymexp.validation.shallow_validation import validate_shallow

        if args.width_path:
            raise AsymexpError("--width-path applies to deep networks (--depth >= 2) only")

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
        from asymexp.validation.deep_validation import validate_deep

        doc = validate_deep(problem, gammas, widths, dynamics=args.dynamics or "gd",
                            sensitivity_width=args.sensitivity_width or None,
                            sensitivity_replicas=args.sensitivity_replicas, width_path=args.width_path, **common)
        make_figures = figures.deep_figures
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        doc["figures"] = make_figures(doc, out)
        (out / "result.json").write_text(json.dumps(doc, indent=1))
        (out / "report.md").write_text(markdown_report.markdown(doc) + "\n")
    if args.json:
        emit_json(doc)
    else:
        print(markdown_report.markdown(doc))
    return 0
