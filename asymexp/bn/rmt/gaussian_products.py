"""Monte Carlo of the squared singular values of products of Gaussian matrices (docs/rmt.md).

One sample is P = W_L ... W_1 with W_l i.i.d. N(0, 1/N) entries, N x N. Its spectral moments
m_k = (1/N) tr (P^T P)^k are computed from matrix powers, and the largest eigenvalue of P^T P from ``eigvalsh``.
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import AsymexpError


def sample_spectra(factors: int, size: int, samples: int, orders: int, seed: int) -> dict:
    """Per-sample spectral moments and top eigenvalue.

    Args:
        factors: L >= 1 matrices in the product. size: N >= 2. samples: R >= 2 independent products.
        orders: moments k = 1..orders are returned. seed: integer >= 0; the stream is spawned from
            (seed, factors, size), so a row does not depend on which other rows are computed.

    Returns:
        ``{"moments": (R, orders) array, "top": (R,) array}`` (dimensionless).
    """
    for name, value, low in (("factors", factors, 1), ("size", size, 2), ("samples", samples, 2),
                             ("orders", orders, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise AsymexpError(f"{name} {value!r} is not allowed; an integer >= {low} is required")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(factors), int(size)]))
    moments = np.empty((samples, orders))
    top = np.empty(samples)
    scale = 1.0 / np.sqrt(size)
    for r in range(samples):
        prod = rng.standard_normal((size, size)) * scale
        for _ in range(factors - 1):
            prod = (rng.standard_normal((size, size)) * scale) @ prod
        gram = prod.T @ prod
        power = np.eye(size)
        for k in range(orders):
            power = power @ gram
            moments[r, k] = np.trace(power) / size
        top[r] = np.linalg.eigvalsh(gram)[-1]
    return {"moments": moments, "top": top}
