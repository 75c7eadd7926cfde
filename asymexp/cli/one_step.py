"""asymexp one-step: one SGD step at initialization with and without batch norm: relative loss against the rate,
activation moments along a diverging step, gradients at initialization, and the input-independent fraction of
the output's gradient against kappa2 / kappa1 (docs/batchnorm.md, "One-step divergence and gradients at
initialization"; contract in docs/interfaces.md)."""
from __future__ import annotations

from asymexp.cli._common import add_json_argument, integer
from asymexp.cli._write import WRITES_AT_END, finish
from asymexp import budget

HELP = ("one SGD step on one mini-batch at initialization, with and without batch norm: relative loss against "
        "the step size, activation moments along a diverging step, gradient histograms, and the input-independent "
        "gradient fraction against kappa2/kappa1 (docs/batchnorm.md)")

INTERRUPTED = WRITES_AT_END  # Ctrl-C (asymexp.cli.main)


def add_arguments(parser):
    from asymexp.activations import ALIASES, NAMES
    from asymexp.bn.onestep.onestep_study import NORMS

    parser.add_argument("--layers", type=int, default=8, help="H hidden layers >= 1 (L = H + 1; default 8)")
    parser.add_argument("--width", type=int, default=256, help="width M >= 2, also the Gaussian input dimension "
                                                                "(default 256)")
    parser.add_argument("--batch", type=int, default=64, help="B, the mini-batch of the step (default 64)")
    parser.add_argument("--activation", choices=NAMES + tuple(ALIASES), default="relu", help="default relu")
    parser.add_argument("--norm", default=",".join(NORMS),
                        help=f"one or several (comma-separated) of {', '.join(NORMS)} (default: all three)")
    parser.add_argument("--lr-min", default="1e-4", help="smallest step size of the log grid (default 1e-4)")
    parser.add_argument("--lr-max", default="1e3", help="largest step size of the log grid (default 1e3)")
    parser.add_argument("--lr-points", type=int, default=29, help="rates on the grid, >= 2 (default 29: 4 a decade)")
    parser.add_argument("--heat-lr", default=None,
                        help="step size of the heat map (default: the smallest at which every seed of none explodes)")
    parser.add_argument("--seeds", type=int, default=8, help="R networks and batches, >= 2 (default 8)")
    parser.add_argument("--seed", type=integer(0), default=0, help="first seed (default 0)")
    parser.add_argument("--outputs", type=integer(1), default=1, help="C teacher outputs (default 1)")
    parser.add_argument("--weight-var", default="2", help="s_w^2 > 0 of every network (default 2)")
    parser.add_argument("--fraction-activations", default="relu,tanh,sigmoid",
                        help="activations of the fraction grid, comma-separated (default relu,tanh,sigmoid)")
    parser.add_argument("--fraction-layers", default="1,2,4,8",
                        help="hidden-layer counts of the fraction grid (default 1,2,4,8)")
    parser.add_argument("--fraction-bias-vars", default="0,0.5", help="s_b^2 >= 0 of the fraction grid (default 0,0.5)")
    parser.add_argument("--out", default=None,
                        help="folder for result.json, report.md and the figures one_step_loss, one_step_heatmap, "
                             "one_step_gradients, one_step_fraction (PNG, PDF)")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def run(args):
    from asymexp.api.studies import one_step

    result = one_step(layers=args.layers, width=args.width, batch=args.batch, activation=args.activation,
                      norm=args.norm, lr_min=args.lr_min, lr_max=args.lr_max, lr_points=args.lr_points,
                      heat_lr=args.heat_lr, seeds=args.seeds, seed=args.seed, outputs=args.outputs,
                      weight_var=args.weight_var, fraction_activations=args.fraction_activations,
                      fraction_layers=args.fraction_layers, fraction_bias_vars=args.fraction_bias_vars,
                      out=args.out, yes_long_run=args.yes_long_run, progress=True)
    return finish(args, result, _print)


def _print(doc: dict) -> None:
    for t in doc["thresholds"]:
        dec = t["decades_above_none"]
        print(f"{t['norm']:>9s}: relative loss > {doc['settings']['explode']:g} from lr {_f(t['lr_explode'])} "
              f"(log10 {_f(t['log10_lr_explode'])} +- {_f(t['log10_lr_explode_se'])}, {t['reached']}/{t['seeds']} "
              "seeds)" + ("" if dec is None else f", {'>= ' if t['decades_is_lower_bound'] else ''}{dec:.3g} "
                                                  f"+- {_f(t['decades_above_none_se'])} decades above none"))
    for r in doc["fraction"]:
        print(f"fraction {r['activation']:>7s} H={r['layers']} s_b^2={r['bias_var']:g} {r['norm']:>9s}: "
              f"{_f(r['fraction'])} +- {_f(r['fraction_se'])}  theory {_f(r['theory'])}  "
              f"kappa2/kappa1 {_f(r['kappa_ratio'])}")
    from asymexp.stats.interval_verdicts import verdict_lines

    print("\n".join(verdict_lines(doc)))


def _f(v) -> str:
    return "-" if v is None else f"{v:.4g}"
