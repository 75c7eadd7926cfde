"""The Fuss-Catalan law: squared singular values of a product of L independent Gaussian matrices
(docs/rmt.md).

For W_1, ..., W_L square N x N with i.i.d. N(0, 1/N) entries and P = W_L ... W_1, the empirical law of the
eigenvalues of P^T P converges (N -> infinity) to the Fuss-Catalan law of parameter L. Its moments and the right
edge of its support are exact rational numbers, returned here as :class:`fractions.Fraction`.
"""
from __future__ import annotations

import math
import sys
from fractions import Fraction
from math import comb

from asymexp.errors import AsymexpError


def _check(factors: int) -> None:
    if isinstance(factors, bool) or not isinstance(factors, int) or factors < 1:
        raise AsymexpError(f"factors {factors!r} is not allowed; an integer >= 1 is required")


def moment(factors: int, k: int) -> Fraction:
    """k-th moment of the Fuss-Catalan law of parameter L = ``factors``: binom((L+1)k, k) / (Lk + 1).

    L = 1 gives the Catalan numbers 1, 2, 5, 14 (Marchenko-Pastur with aspect ratio 1).
    """
    _check(factors)
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise AsymexpError(f"moment order {k!r} is not allowed; an integer >= 0 is required")
    return Fraction(comb((factors + 1) * k, k), factors * k + 1)


def edge(factors: int) -> Fraction:
    """Right edge of the support: (L+1)^(L+1) / L^L (4 for L = 1)."""
    _check(factors)
    return Fraction((factors + 1) ** (factors + 1), factors ** factors)


def max_order(factors: int) -> int:
    """The largest moment order k whose moments fit a float64 for every L' <= L = ``factors``: the law lives on
    [0, edge], so m_k <= edge^k, and k log(edge) <= log(largest float) keeps m_k (and the Monte Carlo trace,
    up to the finite-N excess of the top eigenvalue) finite. 512 for L = 1, 262 for L = 5; edge(L) grows like
    e (L + 1)."""
    _check(factors)
    log_edge = math.log(factors + 1) + factors * math.log1p(1 / factors)   # log edge(L), no cancellation at huge L
    return int(math.log(sys.float_info.max) / log_edge)


def check_orders(factors, orders, option: str = "--orders") -> int:
    """``orders`` once it is an integer in 1..:func:`max_order` of the largest of ``factors``; else one
    AsymexpError line naming the value and the allowed range."""
    largest = max(factors)
    if isinstance(orders, bool) or not isinstance(orders, int) or orders < 1:
        raise AsymexpError(f"{option} {orders!r} is not allowed; an integer >= 1 is required")
    if orders > max_order(largest):
        raise AsymexpError(f"{option} {orders} is not allowed with L = {largest} factors; orders 1..{max_order(largest)} "
                           "are allowed (the moments grow like edge^k = ((L+1)^(L+1)/L^L)^k and overflow a float "
                           "beyond)")
    return orders
