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
    parser.add_argument("--batch", default="4", help="batch size n (default 4; >= 2 with BN); several, comma-separated "
                                                      "(e.g. 2,4,8,16,32), run the batch-size sweep at one --widths")
    parser.add_argument("--widths", default="32,128,512", help="widths d, comma-separated integers >= 2 and >= n "
                                                               "(default 32,128,512)")
    parser.add_argument("--depth", type=integer(1), default=None,
                        help="layers (default 600; 300 for the batch-size sweep, 30 with --mixing)")
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
    parser.add_argument("--mixing", action="store_true",
                        help="measure how fast the chain forgets a nearly collinear input (one --batch, one --widths, "
                             "e.g. 65536) against the linearization of the mean-field map")
    parser.add_argument("--out", default=None, help="folder for gram.json and the figures gram_depth, gram_width "
                                                     "(gram_batch.json and gram_batch for several --batch values, "
                                                     "gram_mixing.json and gram_mixing with --mixing)")
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


def _print_batches(doc: dict) -> None:
    print(f"Gram chain over batch sizes: {doc['activation']}, norm {doc['chain']}, width {doc['width']}, depth "
          f"{doc['depth']}, burn-in {doc['burn_in']}, {doc['runs']} runs")
    print(f"  {'n':>4s} {'E V':>9s} {'SE':>8s} {'gap_rms':>9s} {'SE':>8s} {'closed':>9s} {'ratio':>7s} "
          f"{'bound':>9s}  G* off")
    for r in doc["rows"]:
        cf = "-" if r["closed_form"] is None else f"{r['closed_form']:.4g}"
        ratio = "-" if r["closed_form_ratio"] is None else f"{r['closed_form_ratio']:.4f}"
        bound = "-" if r["bound"] is None else f"{r['bound']:.4g}"
        print(f"  {r['batch']:4d} {r['gap_mean']:9.4g} {r['gap_mean_se']:8.2g} {r['gap_rms']:9.4g} "
              f"{r['gap_rms_se']:8.2g} {cf:>9s} {ratio:>7s} {bound:>9s}  {r['fixed_point_off_diagonal']:.4f}")
    fit = doc["fit"]
    if fit["exponent"] is not None:
        closed = "" if fit["closed_form_exponent"] is None else f", closed form {fit['closed_form_exponent']:.4f}"
        print(f"n-exponent of gap_rms {fit['exponent']:.4f} [{fit['ci95'][0]:.4f}, {fit['ci95'][1]:.4f}]{closed}, "
              f"bound 2")


def _print_mixing(doc: dict) -> None:
    m, p = doc["measured"], doc["predicted"]
    print(f"Gram chain mixing: {doc['activation']}, norm {doc['chain']}, batch {doc['batch']}, width {doc['width']}, "
          f"depth {doc['depth']}, {doc['runs']} runs, start collinearity {doc['collinearity']}")
    if m["rate"] is not None:
        print(f"measured rate {m['rate']:.4f} [{m['ci95'][0]:.4f}, {m['ci95'][1]:.4f}] over layers "
              f"{m['window'][0]}..{m['window'][1]} (noise floor {m['floor']:.3g})")
    if p is not None:
        window = "-" if p["window_rate"] is None else f"{p['window_rate']:.4f}"
        print(f"linearization lambda {p['rate']:.5f} (error {p['error']:.1g}; the {p['relevant']}); largest "
              f"{p['largest']:.5f}, batch-symmetric mode {p['symmetric_mode']:.5f}; infinite-width trajectory over "
              f"the window {window}")


def _print_any(doc: dict) -> None:
    from asymexp.stats.interval_verdicts import verdict_lines

    if doc.get("study") == "gram batch sweep":
        _print_batches(doc)
    elif doc.get("study") == "gram mixing":
        _print_mixing(doc)
    else:
        return _print(doc)
    print("\n".join(verdict_lines(doc)))


def run(args):
    from asymexp.api.gram_studies import gram, gram_batches, gram_mixing
    from asymexp.errors import SpecError
    from asymexp.input_checks import distinct_integers

    batches = distinct_integers(args.batch, "--batch", 1)
    common = dict(activation=args.activation, norm=args.norm, runs=args.runs, seed=args.seed, samples=args.samples,
                  out=args.out, yes_long_run=args.yes_long_run)
    if args.mixing:
        if args.burn_in is not None:
            raise SpecError(f"--burn-in {args.burn_in} is not allowed with --mixing (its fit window is chosen from "
                            f"the decay); leave it out")
        if len(batches) != 1:
            raise SpecError(f"--batch {args.batch!r} is not allowed with --mixing; one batch size is required")
        result = gram_mixing(batch=batches[0], width=args.widths, depth=args.depth or 30, **common)
    elif len(batches) > 1:
        result = gram_batches(batches, width=args.widths, depth=args.depth or 300, burn_in=args.burn_in, **common)
    else:
        result = gram(args.widths, batch=batches[0], depth=args.depth or 600, burn_in=args.burn_in, **common)
    return _finish(args, result)


def _finish(args, result):
    for path in result.files:
        if not path.endswith(".json"):
            sys.stderr.write(f"asymexp gram: wrote {path}\n")
    return finish(args, result, _print_any)
