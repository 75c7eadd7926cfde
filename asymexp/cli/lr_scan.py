"""asymexp lr-scan: the two step-size thresholds of full-batch GD against 2 / lambda_max of the FIM
(docs/batchnorm.md, "Learning-rate thresholds"; contract in docs/interfaces.md)."""
from __future__ import annotations

from asymexp.cli._common import add_json_argument, integer
from asymexp.cli._write import WRITES_AT_END, finish
from asymexp import budget

HELP = ("largest monotone (lr_stable) and largest loss-reducing (lr_max) full-batch GD step sizes against depth "
        "or width, with and without normalization, next to 2 / lambda_max of the FIM (docs/batchnorm.md)")

INTERRUPTED = WRITES_AT_END  # Ctrl-C (asymexp.cli.main)


def add_arguments(parser):
    from asymexp.activations import ALIASES, NAMES
    from asymexp.bn.lrscan.full_batch import NORMS
    from asymexp.bn.model import DATA

    parser.add_argument("--layers", required=True, help="hidden-layer counts H >= 1, comma-separated (e.g. 2,3,4,6)")
    widths = parser.add_mutually_exclusive_group(required=True)
    widths.add_argument("--width", type=int, help="width M >= 2 (also the Gaussian input dimension)")
    widths.add_argument("--widths", help="several widths M, comma-separated (e.g. 64,128,256,512): the width "
                                         "exponents of both thresholds, --networks per width")
    parser.add_argument("--activation", choices=NAMES + tuple(ALIASES), default="relu", help="default relu")
    parser.add_argument("--norm", default="none",
                        help=f"one or several (comma-separated) of {', '.join(NORMS)} (default none)")
    parser.add_argument("--data", choices=DATA, default="gaussian",
                        help="gaussian: x ~ N(0, I_M), random-teacher targets; mnist: T digits, one-hot targets")
    batch = parser.add_mutually_exclusive_group()
    batch.add_argument("--samples", type=int, default=None, help="T, the full batch at every width (default 256)")
    batch.add_argument("--rho", help="rho = M / T fixed across widths (T = round(M / rho), as asymexp fim)")
    parser.add_argument("--networks", type=int, default=None,
                        help="with --widths: networks per width, >= 2 (default 4), each its own batch and teacher")
    parser.add_argument("--steps", type=int, default=30, help="K GD steps per trial (default 30)")
    parser.add_argument("--outputs", type=integer(1), default=1, help="C teacher outputs, gaussian only (default 1)")
    parser.add_argument("--search", choices=("bisect", "creep"), default=None,
                        help="lr_stable from 2/lambda_max: bisect (expand by 4, then bisect; default with --width) or "
                             "creep (steps of --ratio: the nearest transition; default with --widths)")
    parser.add_argument("--ratio", type=float, default=1.1, help="bisection stops at hi / lo <= ratio (default 1.1)")
    parser.add_argument("--seed", type=integer(0), default=0, help="seed (default 0)")
    parser.add_argument("--out", default=None, help="folder for the figure lr_scan (PNG, PDF) and lr_scan.json")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def run(args):
    from asymexp.api.studies import lr_scan

    result = lr_scan(args.layers, args.width, widths=args.widths, activation=args.activation, norm=args.norm,
                     data=args.data, samples=args.samples, rho=args.rho, steps=args.steps, outputs=args.outputs,
                     ratio=args.ratio, seed=args.seed, networks=args.networks, search=args.search, out=args.out,
                     yes_long_run=args.yes_long_run, progress=True)
    return finish(args, result, _print)


def _print(doc: dict) -> None:
    from asymexp.stats.interval_verdicts import verdict_lines

    if "fits" in doc:
        return _print_widths(doc)
    for r in doc["rows"]:
        ratio = r["ratio_max_to_stable"]
        div = r["divergence"]
        print(f"{r['norm']:>9s} H={r['layers']}: lr_stable {_br(r, 'lr_stable')}  2/lambda_max "
              f"{r['predicted_lr_stable']:.4g} (theory {_f(r['theory_lr_stable'])})  lr_max {_br(r, 'lr_max')}  "
              f"ratio {_f(ratio and ratio['value'])}"
              + (f"  first divergence at lr {div['lr']:.4g}: step {div['step']}, layer {div['layer']}" if div else ""))
    print("\n".join(verdict_lines(doc)))


def _f(v) -> str:
    return "-" if v is None else f"{v:.4g}"


def _br(row, key) -> str:
    lo, hi = row[f"{key}_bracket"]
    if row[key] is None:
        return f"{row[f'{key}_status']}"
    return f"{row[key]:.4g} [{lo:.4g}, {hi:.4g}]"


def _print_widths(doc: dict) -> None:
    """The width sweep: one line per fit, one per row, the verdicts that do not agree and the summary."""
    from asymexp.stats.interval_verdicts import line

    for f in doc["fits"] + doc["reference_fits"]:
        ci = "-" if f["ci95"] is None else f"[{f['ci95'][0]:.3f}, {f['ci95'][1]:.3f}]"
        print(f"{f['norm']:>9s} H={f['layers']} {f['quantity']:>19s}: width exponent {_f(f['exponent'])} "
              f"({f.get('model', '-')}), ci95 {ci}, predicted {_f(f['predicted'])}: {f['verdict']}"
              + (f" ({f['settle']})" if "settle" in f else ""))
    for r in doc["rows"]:
        print(f"{r['norm']:>9s} H={r['layers']} M={r['width']} T={r['samples']}: "
              + "  ".join(f"{k} {_se(r, k)}" for k in ("lr_stable", "predicted_lr_stable", "lr_max")))
    others = [e for e in doc["verdicts"] if e["verdict"] != "agree"]
    if others:
        print(f"per-network verdicts that do not agree ({len(others)} of {len(doc['verdicts'])}):")
    for e in others:
        print(f"  {line(e)}")
    print(f"width exponents: {doc['fits_verdict']} ({doc['fits_verdict_reason']})")
    print(f"verdict: {doc['verdict']} ({doc['verdict_reason']})")


def _se(row, key) -> str:
    return "-" if row[key] is None else f"{row[key]:.4g} +- {row[f'{key}_se']:.2g}"
