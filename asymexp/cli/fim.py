"""asymexp fim: the FIM spectrum of wide random networks, theory against measurement (docs/batchnorm.md)."""
from __future__ import annotations

from asymexp.cli._common import add_json_argument, integer, print_text
from asymexp.cli._write import WRITES_AT_END, finish
from asymexp import budget

HELP = ("FIM spectrum of random networks in the standard parameterization: lambda_max, m_lambda against width, "
        "with and without normalization (docs/batchnorm.md)")

INTERRUPTED = WRITES_AT_END  # Ctrl-C (asymexp.cli.main)


def add_arguments(parser):
    from asymexp.activations import ALIASES, NAMES
    from asymexp.bn.fim.experiment import DATA
    from asymexp.norms import names

    NORMS = names("fim")

    parser.add_argument("--activation", choices=NAMES + tuple(ALIASES), default="relu", help="default relu")
    parser.add_argument("--layers", type=int, default=2, help="H hidden layers (alpha = H = L - 1; default 2)")
    parser.add_argument("--widths", required=True, help="widths M, comma-separated integers >= 2 (e.g. 64,128,256)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--samples", type=int, help="T inputs at every width")
    group.add_argument("--rho", help="rho = M / T fixed across widths (T = round(M / rho))")
    parser.add_argument("--outputs", type=integer(1), default=2, help="C linear outputs (default 2)")
    parser.add_argument("--weight-var", default="2", help="s_w^2 > 0 (default 2)")
    parser.add_argument("--bias-var", default="0", help="s_b^2 >= 0 (default 0)")
    parser.add_argument("--norm", default="none",
                        help=f"one or several (comma-separated) of {', '.join(NORMS)} (default none)")
    parser.add_argument("--data", choices=DATA, default="gaussian",
                        help="gaussian: x ~ N(0, I_M); mnist: T digits of the embedded MNIST, d = 784")
    parser.add_argument("--networks", type=int, default=4, help="networks per width, >= 2 (default 4)")
    parser.add_argument("--seed", type=integer(0), default=0, help="seed (default 0)")
    parser.add_argument("--out", default=None, help="folder for the figures fim_lambda_max and fim_spectrum")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def run(args):
    from asymexp.api.studies import fim

    result = fim(args.widths, layers=args.layers, samples=args.samples, rho=args.rho, outputs=args.outputs,
                 activation=args.activation, weight_var=args.weight_var, bias_var=args.bias_var, norm=args.norm,
                 data=args.data, networks=args.networks, seed=args.seed, out=args.out,
                 yes_long_run=args.yes_long_run, progress=not args.json)
    return finish(args, result, _print)


def _print(doc: dict) -> None:
    for f in doc["fits"]:
        ci = "-" if f["ci95"] is None else f"[{f['ci95'][0]:.3f}, {f['ci95'][1]:.3f}]"
        print(f"{f['norm']:>9s} {f['quantity']:>10s}: exponent {_fmt(f['exponent'])} ({f.get('model', '-')}), "
              f"ci95 over the models not rejected or untestable {ci}, predicted {_fmt(f['predicted'])}: "
              f"{f['verdict']}" + (f" ({f['settle']})" if "settle" in f else ""))
        print(f"{'':>21s}case: {f['why']}")
    for c in doc["constants"]:
        ci = "-" if c["ci95"] is None else f"[{c['ci95'][0]:.4g}, {c['ci95'][1]:.4g}]"
        print(f"{c['norm']:>9s} {c['form']}: A = {_fmt(c['constant'])} ci95 {ci} predicted {_fmt(c['predicted'])}: "
              f"{c['verdict']} ({c['why']})")
    print_text({"theory": {k: doc["theory"][k] for k in ("kappa1", "kappa2", "alpha", "kappa_error")}})
    keys = ("norm", "width", "samples", "lambda_max", "lambda_max_se", "predicted_lambda_max", "lower_bound",
            "mean_eig", "mean_eig_se", "predicted_mean_eig", "mean_gradient_overlap")
    for r in doc["rows"]:
        print("  ".join(f"{k}={_fmt(r[k])}" for k in keys))


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.5g}" if isinstance(v, float) else str(v)
