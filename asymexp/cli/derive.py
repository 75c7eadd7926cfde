"""``asymexp derive``: exact scalings, term orders and (one hidden layer) the expansion hierarchy; with
``--order-parameters`` the closed-form order parameters of docs/batchnorm.md (relu, identity)."""
from __future__ import annotations

import sys
from pathlib import Path

from asymexp import budget
from asymexp.cli._common import add_json_argument, add_spec_arguments, emit_json, integer, spec_from_args
from asymexp.cli._write import WRITES_AT_END
from asymexp.errors import SpecError
from asymexp.run_folder import claim_given
from asymexp.spec import exact_number

HELP = ("derive learning-rate exponents, term orders and the expansion hierarchy for a gamma vector; or, with "
        "--order-parameters, the exact order parameters of a wide relu or linear net")
INTERRUPTED = WRITES_AT_END  # Ctrl-C (asymexp.cli.main)
#: The manifest parameters of a --out folder: none, since it collects documents named after their derivations
#: (any derivation may add to it; another command's folder is refused; docs/interfaces.md, "Output folders").
FOLDER_PARAMETERS: dict = {}


#: The options of --order-parameters (docs/symbolic.md), with their meaning there.
ORDER_PARAMETER_OPTIONS = ("layers", "weight_var", "bias_var", "qhat0", "qhat_st0")


def add_arguments(parser) -> None:
    from asymexp.activations import ALIASES, NAMES

    add_spec_arguments(parser, gammas_required=False, activations=NAMES + tuple(ALIASES))
    parser.add_argument("--order", type=int, default=None, help="expansion order K (1..5; default 2)")
    parser.add_argument("--format", choices=("json", "md", "tex"), default=None,
                        help="json (default with --json), md or tex")
    parser.add_argument("--out", default=None, help="write the document into this folder (default: none, stdout)")
    parser.add_argument("--width-path", default=None,
                        help="beta_1..beta_L for N_l = c_l N^beta_l, used to order the terms (default: equal widths)")
    parser.add_argument("--order-parameters", action="store_true",
                        help="instead: the exact order parameters q, qhat, qtilde, kappa1, kappa2 and the FIM laws "
                             "of a wide random net (docs/batchnorm.md); relu (default) or identity; needs --layers")
    parser.add_argument("--layers", type=integer(1), default=None, help="with --order-parameters: H hidden layers")
    parser.add_argument("--weight-var", default=None, help="with --order-parameters: s_w^2 > 0 (default: a symbol)")
    parser.add_argument("--bias-var", default=None, help="with --order-parameters: s_b^2 >= 0 (default: a symbol)")
    parser.add_argument("--qhat0", default=None, help="with --order-parameters: |x|^2/d (default 1, N(0, I) inputs)")
    parser.add_argument("--qhat-st0", default=None,
                        help="with --order-parameters: x(s).x(t)/d (default 0, N(0, I) inputs)")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def run(args) -> int:
    from asymexp.symbolic.derivation import derive
    from asymexp.symbolic.render import file_stem, to_latex, to_markdown

    if args.json and args.format not in (None, "json"):
        raise SpecError(f"--json conflicts with --format {args.format}; use one of them")
    fmt = args.format or "json"
    if args.out is not None:
        from asymexp.run_folder import check_out_folder

        check_out_folder(args.out)
    if args.order_parameters:
        return _order_parameters(args, fmt)
    for name in ORDER_PARAMETER_OPTIONS:
        if getattr(args, name) is not None:
            raise SpecError(f"--{name.replace('_', '-')} is only allowed with --order-parameters")
    if args.gammas is None:
        raise SpecError("--gammas is required (gamma_1..gamma_L), unless --order-parameters is given")
    spec = spec_from_args(args)
    betas = None
    if args.width_path is not None:
        betas = [b.strip() for b in args.width_path.split(",")]
        if not all(betas):
            raise SpecError(f"--width-path {args.width_path!r} is not a list of numbers (e.g. 1,1,2)")
        for b in betas:
            exact_number(b, "--width-path entry")
    budget.check(budget.derivation(spec.depth, f"the derivation of {spec.depth} layers"), args.yes_long_run,
                 prog="asymexp derive")
    with claim_given(args.out, "derive", FOLDER_PARAMETERS):
        derivation = derive(spec, order=2 if args.order is None else args.order, betas=betas)
        text = {"md": to_markdown, "tex": to_latex}[fmt](derivation) if fmt != "json" else None
        return _write(args, fmt, derivation.to_json, text, file_stem(derivation))


def _write(args, fmt: str, document, text, stem: str) -> int:
    """JSON (``document()``) or ``text`` to stdout, or into ``--out DIR/stem.fmt``."""
    if fmt == "json":
        if args.json or args.out is None:   # --json: the document on stdout, also when --out writes it
            emit_json(document())
        if args.out is None:
            return 0
        from asymexp.json_out import dumps

        text = dumps(document(), indent=1) + "\n"
    elif args.out is None:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    path = out / f"{stem}.{fmt}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise SpecError(f"--out {args.out}: cannot write {path} ({exc.strerror or exc})") from None
    sys.stderr.write(f"asymexp derive: wrote {path}\n")
    return 0


def _order_parameters(args, fmt: str) -> int:
    """``--order-parameters``: the closed forms of asymexp.symbolic.closed_order_parameters (docs/symbolic.md)."""
    from asymexp.symbolic import closed_order_parameters as cop

    for option, value in (("gammas", args.gammas), ("widths", args.widths), ("width-path", args.width_path),
                          ("order", args.order)):
        if value is not None:
            raise SpecError(f"--{option} does not apply with --order-parameters (a net in the standard "
                            "parameterization); allowed: --activation, --layers, --weight-var, --bias-var, "
                            "--qhat0, --qhat-st0")
    if args.preset != "theory":
        raise SpecError(f"--preset {args.preset} does not apply with --order-parameters")
    activation = cop.require_closed_form(args.activation or "relu")
    if args.layers is None:
        raise SpecError("--order-parameters needs --layers H (hidden layers, an integer >= 1)")
    symbolic = args.weight_var is None or args.bias_var is None
    budget.check(budget.order_parameters(args.layers, symbolic, f"the order parameters of {args.layers} layers"
                                         + (" (symbolic)" if symbolic else "")), args.yes_long_run,
                 prog="asymexp derive")
    with claim_given(args.out, "derive", FOLDER_PARAMETERS):
        result = cop.closed_order_parameters(activation, args.layers, args.weight_var, args.bias_var,
                                             1 if args.qhat0 is None else args.qhat0,
                                             0 if args.qhat_st0 is None else args.qhat_st0)
        text = cop.to_text(result, tex=fmt == "tex") if fmt != "json" else None
        numbers = "_".join(f"{k}{str(v).replace('/', '-')}" for k, v in (("sw", result.weight_var),
                                                                           ("sb", result.bias_var)) if v.is_number)
        stem = f"order_parameters_{activation}_H{args.layers}" + (f"_{numbers}" if numbers else "")
        return _write(args, fmt, lambda: cop.to_json(result), text, stem)
