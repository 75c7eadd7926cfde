"""How far from the real axis each activation stays analytic: the half-width of its strip of analyticity.

The logistic sigmoid 1 / (1 + e^{-u}) has its poles at u = i pi (2k + 1), tanh at u = i pi (k + 1/2); every
derivative has the same poles. gelu(u) = u Phi(u), the identity and sin are entire (no singularity: the strip
is the whole plane, ``math.inf``). A Gaussian integral of a function of u = m + l z (z real, l > 0) is therefore
analytic in z for |Im z| < strip / l, which sets the convergence rate of the trapezoid rule
(docs/theory-layer.md, "The projected trapezoid rule"). The numbers are the registry's
(:attr:`asymexp.activations.Activation.strip_half_width`).
"""
from __future__ import annotations

from asymexp.activations import ACTIVATIONS, get
from asymexp.errors import SpecError

#: Distance from the real axis to the nearest pole, in the activation's argument u (analytic activations only).
STRIP_HALF_WIDTH = {a.name: a.strip_half_width for a in ACTIVATIONS.values() if a.strip_half_width is not None}


def strip_half_width(activation: str) -> float:
    """The distance of the nearest complex singularity of ``activation`` from the real axis (math.inf: entire)."""
    width = get(activation).strip_half_width
    if width is None:
        raise SpecError(f"activation {activation!r} has no strip of analyticity on record; allowed: "
                        f"{', '.join(STRIP_HALF_WIDTH)}")
    return width
