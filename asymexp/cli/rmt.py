"""asymexp rmt: squared singular values of products of Gaussian matrices against the Fuss-Catalan law."""
from __future__ import annotations

import argparse

from asymexp.cli._common import add_json_argument, integer
from asymexp.cli._write import WRITES_AT_END, finish

HELP = "products of L Gaussian N x N matrices: spectral moments and edge against the Fuss-Catalan law (docs/rmt.md)"

INTERRUPTED = WRITES_AT_END  # Ctrl-C (asymexp.cli.main)


def _integers(minimum: int):
    one = integer(minimum)

    def parse(text: str) -> list[int]:
        values = [one(item.strip()) for item in str(text).split(",")]
        if len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"{text!r} repeats a value; distinct integers are required")
        return sorted(values)

    parse.__name__ = f"comma-separated integers >= {minimum}"
    return parse


def add_arguments(parser):
    parser.add_argument("--factors", type=_integers(1), default=[1, 3, 5],
                        help="numbers L of factors, comma-separated (default: 1,3,5)")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--size", type=integer(2), default=None, help="N, the matrix size (default: 300)")
    size.add_argument("--sizes", type=_integers(2), default=None,
                      help="several sizes, comma-separated (default: none, one --size): adds the fitted finite-N "
                           "slope of each moment's relative error")
    parser.add_argument("--samples", type=integer(2), default=100, help="independent products per row (default: 100)")
    parser.add_argument("--orders", type=integer(1), default=3, help="moments k = 1..orders (default: 3)")
    parser.add_argument("--seed", type=integer(0), default=0, help="random seed (default: 0)")
    parser.add_argument("--out", default=None, help="folder for rmt.json (the --json document) and the figure "
                                                    "rmt_moments (PNG, PDF) (default: none)")
    add_json_argument(parser)


def run(args):
    from asymexp.api.studies import rmt

    result = rmt(args.factors, size=args.size, sizes=args.sizes, samples=args.samples, orders=args.orders,
                 seed=args.seed, out=args.out, progress=True)
    return finish(args, result, _print)


def _print(doc: dict) -> None:
    for r in doc["rows"]:
        print(f"L={r['factors']} N={r['size']} samples={r['samples']}")
        for k, (m, s, p, e) in enumerate(zip(r["moments"], r["moments_se"], r["predicted_moments"],
                                             r["relative_error"]), start=1):
            print(f"  m{k} = {m:.5g} +- {s:.2g}   Fuss-Catalan {p:g}   relative error {e:+.2%}")
        print(f"  edge = {r['edge']:.4g} +- {r['edge_se']:.2g}   predicted {r['predicted_edge']:.4g}")
    for f in doc.get("finite_size", []):
        if f["slope"] is None:
            print(f"L={f['factors']} m{f['moment']}: finite-N slope undetermined: {f['why']}")
        else:
            lo, hi = f["ci95"]
            print(f"L={f['factors']} m{f['moment']}: relative error ~ {f['amplitude']:+.3g} N^{f['slope']:.3f} "
                  f"(95% CI [{lo:.3f}, {hi:.3f}])")
    from asymexp.stats.interval_verdicts import verdict_lines

    print("\n".join(verdict_lines(doc)))
