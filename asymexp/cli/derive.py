"""``asymexp derive``: exact scalings, term orders and (one hidden layer) the expansion hierarchy."""
from __future__ import annotations

import sys
from pathlib import Path

from asymexp.cli._common import add_json_argument, add_spec_arguments, emit_json, spec_from_args
from asymexp.errors import SpecError
from asymexp.spec import exact_number

HELP = "derive learning-rate exponents, term orders and the expansion hierarchy for a gamma vector"


def add_arguments(parser) -> None:
    add_spec_arguments(parser)
    parser.add_argument("--order", type=int, default=2, help="expansion order K (1..5; default 2)")
    parser.add_argument("--format", choices=("json", "md", "tex"), default=None,
                        help="json (default with --json), md or tex")
    parser.add_argument("--out", default=None, help="write the document into this folder (default: none, stdout)")
    parser.add_argument("--width-path", default=None,
                        help="beta_1..beta_L for N_l = c_l N^beta_l, used to order the terms (default: equal widths)")
    add_json_argument(parser)


def run(args) -> int:
    from asymexp.symbolic.derivation import derive
    from asymexp.symbolic.render import file_stem, to_latex, to_markdown

    if args.json and args.format not in (None, "json"):
        raise SpecError(f"--json conflicts with --format {args.format}; use one of them")
    fmt = args.format or "json"
    if args.out is not None:
        from asymexp.run_folder import check_out_folder

        check_out_folder(args.out)  # a folder of documents named after their derivations: no manifest needed
    spec = spec_from_args(args)
    betas = None
    if args.width_path is not None:
        betas = [b.strip() for b in args.width_path.split(",")]
        if not all(betas):
            raise SpecError(f"--width-path {args.width_path!r} is not a list of numbers (e.g. 1,1,2)")
        for b in betas:
            exact_number(b, "--width-path entry")
    derivation = derive(spec, order=args.order, betas=betas)
    if fmt == "json":
        if args.json or args.out is None:   # --json: the document on stdout, also when --out writes it
            emit_json(derivation.to_json())
        if args.out is None:
            return 0
        import json

        text = json.dumps(derivation.to_json(), indent=1) + "\n"
    else:
        text = to_markdown(derivation) if fmt == "md" else to_latex(derivation)
        if args.out is None:
            sys.stdout.write(text)
            return 0
    out = Path(args.out)
    path = out / f"{file_stem(derivation)}.{fmt}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as exc:
        raise SpecError(f"--out {args.out}: cannot write {path} ({exc.strerror or exc})") from None
    sys.stderr.write(f"asymexp derive: wrote {path}\n")
    return 0
