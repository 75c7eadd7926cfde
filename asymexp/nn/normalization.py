"""Normalization layers in the shared Numba core: batch norm, mean-only, scale-only and layer norm, forward and
backward (docs/batchnorm.md, "Normalization layers").

Shapes: X, Y, dY, dX, Xhat are (B, F) float64, C-contiguous: B samples (the batch) by F features (units).
gamma, beta, running_mean, running_var and the gradients dgamma, dbeta are (F,). The statistics ``mean`` and
``inv`` (1 / standard deviation) are (F,) for the batch kinds (one per feature, over the batch) and (B,) for
layer norm (one per sample, over its features). All quantities carry the units of X; gamma is dimensionless.

The kinds (:class:`asymexp.kernel_codes.Norm`; what each centres, scales and over which axis is read from the table
of :mod:`asymexp.norms`, whose ``EPS`` the callers pass as ``eps``), with m and v the mean and biased variance along the reduced
axis, r the mean square, y = gamma * xhat + beta:

    BATCH       xhat = (x - m) / sqrt(v + eps)       per feature, over the batch
    MEAN_ONLY   xhat = x - m                         per feature, over the batch
    SCALE_ONLY  xhat = x / sqrt(r + eps)             per feature, over the batch (no centring)
    LAYER       xhat = (x - m) / sqrt(v + eps)       per sample, over its features

Backward with g = dL/dy, d = gamma * g, c = 1 when the kind centres, s = 1 when it scales, means along the
reduced axis:  dx = inv * (d - c mean(d) - s xhat mean(d xhat)),  dgamma = sum_b g xhat,  dbeta = sum_b g.
This is exact for every eps (the eps only enters through inv).

Eval mode (running statistics, PyTorch conventions): xhat = (x - c running_mean) * inv with
inv = 1 / sqrt(running_var + eps) (1 for MEAN_ONLY), elementwise, so dx = gamma * g * inv. The running
statistics follow :func:`update_running`: momentum 0.1, the unbiased batch variance (SCALE_ONLY: the mean
square, which estimates no mean and so has no Bessel correction). Layer norm has no running statistics.

Every kernel needs at least two values along its reduced axis; the orchestration (:mod:`asymexp.nn.norm_layer`)
checks that and raises :class:`asymexp.errors.AsymexpError` before any kernel runs.
"""
from __future__ import annotations

import numpy as np

from asymexp.jit import kernel
from asymexp.kernel_codes import Norm
from asymexp.norms import kind_of_code

# What each kind does, from the table of asymexp.norms, indexed by its code (compile-time constants).
_CENTRES = tuple(kind_of_code(c).centres for c in range(len(Norm)))
_SCALES = tuple(kind_of_code(c).scales for c in range(len(Norm)))
_PER_SAMPLE = tuple(kind_of_code(c).axis == "features" for c in range(len(Norm)))


@kernel(inline=True)
def _centres(kind):
    return _CENTRES[kind]


@kernel(inline=True)
def _scales(kind):
    return _SCALES[kind]


@kernel(inline=True)
def _normalize_columns(X, center, scale, eps, Xhat, mean, inv):
    """Statistics along axis 0 of X (m, g) into mean (g,), inv (g,); Xhat (m, g) = (X - c mean) * inv."""
    m, g = X.shape
    for j in range(g):
        mean[j] = 0.0
        inv[j] = 1.0
    if center:
        for i in range(m):
            for j in range(g):
                mean[j] += X[i, j]
        for j in range(g):
            mean[j] /= m
    if scale:
        acc = np.zeros(g)
        for i in range(m):
            for j in range(g):
                dev = X[i, j] - mean[j]
                acc[j] += dev * dev
        for j in range(g):
            inv[j] = 1.0 / np.sqrt(acc[j] / m + eps)
    for i in range(m):
        for j in range(g):
            Xhat[i, j] = (X[i, j] - mean[j]) * inv[j]


@kernel(inline=True)
def _normalize_columns_backward(D, Xhat, inv, center, scale, dX):
    """dX (m, g) = inv * (D - c mean D - s Xhat mean(D Xhat)), means along axis 0 of D = dL/dXhat (m, g)."""
    m, g = D.shape
    mean_d = np.zeros(g)
    mean_dx = np.zeros(g)
    for i in range(m):
        for j in range(g):
            mean_d[j] += D[i, j]
            mean_dx[j] += D[i, j] * Xhat[i, j]
    for j in range(g):
        mean_d[j] = mean_d[j] / m if center else 0.0
        mean_dx[j] = mean_dx[j] / m if scale else 0.0
    for i in range(m):
        for j in range(g):
            dX[i, j] = inv[j] * (D[i, j] - mean_d[j] - Xhat[i, j] * mean_dx[j])


@kernel(inline=True)
def _affine_out(Xhat, gamma, beta, Y):
    B, F = Xhat.shape
    for b in range(B):
        for j in range(F):
            Y[b, j] = gamma[j] * Xhat[b, j] + beta[j]


@kernel(inline=True)
def _affine_grads(dY, Xhat, dgamma, dbeta):
    B, F = dY.shape
    for j in range(F):
        dgamma[j] = 0.0
        dbeta[j] = 0.0
    for b in range(B):
        for j in range(F):
            dgamma[j] += dY[b, j] * Xhat[b, j]
            dbeta[j] += dY[b, j]


@kernel()
def norm_forward(X, gamma, beta, kind, eps):
    """Train mode (batch statistics): (Y, Xhat, mean, inv) for X (B, F); see the module docstring."""
    B, F = X.shape
    Xhat = np.empty((B, F))
    Y = np.empty((B, F))
    groups = B if _PER_SAMPLE[kind] else F
    mean = np.empty(groups)
    inv = np.empty(groups)
    if _PER_SAMPLE[kind]:
        _normalize_columns(X.T, _centres(kind), _scales(kind), eps, Xhat.T, mean, inv)
    else:
        _normalize_columns(X, _centres(kind), _scales(kind), eps, Xhat, mean, inv)
    _affine_out(Xhat, gamma, beta, Y)
    return Y, Xhat, mean, inv


@kernel()
def norm_backward(dY, Xhat, inv, gamma, kind):
    """Train mode: (dX (B, F), dgamma (F,), dbeta (F,)) from dY = dL/dY and the forward's Xhat, inv."""
    B, F = dY.shape
    D = np.empty((B, F))
    for b in range(B):
        for j in range(F):
            D[b, j] = gamma[j] * dY[b, j]
    dX = np.empty((B, F))
    if _PER_SAMPLE[kind]:
        _normalize_columns_backward(D.T, Xhat.T, inv, _centres(kind), _scales(kind), dX.T)
    else:
        _normalize_columns_backward(D, Xhat, inv, _centres(kind), _scales(kind), dX)
    dgamma = np.empty(F)
    dbeta = np.empty(F)
    _affine_grads(dY, Xhat, dgamma, dbeta)
    return dX, dgamma, dbeta


@kernel()
def norm_eval_forward(X, running_mean, running_var, gamma, beta, kind, eps):
    """Eval mode (running statistics; batch kinds only): (Y, Xhat, inv) for X (B, F), inv (F,)."""
    B, F = X.shape
    inv = np.ones(F)
    shift = np.zeros(F)
    for j in range(F):
        if _scales(kind):
            inv[j] = 1.0 / np.sqrt(running_var[j] + eps)
        if _centres(kind):
            shift[j] = running_mean[j]
    Xhat = np.empty((B, F))
    Y = np.empty((B, F))
    for b in range(B):
        for j in range(F):
            Xhat[b, j] = (X[b, j] - shift[j]) * inv[j]
    _affine_out(Xhat, gamma, beta, Y)
    return Y, Xhat, inv


@kernel()
def norm_eval_backward(dY, Xhat, inv, gamma):
    """Eval mode: (dX, dgamma, dbeta); the map is elementwise, dX = gamma * inv * dY."""
    B, F = dY.shape
    dX = np.empty((B, F))
    for b in range(B):
        for j in range(F):
            dX[b, j] = gamma[j] * inv[j] * dY[b, j]
    dgamma = np.empty(F)
    dbeta = np.empty(F)
    _affine_grads(dY, Xhat, dgamma, dbeta)
    return dX, dgamma, dbeta


@kernel()
def update_running(running_mean, running_var, X, kind, momentum):
    """In place, PyTorch's rule: stat <- (1 - momentum) stat + momentum * batch stat, for X (B, F), B >= 2.

    BATCH: batch mean and unbiased variance; MEAN_ONLY: the mean only; SCALE_ONLY: the mean square (in
    running_var; running_mean is left as it is)."""
    B, F = X.shape
    mean = np.zeros(F)
    if _centres(kind):
        for b in range(B):
            for j in range(F):
                mean[j] += X[b, j]
        for j in range(F):
            mean[j] /= B
            running_mean[j] = (1.0 - momentum) * running_mean[j] + momentum * mean[j]
    if _scales(kind):
        acc = np.zeros(F)
        for b in range(B):
            for j in range(F):
                dev = X[b, j] - mean[j]
                acc[j] += dev * dev
        denominator = B - 1.0 if _centres(kind) else B * 1.0
        for j in range(F):
            running_var[j] = (1.0 - momentum) * running_var[j] + momentum * acc[j] / denominator
