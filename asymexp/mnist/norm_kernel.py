"""Small Numba kernels of the normalized MNIST trainer (:mod:`asymexp.mnist.norm_net`, docs/mnist.md,
"Normalization"): one dense layer's forward product, its activation, its backward pass with the SGD update fused
in, the delta through an activation, and the loss of a batch's output rows.

Each wraps the shared batch-major core :mod:`asymexp.nn.dense` (and the losses of
:mod:`asymexp.mnist.epoch_kernel`), compiled here with the trainer's fast-math flags so that the products
vectorize; the normalization layers are the kernels of :mod:`asymexp.nn.normalization`, which the Python
orchestration calls between these. Every kernel is pure apart from the arrays it is told to write.

Shapes (batch-major, C-contiguous, in the trainer's dtype): X (B, n_in) the inputs of a layer, W (n_out, n_in)
a view of theta's block, bias (n_out,) or empty (no bias), Y (B, n_out), D (B, n_out) = dLoss/d(the layer's
pre-activation), Dn (B, n_in) = D W, H (B, n) activations sigma(z). ``s`` is the layer's scale N^-gamma (1 for
the first layer), a scalar of the trainer's dtype.
"""
from __future__ import annotations

import numpy as np

from asymexp.jit import kernel
from asymexp.mnist.epoch_kernel import _argmax, _loss_and_dout
from asymexp.nn import dense


@kernel(fastmath="trainer")
def affine(W, s, bias, X, Y):
    """Y (B, n_out) <- s X W^T + bias for X (B, n_in) (:func:`asymexp.nn.dense.affine`)."""
    dense.affine(W, s, bias, X, 0, Y, 0, X.shape[0])


@kernel(fastmath="trainer")
def activate(Y, kind):
    """Y (B, n) <- sigma(Y) in place (:func:`asymexp.nn.dense.activate`, the trainer's libm forms)."""
    dense.activate(Y, 0, Y.shape[1], Y.shape[0], kind, False)


@kernel(fastmath="trainer")
def backward_update(W, s, bias, D, X, rate, Dn, back):
    """One layer's backward pass with the SGD step fused in (:func:`asymexp.nn.dense.backward`): with ``back``,
    first Dn (B, n_in) <- D W (the weights before the step); then W -= rate s D^T X and bias -= rate sum_b D
    (bias empty: none). D (B, n_out), X (B, n_in) the layer's inputs; rate a float64 scalar."""
    G = np.empty(W.shape[1], dtype=W.dtype)
    dense.backward(W, s, D, X, 0, X.shape[0], W, bias, True, W.dtype.type(rate), G, Dn, back)


@kernel(fastmath="trainer")
def delta_below(Dn, H, s, kind, D):
    """D (B, n) <- s Dn sigma'(z), sigma' taken from the activations H = sigma(z) (B, n)
    (:func:`asymexp.nn.dense.delta_below`)."""
    dense.delta_below(Dn, H, 0, H.shape[1], H.shape[0], s, kind, D)


@kernel(fastmath="trainer")
def loss_rows(OUT, labels, loss_kind, inv_b, D, pred):
    """Sum over the rows of OUT (B, K) of the loss ``loss_kind`` (:mod:`asymexp.mnist.epoch_kernel`: 0 ce, 1 mse,
    2 paper-mse) with integer labels (B,); fills D (B, K) = inv_b dLoss_b/dOUT_b and pred (B,) int64 = argmax of
    each row. Returns the sum (float64); inv_b = 1/B makes D the gradient of the batch mean."""
    total = 0.0
    for b in range(OUT.shape[0]):
        total += _loss_and_dout(OUT[b], labels[b], loss_kind, D[b], inv_b)
        pred[b] = _argmax(OUT[b])
    return total
