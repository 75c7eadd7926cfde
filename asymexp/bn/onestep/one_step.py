"""One SGD step on one mini-batch from initialization (docs/batchnorm.md, "One-step divergence and gradients at
initialization").

The networks, the loss and its gradient are those of :mod:`asymexp.bn.model` (shared with ``asymexp lr-scan`` and
``asymexp fim``): H hidden layers of width M, s_w^2 / fan_in weight variance, C linear outputs, the
mini-batch loss L(theta) = (1 / 2B) sum_t ||f(t) - y(t)||^2 on B samples; norm ``none``, ``bn`` (batch norm in
train mode before every hidden activation, gains 1 and shifts 0 held) or ``mean-last`` (outputs centred over the
batch). One step is theta' = theta - lr grad L(theta); its relative loss is L(theta') / L(theta) on the same
mini-batch (Bjorck et al. 2018). Only NumPy: GEMM-sized work, no kernel.

A step whose forward pass is not finite is an outcome, not an error: it is recorded with the first non-finite
layer (hidden layer 1..H, ``"output"``, or ``"loss"`` when only the squared error overflowed).
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.bn.model import FimNetwork, forward, loss_and_gradient, output_values

#: A relative loss above this counts as an explosion (docs/batchnorm.md: "explodes (> 1e3)").
EXPLODE = 1.0e3
#: Bin edges of the gradient histograms, in units of each layer's RMS gradient entry; entries beyond fall in
#: the two outer counts.
HIST_EDGES = np.linspace(-8.0, 8.0, 65)


def sgd_step(params, grads, lr: float):
    """[(W - lr dW, b - lr db)] for ``params`` and ``grads`` (lists of (W (fan_out, fan_in), b (fan_out,)));
    overflow gives inf, not a warning."""
    with np.errstate(all="ignore"):
        return [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads)]


def relative_losses(net: FimNetwork, params, x: np.ndarray, y: np.ndarray, lrs) -> dict:
    """One step of each rate in ``lrs`` from ``params`` on the batch x (B, d), y (B, C).

    Returns ``initial_loss`` (float), ``grads`` (the gradient at ``params``, or None when the initial forward pass
    is not finite), ``relative_loss`` (one float per rate, None where the step is not finite) and ``layer`` (per
    rate: None, or the first non-finite layer after the step)."""
    loss0, grads, where0 = loss_and_gradient(net, params, x, y)
    if grads is None:
        return {"initial_loss": loss0, "grads": None, "relative_loss": [None] * len(lrs),
                "layer": [where0] * len(lrs)}
    rel, layers = [], []
    for lr in lrs:
        loss1, where = batch_loss(net, sgd_step(params, grads, lr), x, y)
        rel.append(loss1 / loss0 if where is None else None)
        layers.append(where)
    return {"initial_loss": loss0, "grads": grads, "relative_loss": rel, "layer": layers}


def batch_loss(net: FimNetwork, params, x: np.ndarray, y: np.ndarray) -> tuple[float, object]:
    """(loss, where) without the backward pass: the loss of :func:`asymexp.bn.model.loss_and_gradient`
    (a test checks that they agree) and None, or the first non-finite layer (1..H, "output", "loss")."""
    with np.errstate(all="ignore"):
        fwd = forward(net, params, x)
        for l in range(1, net.layers + 1):
            if not np.all(np.isfinite(fwd.inputs[l])):
                return math.inf, l
        if not np.all(np.isfinite(fwd.outputs)):
            return math.inf, "output"
        f = output_values(net, fwd.outputs)
        loss = float(0.5 * np.sum((f - y) ** 2) / x.shape[0])
    return (loss, None) if math.isfinite(loss) else (math.inf, "loss")


def explosion_threshold(lrs, rel) -> dict:
    """The smallest rate whose relative loss exceeds :data:`EXPLODE` or is not finite (None entries of ``rel``):
    ``lr`` and ``bracket`` [the rate before it or None, lr]; ``lr`` None and bracket [last rate, None] when no rate
    of the grid explodes."""
    prev = None
    for lr, r in zip(lrs, rel):
        if r is None or r > EXPLODE:
            return {"lr": float(lr), "bracket": [prev, float(lr)]}
        prev = float(lr)
    return {"lr": None, "bracket": [prev, None]}


def first_divergence(lrs, layers) -> dict | None:
    """The smallest rate whose step made the forward pass non-finite: ``lr``, ``step`` (1: after the step) and
    ``layer``; None when every step stayed finite."""
    for lr, where in zip(lrs, layers):
        if where is not None:
            return {"lr": float(lr), "step": 1, "layer": where}
    return None


def _channel_moments(h: np.ndarray) -> tuple[float, float]:
    """(mean over units of |batch mean|, mean over units of the batch variance) of h (B, units)."""
    with np.errstate(all="ignore"):
        mu = h.mean(axis=0)
        return float(np.mean(np.abs(mu))), float(np.mean(((h - mu) ** 2).mean(axis=0)))


def moments_along_step(net: FimNetwork, params, grads, x: np.ndarray, lr: float, fractions) -> tuple:
    """Channel moments along one step: for each fraction a of the update (theta - a lr grad), per layer
    h^1..h^H (after normalization and activation) and the output f (centred for mean-last).

    Returns (means, variances), two arrays (len(fractions), H + 1): the mean over units of |the unit's batch
    mean| and of the unit's batch variance (units of the activations; inf or nan where they overflowed)."""
    means = np.empty((len(fractions), net.layers + 1))
    variances = np.empty_like(means)
    for i, a in enumerate(fractions):
        with np.errstate(all="ignore"):
            fwd = forward(net, sgd_step(params, grads, a * lr), x)
            out = output_values(net, fwd.outputs)
        for l, h in enumerate(fwd.inputs[1:] + [out]):
            means[i, l], variances[i, l] = _channel_moments(h)
    return means, variances


def gradient_statistics(grads) -> list[dict]:
    """Per layer l = 1..L, statistics of the entries of dL/dW^l (the biases are left out: under bn their
    gradient is exactly 0): ``rms`` (units of the loss per weight), ``excess_kurtosis`` (m4 / m2^2 - 3 of the
    centred entries; 0 for Gaussian entries, > 0 for heavy tails; None when all entries are equal),
    ``mean_share`` (mean^2 / mean square: the share of the squared gradient in its common value) and ``counts``:
    len(HIST_EDGES) + 1 counts of entry / rms in the bins of :data:`HIST_EDGES`, the first and last counting the
    entries beyond them."""
    out = []
    for gw, _ in grads:
        g = np.asarray(gw, dtype=np.float64).ravel()
        with np.errstate(all="ignore"):                   # an overflowing network gives inf / nan, not an error
            ms = np.mean(g * g)
            c = g - g.mean()
            m2 = np.mean(c * c)
            rms = float(np.sqrt(ms))
            kurt = float(np.mean(c ** 4) / (m2 * m2) - 3.0) if m2 > 0 else None
            share = float(g.mean() ** 2 / ms) if ms > 0 else None
            z = g / rms if rms > 0 else np.zeros_like(g)
        idx = np.searchsorted(HIST_EDGES, z, side="right")
        counts = np.bincount(idx, minlength=len(HIST_EDGES) + 1)
        out.append({"rms": rms, "excess_kurtosis": kurt, "mean_share": share, "counts": counts.tolist()})
    return out
