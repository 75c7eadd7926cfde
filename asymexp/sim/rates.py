"""Per-layer learning rates and the time scale of THEORY.md section 2.

    alpha_m = alpha * N_L^{-1} * [m <= L] N_m^{2 gamma_m - 1} * [m >= 2] N_{m-1}^{2 gamma_{m-1} - 1}
                    * prod_{l = m+1..L} N_l^{2 gamma_l - 2},       m = 1..L+1 (W1..WL, C),

and time t = k / N_L (k = SGD/GD steps). For L = 1 this is alpha N^{2 gamma - 2} for both layers.
The exponents are exact (Fractions); the rates meet floating point only in :func:`learning_rates`.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from asymexp.spec import NetworkSpec


def rate_exponents(gammas) -> list[dict[str, Fraction]]:
    """Exponent of N_l in alpha_m / alpha for every group m = W1..WL, C (list of dicts {"N1": e, ...})."""
    gammas = [Fraction(g) for g in gammas]
    L = len(gammas)
    out = []
    for m in range(1, L + 2):
        e = {f"N{l}": Fraction(0) for l in range(1, L + 1)}
        e[f"N{L}"] -= 1
        if m <= L:
            e[f"N{m}"] += 2 * gammas[m - 1] - 1
        if m >= 2:
            e[f"N{m - 1}"] += 2 * gammas[m - 2] - 1
        for l in range(m + 1, L + 1):
            e[f"N{l}"] += 2 * gammas[l - 1] - 2
        out.append(e)
    return out


def learning_rates(spec: NetworkSpec, alpha: float = 1.0) -> np.ndarray:
    """float64 (L+1,): alpha_m for W1..WL, C at the spec's widths (section 2)."""
    widths = spec.require_widths()
    rates = []
    for e in rate_exponents(spec.gammas):
        r = float(alpha)
        for l, n in enumerate(widths, start=1):
            r *= float(n) ** float(e[f"N{l}"])
        rates.append(r)
    return np.array(rates, dtype=np.float64)


def steps_for_time(t: float, spec: NetworkSpec) -> int:
    """round(t N_L): the number of GD/SGD steps that reach time t."""
    return int(round(float(t) * spec.require_widths()[-1]))
