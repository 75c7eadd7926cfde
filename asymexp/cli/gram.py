"""asymexp gram: the Gram chain of a batch with and without batch normalization, finite width against the
mean-field fixed point (docs/batchnorm.md, "The Gram chain"; contract in docs/interfaces.md)."""
from __future__ import annotations

import sys

from asymexp.api.studies import GRAM_ACTIVATIONS as ACTIVATIONS, GRAM_NORMS as NORMS
from asymexp.cli._common import add_json_argument, integer
from asymexp.cli._write import WRITES_AT_END, finish
from asymexp import budget

HELP = "Gram chain of a batch through deep random networks with and without BN (docs/batchnorm.md)"

INTERRUPTED = WRITES_AT_END  # Ctrl-C (asymexp.cli.main)


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
    from asymexp.stats.interval_verdicts import verdict_lines

    print("\n".join(verdict_lines(doc)))


def run(args):
    from asymexp.api.studies import gram

    result = gram(args.widths, activation=args.activation, batch=args.batch, depth=args.depth, burn_in=args.burn_in,
                  norm=args.norm, runs=args.runs, seed=args.seed, samples=args.samples, out=args.out,
                  yes_long_run=args.yes_long_run)
    for path in result.files:
        if not path.endswith(".json"):
            sys.stderr.write(f"asymexp gram: wrote {path}\n")
    return finish(args, result, _print)
