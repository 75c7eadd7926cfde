"""The normalizations' arithmetic in NumPy, for the batch-normalization studies (the FIM networks, the lr-scan and
one-step models, the Gram chain); the Numba kernels of :mod:`asymexp.nn.normalization` compute the same for the
trainer, and tests/test_norm_registry.py holds the two against each other (docs/batchnorm.md, "Normalization
layers").

Along ``axis`` of x (any shape; statistics with keepdims), with m the mean and c = x - m (c = x without
centring), sd = sqrt(mean(c^2) + eps) (the root of the biased variance, or of the mean square without centring):

    xhat = c * inv, inv = 1 / sd       (xhat = c without scaling)

Backward, with g = dL/dxhat and the means along the same axis:

    dL/dx = inv (g - [c] mean(g) - [s] xhat mean(g xhat))

([c] = 1 when the normalization centres, [s] = 1 when it scales): the gradient of the batch function x -> xhat,
exact for every eps (eps only enters through inv).
"""
from __future__ import annotations

import numpy as np

from asymexp.norms import EPS


def centre_scale(x: np.ndarray, axis: int, centres: bool = True, scales: bool = True, eps: float = EPS):
    """(c, sd): c = x - mean(x) (x itself without centring), sd = sqrt(mean(c^2) + eps) (None without scaling),
    both along ``axis`` (sd with keepdims). Units: those of x."""
    c = x - x.mean(axis=axis, keepdims=True) if centres else x
    sd = np.sqrt((c * c).mean(axis=axis, keepdims=True) + eps) if scales else None
    return c, sd


def normalize(x: np.ndarray, axis: int, centres: bool = True, scales: bool = True, eps: float = EPS):
    """(xhat, inv): xhat = c * inv with inv = 1 / sd (:func:`centre_scale`); without scaling xhat = c, inv None."""
    c, sd = centre_scale(x, axis, centres, scales, eps)
    if sd is None:
        return c, None
    inv = 1.0 / sd
    return c * inv, inv


def normalize_backward(g: np.ndarray, xhat: np.ndarray, inv, axis: int, centres: bool = True,
                       scales: bool = True) -> np.ndarray:
    """dL/dx from g = dL/dxhat (same shape as xhat) through :func:`normalize` along ``axis`` (counted from either
    end; broadcasting leading axes are allowed): inv (g - [c] mean g - [s] xhat mean(g xhat))."""
    d = g - g.mean(axis=axis, keepdims=True) if centres else g
    if not scales:
        return d
    return inv * (d - xhat * (g * xhat).mean(axis=axis, keepdims=True))
