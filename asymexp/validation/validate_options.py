"""``asymexp validate``'s options, declared once (:class:`asymexp.input_checks.Option` records), and the one
manifest of a validate run folder (docs/interfaces.md, "Output folders").

``asymexp validate`` adds every option (:func:`add_validate_arguments`); ``asymexp sweep validate`` adds those a
grid shares (:data:`SWEEP`, with its own defaults: the built-in problem, gradient flow) and its grid options on
top. :func:`folder_parameters` is the identity of a validate run in its ``--out`` folder, built from the settings
the run actually uses, so that a folder started by ``asymexp validate`` and continued by ``asymexp.validate(...)``
(or the other way round) is the same run.
"""
from __future__ import annotations

from asymexp.input_checks import Option, add_options, integer

DYNAMICS = ("flow", "gd", "sgd")

_OPTIONS = [
    Option("problem", help="problem TOML (or a built-in name such as tanh4.toml)", required=True),
    Option("gamma", help="gamma of the one hidden layer, in [1/2, 1] (0.75 or 3/4); no default, needed at --depth 1"),
    Option("depth", 1, "hidden layers L (>= 2 needs --gammas)", type=int),
    Option("gammas", help="gamma_1..gamma_L for --depth L >= 2, comma-separated; no default"),
    Option("widths", help="widths N, comma-separated (equal in all layers when deep)", required=True),
    Option("width_path", None, "deep: layer widths along N as c_1:b_1,...,c_L:b_L, N_l = c_l N^b_l with the outer "
           "layer 1:1 (default: equal widths), e.g. 2:1/2,1:1"),
    Option("replicas", 512, "networks per width (even with antithetic pairs)", type=int),
    Option("time", 1.0, "time t >= 0 (t = k / N_L)", type=float),
    Option("seed", 0, "default 0", type=integer(0)),
    Option("dynamics", None, "gradient flow (RK4; default for L = 1), full-batch GD (default for L >= 2) or online "
           "SGD", choices=DYNAMICS),
    Option("flow_dt", None, "RK4 step for --dynamics flow (default: chosen from the limit kernel's largest rate so "
           "that the step error is below 1e-10 of the training residual, the same for every N; the step and its "
           "error are in the report; docs/validation.md)"),
    Option("no_antithetic", help="independent replicas instead of pairs (C,W),(-C,W)", action="store_true"),
    Option("no_control", help="no frozen-kernel control variate", action="store_true"),
    Option("chunk", 256, "replicas per task (one result file each)", type=integer(1)),
    Option("workers", None, "local worker processes; 0 and the default (none): this process, Numba-parallel over "
           "replicas", type=integer(0)),
    Option("scheduler", None, "Dask scheduler: 'local' or tcp://host:port (default: none, no Dask)"),
    Option("out", None, "folder for tasks/ (resumable), result.json, report.md, figures (default: none, nothing "
           "written)"),
    Option("quad_order", None, "nodes per dimension of the theory layer's quadrature (default: its most accurate)",
           type=integer(2)),
    Option("sensitivity_width", 128, "deep: width of the per-gamma_l sensitivity table (0: skip)", type=integer(0)),
    Option("sensitivity_replicas", None, "deep: replicas per table cell (default: --replicas)", type=integer(4)),
]
#: validate's options by flag, in the order ``asymexp validate`` lists them.
OPTIONS: dict[str, Option] = {o.option: o for o in _OPTIONS}
#: The options ``asymexp sweep validate`` shares, in its order, and its own defaults for them (a shallow grid).
SWEEP = ("--problem", "--replicas", "--chunk", "--time", "--seed", "--dynamics", "--flow-dt")
SWEEP_AFTER_LONG_RUN = ("--no-antithetic", "--quad-order")
SWEEP_CHANGES = {"--problem": {"required": False, "default": "tanh4.toml",
                               "help": "problem TOML (default: the built-in tanh4.toml)"},
                 "--dynamics": {"default": "flow"}}


def add_validate_arguments(parser, names=tuple(OPTIONS), **changes: dict) -> None:
    """Add validate's options ``names`` (flags, in order) to ``parser``; ``changes``: ``{flag: {field: value}}``."""
    add_options(parser, OPTIONS, names, **changes)


def folder_parameters(problem, gammas, widths, *, replicas: int, t: float, seed: int, dynamics: str,
                      flow_dt=None, antithetic: bool = True, control=None, chunk: int, quad_order=None,
                      width_path=None, sensitivity_width=None, sensitivity_replicas=None, **extra) -> dict:
    """The parameters of a validate run's manifest (:func:`asymexp.run_folder.claim_folder`), from the settings
    the run uses (defaults resolved by the caller): the problem's content digest, exact gammas, the widths and
    every simulation setting, under the option names of ``asymexp validate``. ``control``: None (automatic) and
    True name the same run (a forced control variate runs only where the automatic one would);
    ``sensitivity_width`` None (no table) is recorded as 0, as ``--sensitivity-width 0``. ``extra``: keywords the
    command line does not have (recorded only when given). Never execution settings (workers, scheduler, out)."""
    from asymexp.provenance import problem_key
    from asymexp.run_folder import digest

    deep = len(gammas) > 1
    return {"problem": digest(problem_key(problem)), "gammas": [str(g) for g in gammas],
            "widths": [int(n) for n in widths], "width_path": width_path, "replicas": replicas, "time": float(t),
            "seed": seed, "dynamics": dynamics, "flow_dt": None if flow_dt is None else float(flow_dt),
            "antithetic": bool(antithetic), "control": control is not False, "chunk": chunk,
            "quad_order": quad_order, "sensitivity_width": (sensitivity_width or 0) if deep else None,
            "sensitivity_replicas": sensitivity_replicas if deep else None, **extra}
