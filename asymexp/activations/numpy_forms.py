"""NumPy forms of the activations: [sigma(u), sigma'(u), ..., sigma^(order)(u)], float64 arrays of u's shape.

Each function takes a float64 array ``u`` and an order and returns the list of the first ``order + 1``
derivatives (docs/theory/1-network.md). The registry (:mod:`asymexp.activations`) checks the order.
NumPy is imported on first use, so that importing the registry stays light.
"""
from __future__ import annotations

import math

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def sigmoid_derivatives(u, order):
    import numpy as np

    s = 0.5 * (1.0 + np.tanh(0.5 * u))  # overflow-free logistic
    s1 = s * (1.0 - s)
    return [s, s1, s1 * (1.0 - 2.0 * s), s1 * (1.0 - 6.0 * s1)][: order + 1]


def tanh_derivatives(u, order):
    import numpy as np

    t = np.tanh(u)
    t1 = 1.0 - t * t
    return [t, t1, -2.0 * t * t1, t1 * (6.0 * t * t - 2.0)][: order + 1]


def relu_derivatives(u, order):
    """max(u, 0) and its step derivative (0 at u = 0); no higher derivative exists (the kink)."""
    import numpy as np

    return [np.maximum(u, 0.0), (u > 0).astype(np.float64)][: order + 1]


def identity_derivatives(u, order):
    import numpy as np

    zero = np.zeros_like(u)
    return [u.copy(), np.ones_like(u), zero, zero.copy()][: order + 1]


def sin_derivatives(u, order):
    import numpy as np

    s, c = np.sin(u), np.cos(u)
    return [s, c, -s, -c][: order + 1]


def gelu_derivatives(u, order):
    """gelu(u) = u Phi(u) (Phi the standard normal CDF, the exact erf form), gelu' = Phi + u phi and, for k >= 2,
    gelu^(k)(u) = (-1)^k phi(u) (He_{k-2}(u) - He_k(u)) with He the probabilists' Hermite polynomials
    (Leibniz on u Phi(u) with Phi^(k) = (-1)^(k-1) He_{k-1} phi; docs/theory/4-deep-networks.md)."""
    import numpy as np

    from scipy.special import ndtr

    cdf = ndtr(u)
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * u * u)
    out = [u * cdf, cdf + u * pdf]
    if order >= 2:
        he = [np.ones_like(u), u.copy()]                 # He_0, He_1; He_{n+1} = u He_n - n He_{n-1}
        for n in range(1, order):
            he.append(u * he[n] - n * he[n - 1])
        for k in range(2, order + 1):
            out.append((-1) ** k * pdf * (he[k - 2] - he[k]))
    return out[: order + 1]
