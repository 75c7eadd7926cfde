"""Full-batch gradient descent on the MSE loss for the networks of :mod:`asymexp.bn.fim.network`
(docs/batchnorm.md, "Learning-rate thresholds").

Loss of one batch (T samples, C outputs): L(theta) = (1 / 2T) sum_t ||f(t) - y(t)||^2, so that its Gauss-Newton
Hessian is exactly the FIM F = J^T J / T of :mod:`asymexp.bn.fim.dual` and, for a model linear in its parameters,
GD with step eta falls monotonically iff eta <= 2 / lambda_max(F). Norms (``NORMS``): ``none``; ``mean-last``
(f = u^L - mean_t u^L); ``bn`` (batch norm in train mode before every hidden activation, gains 1 and biases 0 held
fixed, as in the FIM). Only NumPy: GEMM-sized work, no kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.errors import SpecError
from asymexp.bn.fim.network import FimNetwork, forward, normalize_backward

#: lr-scan norm -> the FimNetwork norm with the same network function.
NORMS = {"none": "none", "mean-last": "mean-last", "bn": "bn-hidden"}
DATA = ("gaussian", "mnist")


def fim_network(layers: int, width: int, outputs: int, input_dim: int, activation: str, norm: str,
                weight_var: float = 2.0, bias_var: float = 0.0) -> FimNetwork:
    """The :class:`FimNetwork` trained for an lr-scan ``norm`` (one of :data:`NORMS`)."""
    if norm not in NORMS:
        raise SpecError(f"norm {norm!r} is unknown; allowed: {', '.join(NORMS)}")
    return FimNetwork(layers, width, outputs, input_dim, activation, weight_var, bias_var, NORMS[norm])


def make_data(data: str, samples: int, width: int, outputs: int, activation: str, layers: int, seed: int,
              pool=None):
    """(x (T, d), y (T, C)). ``gaussian``: x ~ N(0, I_M) and y the outputs of a random teacher (a FimNetwork of
    the same depth, width and activation, no normalization, its own seed), scaled to unit variance per output;
    ``mnist``: T random training digits (d = 784) from ``pool`` = (images, labels) and one-hot targets (C = 10)."""
    rng = np.random.default_rng([seed, 1])
    if data == "gaussian":
        x = rng.standard_normal((samples, width))
        teacher = FimNetwork(layers, width, outputs, width, activation)
        y = forward(teacher, teacher.draw(np.random.default_rng([seed, 2])), x).outputs
        return x, y / np.maximum(y.std(axis=0), 1e-12)
    if data == "mnist":
        images, labels = pool
        if samples > images.shape[0]:
            raise SpecError(f"samples = {samples} exceed the {images.shape[0]} MNIST training digits")
        idx = rng.choice(images.shape[0], size=samples, replace=False)
        return images[idx], np.eye(10)[labels[idx]]
    raise SpecError(f"data {data!r} is unknown; allowed: {', '.join(DATA)}")


def _first_nonfinite(fwd, layers: int):
    """1..H: the first hidden layer whose activations are not finite; "output" for u^L; None if all finite."""
    for l in range(1, layers + 1):
        if not np.all(np.isfinite(fwd.inputs[l])):
            return l
    return None if np.all(np.isfinite(fwd.outputs)) else "output"


def loss_and_gradient(net: FimNetwork, params, x: np.ndarray, y: np.ndarray):
    """(loss, [(dL/dW^l, dL/db^l)], layer): the MSE loss above, its gradient (same shapes as ``params``) and the
    first non-finite layer of the forward pass (None when finite; the gradient is then None too)."""
    with np.errstate(all="ignore"):
        fwd = forward(net, params, x)
        where = _first_nonfinite(fwd, net.layers)
        T = x.shape[0]
        f = fwd.outputs - fwd.outputs.mean(axis=0) if net.norm == "mean-last" else fwd.outputs
        r = f - y
        loss = float(0.5 * np.sum(r * r) / T)
        if where is not None or not np.isfinite(loss):
            return loss, None, where if where is not None else "loss"
        d = r / T
        if net.norm == "mean-last":
            d = d - d.mean(axis=0)
        grads = [None] * len(params)
        for l in range(net.layers, -1, -1):          # params[l] maps h^l -> u^{l+1}
            grads[l] = (d.T @ fwd.inputs[l], d.sum(axis=0))
            if l == 0:
                break
            g = (d @ params[l][0]) * fwd.slopes[l - 1]
            if net.hidden_norm == "batch":
                g = normalize_backward(g, fwd.zhat[l - 1], fwd.scale[l - 1], axis=-2)
            d = g
    return loss, grads, None


@dataclass(frozen=True)
class Trial:
    """One GD run: ``losses`` (K + 1 values: before and after each step, fewer if it diverged), ``diverged_step``
    (the step after which the forward pass was non-finite, None when it stayed finite) and ``diverged_layer``."""

    lr: float
    losses: tuple
    diverged_step: int | None = None
    diverged_layer: object = None


def gd_trial(loss_grad, params, lr: float, steps: int) -> Trial:
    """K = ``steps`` full-batch GD steps theta <- theta - lr grad from ``params`` (not modified).
    ``loss_grad(params) -> (loss, grads or None, layer)``. Stops at the first non-finite forward pass."""
    p = [(w.copy(), b.copy()) for w, b in params]
    loss, grads, where = loss_grad(p)
    losses = [loss]
    if grads is None:
        return Trial(lr, tuple(losses), 0, where)
    for k in range(1, steps + 1):
        with np.errstate(all="ignore"):
            p = [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(p, grads)]
        loss, grads, where = loss_grad(p)
        losses.append(loss)
        if grads is None:
            return Trial(lr, tuple(losses), k, where)
    return Trial(lr, tuple(losses))
