"""asymexp one-step: one SGD step at initialization with and without batch norm: relative loss against the rate,
activation moments along a diverging step, gradients at initialization, and the input-independent fraction of
the output's gradient against kappa2 / kappa1 (docs/batchnorm.md, "One-step divergence and gradients at
initialization"; contract in docs/interfaces.md)."""
from __future__ import annotations

import sys

from asymexp.cli._common import add_json_argument, comma_list, emit_json, finite_number, integer
from asymexp import budget

HELP = ("one SGD step on one mini-batch at initialization, with and without batch norm: relative loss against "
        "the step size, activation moments along a diverging step, gradient histograms, and the input-independent "
        "gradient fraction against kappa2/kappa1 (docs/batchnorm.md)")


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


def _number(text, what: str) -> float:
    return finite_number(text, f"--{what}")


def _items(text: str, what: str, parse) -> tuple:
    return comma_list(text, f"--{what}", parse, "a comma-separated list is required")


def study_from_args(args):
    from asymexp.activations import get
    from asymexp.bn.onestep.onestep_study import OneStepStudy

    acts = _items(args.fraction_activations, "fraction-activations", str)
    for a in acts:
        get(a)
    return OneStepStudy(
        layers=args.layers, width=args.width, batch=args.batch, activation=args.activation,
        norms=tuple(dict.fromkeys(n.strip() for n in str(args.norm).split(","))), lr_min=_number(args.lr_min, "lr-min"),
        lr_max=_number(args.lr_max, "lr-max"), lr_points=args.lr_points, seeds=args.seeds, seed=args.seed,
        outputs=args.outputs, weight_var=_number(args.weight_var, "weight-var"), fraction_activations=acts,
        fraction_layers=_items(args.fraction_layers, "fraction-layers", int),
        fraction_bias_vars=tuple(_number(v, "fraction-bias-vars")
                                 for v in _items(args.fraction_bias_vars, "fraction-bias-vars", str)),
        heat_lr=None if args.heat_lr is None else _number(args.heat_lr, "heat-lr"))


def run(args):
    from asymexp.bn.onestep.onestep_study import fraction_configs, run_study

    study = study_from_args(args)
    if args.out:
        from asymexp.run_folder import check_out_folder

        check_out_folder(args.out)
    budget.check(budget.one_step(study.layers, study.width, study.batch, study.lr_points, len(study.norms),
                                 study.seeds, study.outputs, [c[1] for c in fraction_configs(study)]),
                 args.yes_long_run, prog="asymexp one-step")
    doc = run_study(study, progress=lambda s: print(s, file=sys.stderr))
    if args.out:
        _write(doc, args.out)
    if args.json:
        emit_json(doc)
        return 0
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
    for p in doc.get("figures", []):
        print(f"figure: {p}")
    return 0


def _write(doc: dict, out) -> None:
    import json
    from pathlib import Path

    from asymexp.cli._common import _default
    from asymexp.bn.onestep.onestep_figures import save_figures
    from asymexp.bn.onestep.onestep_report import markdown

    doc["figures"] = save_figures(doc, out)
    folder = Path(out)
    (folder / "result.json").write_text(json.dumps(doc, default=_default) + "\n")
    (folder / "report.md").write_text(markdown(doc))
    doc["figures"] += [str(folder / "result.json"), str(folder / "report.md")]


def _f(v) -> str:
    return "-" if v is None else f"{v:.4g}"
