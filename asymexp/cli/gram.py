"""asymexp gram: the Gram chain of a batch with and without batch normalization, finite width against the
mean-field fixed point (docs/batchnorm.md, "The Gram chain"; contract in docs/interfaces.md)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from asymexp.cli._common import add_json_argument, emit_json, integer
from asymexp.errors import SpecError
from asymexp import budget

HELP = "Gram chain of a batch through deep random networks with and without BN (docs/batchnorm.md)"
ACTIVATIONS = ("linear", "tanh", "relu", "sin")
from asymexp.norms import accepted  # noqa: E402
NORMS = accepted("gram")


def add_arguments(parser):
    parser.add_argument("--activation", choices=ACTIVATIONS, default="linear", help="phi (default linear)")
    parser.add_argument("--batch", type=integer(1), default=4, help="batch size n (default 4; >= 2 with BN)")
    parser.add_argument("--widths", default="32,128,512", help="widths d, comma-separated integers >= 2 and >= n "
                                                               "(default 32,128,512)")
    parser.add_argument("--depth", type=integer(1), default=600, help="layers (default 600)")
    parser.add_argument("--burn-in", type=integer(0), default=None,
                        help="layers left out of the averages (default depth // 4; must be < depth)")
    parser.add_argument("--norm", choices=NORMS, default="row-scale",
                        help="row-scale (rows over their RMS), row-center (centred rows over their RMS), pre-bn (BN "
                             "before phi), none (critical init) (default row-scale; the old names bn, bn-center "
                             "still work)")
    parser.add_argument("--runs", type=integer(2), default=20, help="independent networks per width (default 20)")
    parser.add_argument("--seed", type=integer(0), default=0, help="seed (default 0)")
    parser.add_argument("--samples", type=integer(1000), default=200_000,
                        help="Monte Carlo draws for the fixed point G* where it is not exact (default 200000)")
    parser.add_argument("--out", default=None, help="folder for gram.json and the figures gram_depth, gram_width")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def parse_widths(text: str) -> list[int]:
    out = []
    for item in str(text).split(","):
        try:
            value = int(item)
        except ValueError:
            raise SpecError(f"--widths {text!r}: {item!r} is not an integer; integers >= 2 are required") from None
        if value < 2:
            raise SpecError(f"--widths {text!r}: width {value} is not allowed; widths >= 2 are required")
        out.append(value)
    if len(set(out)) != len(out):
        raise SpecError(f"--widths {text!r} repeats a width; distinct widths are required")
    return out


def _print(doc: dict) -> None:
    fp = doc["fixed_point_info"]
    print(f"Gram chain: {doc['activation']}, norm {doc['chain']}, batch {doc['batch']}, depth {doc['depth']}, "
          f"burn-in {doc['burn_in']}, {doc['runs']} runs")
    print(f"fixed point G*: diagonal {doc['fixed_point'][0][0]:.4g}, off-diagonal "
          f"{doc['fixed_point'][0][1] if doc['batch'] > 1 else 0:.4g} ({fp['method']}; error {fp['error']:.2g})")
    print(f"  {'width':>6s} {'error':>10s} {'SE':>9s} {'gap_rms':>9s} {'SE':>9s} {'closed form':>11s}  "
          f"depth check [95% CI]")
    for row, dc in zip(doc["rows"], doc["depth_check"]):
        pred = "-" if row["predicted_gap_rms"] is None else f"{row['predicted_gap_rms']:.4g}"
        depth = "-" if dc["value"] is None else f"{dc['value']:+.3f} [{dc['ci95'][0]:+.3f}, {dc['ci95'][1]:+.3f}]"
        print(f"  {row['width']:6d} {row['error_mean']:10.4g} {row['error_se']:9.2g} {row['gap_rms']:9.4g} "
              f"{row['gap_rms_se']:9.2g} {pred:>11s}  {depth}")
    fit = doc["fit"]
    if fit["exponent"] is not None and fit["predicted"] is None:
        print(f"width exponent {fit['exponent']:.4f} [{fit['ci95'][0]:.4f}, {fit['ci95'][1]:.4f}]: {fit['verdict']}")
    elif fit["exponent"] is not None:
        print(f"width exponent {fit['exponent']:.4f} [{fit['ci95'][0]:.4f}, {fit['ci95'][1]:.4f}] "
              f"(predicted {fit['predicted']}): {fit['verdict']}")
    else:
        print(f"width exponent: {fit['verdict']}")
    for row in doc["rows"]:
        if row["closed_form"]:
            cf = row["closed_form"]
            print(f"  d = {row['width']}: gap_rms / closed form = {cf['ratio']:.4f} "
                  f"[{cf['ci95'][0]:.4f}, {cf['ci95'][1]:.4f}]: {cf['verdict']}")
    print(f"depth check ({doc['depth_check'][0]['quantity']}): "
          + "; ".join(f"d = {dc['width']}: {dc['verdict'].split(':')[0]}"
                      + ("" if dc["predicted"] is None else f" (predicted {dc['predicted']:.4g})")
                      for dc in doc["depth_check"]))
    print(f"depth verdict: {doc['depth_verdict']}")


def run(args):
    from asymexp.bn.gram import run_experiment

    widths = parse_widths(args.widths)
    burn_in = args.depth // 4 if args.burn_in is None else args.burn_in
    if args.out is not None:
        from asymexp.run_folder import check_out_folder

        check_out_folder(args.out)
    budget.check(budget.gram_chain(widths, args.batch, args.depth, args.runs), args.yes_long_run,
                 prog="asymexp gram")
    doc = run_experiment(args.norm, args.activation, args.batch, widths, args.depth, burn_in, args.runs,
                         seed=args.seed, samples=args.samples)
    doc = json.loads(json.dumps(doc, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))
    if args.out is not None:
        from asymexp.bn.gram.gram_figures import save_figures

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "gram.json").write_text(json.dumps(doc, indent=1) + "\n")
        for path in save_figures(doc, out):
            sys.stderr.write(f"asymexp gram: wrote {path}\n")
    if args.json:
        emit_json(doc)
    else:
        _print(doc)
    return 0
