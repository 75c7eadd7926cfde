"""asymexp lr-scan: the two step-size thresholds of full-batch GD against 2 / lambda_max of the FIM
(docs/batchnorm.md, "Learning-rate thresholds"; contract in docs/interfaces.md)."""
from __future__ import annotations

from asymexp.cli._common import add_json_argument, integer
from asymexp.cli._write import WRITES_AT_END, finish
from asymexp import budget

HELP = ("largest monotone (lr_stable) and largest loss-reducing (lr_max) full-batch GD step sizes against depth, "
        "with and without normalization, next to 2 / lambda_max of the FIM (docs/batchnorm.md)")

INTERRUPTED = WRITES_AT_END  # Ctrl-C (asymexp.cli.main)


def add_arguments(parser):
    from asymexp.activations import ALIASES, NAMES
    from asymexp.bn.lrscan.full_batch import NORMS
    from asymexp.bn.model import DATA

    parser.add_argument("--layers", required=True, help="hidden-layer counts H >= 1, comma-separated (e.g. 2,3,4,6)")
    parser.add_argument("--width", type=int, required=True, help="width M >= 2 (also the Gaussian input dimension)")
    parser.add_argument("--activation", choices=NAMES + tuple(ALIASES), default="relu", help="default relu")
    parser.add_argument("--norm", default="none",
                        help=f"one or several (comma-separated) of {', '.join(NORMS)} (default none)")
    parser.add_argument("--data", choices=DATA, default="gaussian",
                        help="gaussian: x ~ N(0, I_M), random-teacher targets; mnist: T digits, one-hot targets")
    parser.add_argument("--samples", type=int, default=256, help="T, the full batch (default 256)")
    parser.add_argument("--steps", type=int, default=30, help="K GD steps per trial (default 30)")
    parser.add_argument("--outputs", type=integer(1), default=1, help="C teacher outputs, gaussian only (default 1)")
    parser.add_argument("--ratio", type=float, default=1.1, help="bisection stops at hi / lo <= ratio (default 1.1)")
    parser.add_argument("--seed", type=integer(0), default=0, help="seed (default 0)")
    parser.add_argument("--out", default=None, help="folder for the figure lr_scan (PNG, PDF) and lr_scan.json")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def run(args):
    from asymexp.api.studies import lr_scan

    result = lr_scan(args.layers, args.width, activation=args.activation, norm=args.norm, data=args.data,
                     samples=args.samples, steps=args.steps, outputs=args.outputs, ratio=args.ratio, seed=args.seed,
                     out=args.out, yes_long_run=args.yes_long_run, progress=True)
    return finish(args, result, _print)


def _print(doc: dict) -> None:
    from asymexp.stats.interval_verdicts import verdict_lines

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
