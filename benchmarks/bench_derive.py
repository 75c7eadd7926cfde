"""Benchmark of the symbolic layer: `derive` for L = 1..12 (numeric and symbolic gammas) and the
shallow hierarchy to K = 1..4, against the targets (depth 12 symbolic < 2 s; hierarchy K = 3 < 30 s).

Baseline in the same run: docs/theory/2-learning-rates.md's closed formula evaluated with plain SymPy (no derivation);
the ratio derivation / closed formula shows what deriving the rates costs. Run: python benchmarks/bench_derive.py
"""
from __future__ import annotations

import time
from fractions import Fraction


def _best(fn, repeat=3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    from asymexp.spec import NetworkSpec
    from asymexp.symbolic import derive
    from asymexp.symbolic.expansion import _derived
    from asymexp.symbolic.scalings import closed_form_rates, gamma_symbols, group_scalings

    print("derive (scalings, deep facts, terms; order 2), best of 3, seconds")
    print(f"{'L':>3} {'numeric':>9} {'symbolic':>9} {'rates: derived':>15} {'closed formula':>15} {'ratio':>6}")
    worst_symbolic = 0.0
    for L in range(1, 13):
        num = NetworkSpec(gammas=[Fraction(7, 10)] * L)
        sym = NetworkSpec(gammas=[f"g{i}" for i in range(1, L + 1)])
        gs = gamma_symbols(sym.gammas)
        if L == 1:
            _derived.cache_clear()
        t_num = _best(lambda: derive(num, order=2))
        t_sym = _best(lambda: derive(sym, order=2))
        t_rates = _best(lambda: group_scalings(gs))
        t_closed = _best(lambda: closed_form_rates(gs))
        worst_symbolic = max(worst_symbolic, t_sym) if L == 12 else worst_symbolic
        print(f"{L:>3} {t_num:9.4f} {t_sym:9.4f} {t_rates:15.4f} {t_closed:15.4f} {t_rates / t_closed:6.1f}")
    print(f"target depth 12 symbolic < 2 s: {worst_symbolic:.3f} s -> {'met' if worst_symbolic < 2 else 'NOT met'}")

    print("\nshallow hierarchy to order K (fresh derivation: Taylor expansion, sources, parity), seconds")
    spec = NetworkSpec.from_strings("9/10")
    k3 = None
    for K in range(1, 5):
        def run():
            _derived.cache_clear()
            derive(spec, order=K)
        t = _best(run, repeat=2)
        from asymexp.symbolic import source_contractions
        print(f"K = {K}: {t:8.3f} s, {len(source_contractions(K))} source terms for Q_{{{K},0}}")
        if K == 3:
            k3 = t
    print(f"target hierarchy K = 3 < 30 s: {k3:.3f} s -> {'met' if k3 < 30 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
