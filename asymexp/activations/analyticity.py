"""How far from the real axis each activation stays analytic: the half-width of its strip of analyticity.

The logistic sigmoid 1 / (1 + e^{-u}) has its poles at u = i pi (2k + 1), tanh at u = i pi (k + 1/2); every
derivative has the same poles. A Gaussian integral of a function of u = m + l z (z real, l > 0) is therefore
analytic in z for |Im z| < strip / l, which sets the convergence rate of the trapezoid rule
(docs/theory-layer.md, "The projected trapezoid rule").
"""
from __future__ import annotations

import math

from asymexp.errors import SpecError

#: Distance from the real axis to the nearest pole, in the activation's argument u.
STRIP_HALF_WIDTH = {"sigmoid": math.pi, "tanh": math.pi / 2}


def strip_half_width(activation: str) -> float:
    """The distance of the nearest complex singularity of ``activation`` from the real axis."""
    try:
        return STRIP_HALF_WIDTH[activation]
    except KeyError:
        raise SpecError(f"activation {activation!r} has no strip of analyticity on record; allowed: "
                        f"{', '.join(STRIP_HALF_WIDTH)}") from None
