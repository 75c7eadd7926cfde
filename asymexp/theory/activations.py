"""The activations sigma and their first three derivatives, vectorized (NumPy, float64).

Used by the kernel and tensor expectations of THEORY.md sections 3-5; u may have any shape.
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import SpecError


def sigma_derivatives(activation: str, u: np.ndarray, order: int = 3) -> list[np.ndarray]:
    """[sigma(u), sigma'(u), ..., sigma^(order)(u)] for ``"sigmoid"`` (logistic) or ``"tanh"``; order <= 3."""
    if order > 3:
        raise SpecError(f"derivative order {order} is not available; at most 3")
    if activation == "sigmoid":
        s = 0.5 * (1.0 + np.tanh(0.5 * u))  # overflow-free logistic
        s1 = s * (1.0 - s)
        out = [s, s1, s1 * (1.0 - 2.0 * s), s1 * (1.0 - 6.0 * s1)]
    elif activation == "tanh":
        t = np.tanh(u)
        t1 = 1.0 - t * t
        out = [t, t1, -2.0 * t * t1, t1 * (6.0 * t * t - 2.0)]
    else:
        raise SpecError(f"activation {activation!r} is unknown; allowed: sigmoid, tanh")
    return out[: order + 1]


def sigma_at_zero(activation: str) -> float:
    """sigma(0): 1/2 for the logistic sigmoid, 0 for tanh (THEORY.md section 4, the collapse)."""
    return float(sigma_derivatives(activation, np.zeros(1), 0)[0][0])
