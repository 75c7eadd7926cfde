"""Per-layer learning rates of the MNIST trainer (THEORY.md section 2).

    alpha_m = alpha * N_L^{-1} * [m <= L] N_m^{2 gamma_m - 1} * [m >= 2] N_{m-1}^{2 gamma_{m-1} - 1}
                    * prod_{l = m+1..L} N_l^{2 gamma_l - 2},            m = 1..L+1 (C = W^{L+1}).

The exponents come from the symbolic layer (:func:`asymexp.symbolic.learning_rate_exponents`) when it is
installed, else from this closed formula; ``tests/test_mnist_rates.py`` checks that both agree.
"""
from __future__ import annotations

from fractions import Fraction

from asymexp.errors import SpecError
from asymexp.spec import NetworkSpec


def closed_form_exponents(spec: NetworkSpec) -> dict[str, dict[str, Fraction]]:
    """Exponents of alpha_m / alpha: ``{"W1": {"N1": e, ..., "NL": e}, ..., "C": {...}}`` (exact Fractions)."""
    if spec.is_symbolic:
        raise SpecError(f"gammas {[str(g) for g in spec.gammas]} are symbolic; learning rates need numbers")
    from asymexp.sim.rates import rate_exponents as closed_form

    return dict(zip(spec.layer_names, closed_form(spec.gammas)))


def _symbolic_exponents(spec: NetworkSpec):
    """The symbolic layer's exponents as Fractions, or None when that layer is not available."""
    try:
        from asymexp.symbolic import learning_rate_exponents
    except ImportError:
        return None
    raw = learning_rate_exponents(spec)
    out = {}
    for name in spec.layer_names:
        group = raw[name]
        out[name] = {str(k): Fraction(str(v)) for k, v in dict(group).items()}
    return out


def rate_exponents(spec: NetworkSpec) -> dict[str, dict[str, Fraction]]:
    """Exponents of alpha_m / alpha per weight group: the symbolic layer's if available, else the closed form."""
    return _symbolic_exponents(spec) or closed_form_exponents(spec)


def layer_rates(spec: NetworkSpec, lr_scale: float = 1.0):
    """Learning rates alpha_m (float64 array (L+1,), order W1..WL, C) for base rate ``lr_scale`` = alpha.

    Biases use their layer's rate. Needs numeric gammas and widths.
    """
    import numpy as np

    widths = spec.require_widths()
    if not (isinstance(lr_scale, (int, float)) and np.isfinite(lr_scale) and lr_scale > 0):
        raise SpecError(f"--lr-scale {lr_scale!r} is not allowed; a finite number > 0 is required")
    exps = rate_exponents(spec)
    rates = []
    for name in spec.layer_names:
        value = float(lr_scale)
        for l, n in enumerate(widths, start=1):
            value *= float(n) ** float(exps[name].get(f"N{l}", 0))
        rates.append(value)
    return np.array(rates, dtype=np.float64)
