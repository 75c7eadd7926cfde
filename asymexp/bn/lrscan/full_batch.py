"""Full-batch gradient descent on the MSE loss of the networks of :mod:`asymexp.bn.model` (docs/batchnorm.md,
"Learning-rate thresholds").

The loss of one batch (T samples, C outputs) is L(theta) = (1 / 2T) sum_t ||f(t) - y(t)||^2, so that its
Gauss-Newton Hessian is exactly the FIM F = J^T J / T of :mod:`asymexp.bn.dual` and, for a model linear in its
parameters, GD with step eta falls monotonically iff eta <= 2 / lambda_max(F). Norms (:data:`NORMS`, from the
table of :mod:`asymexp.norms`): ``none``; ``mean-last`` (f = u^L - mean_t u^L); ``bn-last`` (the outputs
batch-normalized); ``bn`` (batch norm in train mode before every hidden activation, gains 1 and biases 0 held
fixed, as in the FIM); ``ln`` (layer norm before every hidden activation). The model, its loss and gradient
are :mod:`asymexp.bn.model`'s; this module runs GD. Only NumPy: GEMM-sized work, no kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.norms import names

NORMS = names("lr-scan")


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
