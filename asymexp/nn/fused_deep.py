"""A fused forward/backward kernel for deep networks (L >= 2 hidden layers) without biases, one output, float64.

Same signatures, layout and maths as :func:`asymexp.nn.kernels.forward` / ``backward`` (Z^m = s_m W_m H^{m-1},
H^m = sigma(Z^m), out = s_L C H^L; delta^{m-1} = (W_m^T delta^m) s_m sigma'(from H^{m-1}), grad W_m =
s_m delta^m (H^{m-1})^T), restricted to networks that :func:`qualifies` accepts. Instead of one BLAS call per
layer on a tall-skinny product (B = 1..8 points) and scalar libm activations, it runs the batch-major dense-layer
core :mod:`asymexp.nn.dense` (shared with the MNIST trainer): every layer's activations are kept transposed, (B, U)
with layer m's units contiguous at columns u0.., so that each loop runs innermost over contiguous units and LLVM
vectorizes it: the products W x_b are dot products along a weight row (two rows by four points at a time, so
every load feeds two or four multiply-adds), W^T delta is a sum of weight rows (axpy), and the activation is the
branch-free :func:`asymexp.nn.fused.tanh` / ``sigmoid``.

Rounding: the dot products are compiled with the fast-math flags ``reassoc`` / ``contract`` / ``nsz`` only (no
``nnan``/``ninf``: NaN and infinities propagate as usual) so that LLVM may split a sum into vector partial
sums and use FMA; the result equals the generic core to rounding (a different summation order than BLAS,
tests/test_fused_deep.py). The order is fixed by the compiled code and the shapes, not by the data's
addresses nor by threads: a replica's numbers do not depend on the thread count.

:func:`backward_update` is the backward pass fused with the GD/SGD update theta <- theta - rates[m] grad_m,
without writing grad: it computes the same grad values (same code) and applies the same update expression as
:func:`asymexp.nn.kernels.sgd_update`, so it equals ``backward`` followed by ``sgd_update`` bit for bit, with
one pass over the weights instead of three.

Shapes: theta (P,), table int64 (L+1, 5), scales (L+1,), X (B, d) C-contiguous, Z and H (U, B) workspaces,
out and dout (1, B), grad (P,), rates (L+1,).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from asymexp.nn import dense

_FM = {"reassoc", "contract", "nsz"}


def qualifies(layout, output_dim: int = 1) -> bool:
    """True when the deep fused kernel applies: >= 2 hidden layers, no biases, one output (theta float64)."""
    t = layout.table
    return t.shape[0] >= 3 and bool(np.all(t[:, 1] < 0)) and output_dim == 1 and t[-1, 2] == 1


@njit(cache=True, error_model="numpy", inline="always")
def _to_rows(H, B, T):
    """T[b, u] = H[u, b]: the (U, B) workspace transposed into the batch-major (B, U) scratch T."""
    for b in range(B):
        for u in range(H.shape[0]):
            T[b, u] = H[u, b]


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _affine(W, s, X, x0, Y, y0, B):
    """Y[b, y0 + i] = s W[i] . X[b, x0:x0+ni]: :func:`asymexp.nn.dense.affine` (no bias) compiled with
    ``reassoc``, so that its dot products vectorize."""
    dense.affine(W, s, W[0, 0:0], X, x0, Y, y0, B)


@njit(cache=True, error_model="numpy")
def forward(theta, table, scales, kind, X, Z, H, out):
    """Fill Z, H (U, B) and out (1, B) for inputs X (B, d), like the generic core. Returns nothing."""
    n_layers = table.shape[0]
    B = X.shape[0]
    U = H.shape[0]
    T = np.empty((B, U))                  # every hidden layer's activations, batch-major: layer m at columns u0..
    for m in range(n_layers):
        w0, no, ni, u0 = table[m, 0], table[m, 2], table[m, 3], table[m, 4]
        W = theta[w0:w0 + no * ni].reshape((no, ni))
        s = scales[m]
        if m == n_layers - 1:
            A = np.empty((B, no))
            _affine(W, s, T, table[m - 1, 4], A, 0, B)
            for i in range(no):
                for b in range(B):
                    out[i, b] = A[b, i]
            return
        if m == 0:
            _affine(W, s, X, 0, T, u0, B)
        else:
            _affine(W, s, T, table[m - 1, 4], T, u0, B)
        for b in range(B):
            for i in range(no):
                Z[u0 + i, b] = T[b, u0 + i]
        dense.activate(T, u0, no, B, kind, True)
        for b in range(B):
            for i in range(no):
                H[u0 + i, b] = T[b, u0 + i]


@njit(cache=True, error_model="numpy")
def _backward(theta, table, scales, kind, X, H, dout, grad, rates, update):
    n_layers = table.shape[0]
    B = X.shape[0]
    d = X.shape[1]
    U = H.shape[0]
    wmax = 1
    for m in range(n_layers):
        wmax = max(wmax, table[m, 2], table[m, 3])
    T = np.empty((B, U))                  # H transposed, batch-major
    _to_rows(H, B, T)
    D = np.empty((B, wmax))               # delta of the current layer, (B, n_out)
    Dn = np.empty((B, wmax))              # W^T delta, (B, n_in)
    G = np.empty(max(wmax, d))            # one row of the weight gradient
    K = table[n_layers - 1, 2]
    for i in range(K):
        for b in range(B):
            D[b, i] = dout[i, b]
    dst = theta if update else grad
    for m in range(n_layers - 1, -1, -1):
        w0, no, ni = table[m, 0], table[m, 2], table[m, 3]
        W = theta[w0:w0 + no * ni].reshape((no, ni))
        Wd = dst[w0:w0 + no * ni].reshape((no, ni))
        s = scales[m]
        if m == 0:
            dense.backward(W, s, D, X, 0, B, Wd, theta[0:0], update, rates[m], G, Dn, False)
        else:
            p0 = table[m - 1, 4]
            dense.backward(W, s, D, T, p0, B, Wd, theta[0:0], update, rates[m], G, Dn, True)
            dense.delta_below(Dn, T, p0, ni, B, s, kind, D)


@njit(cache=True, error_model="numpy")
def backward(theta, table, scales, kind, X, H, dout, grad):
    """grad <- dLoss/dtheta given the forward workspace H (U, B) and dout (1, B), like the generic core."""
    _backward(theta, table, scales, kind, X, H, dout, grad, scales, False)


@njit(cache=True, error_model="numpy")
def backward_update(theta, table, scales, kind, X, H, dout, rates):
    """theta <- theta - rates[m] dLoss/dtheta on layer m, in place: :func:`backward` then
    :func:`asymexp.nn.kernels.sgd_update`, bit for bit, in one pass (layer m's weights are updated after
    they served the backward pass of layer m, before layer m-1 is reached)."""
    _backward(theta, table, scales, kind, X, H, dout, theta, rates, True)
