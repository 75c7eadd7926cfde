"""A fused forward/backward kernel for the one-hidden-layer network without biases (THEORY.md section 3).

Same signatures, layout and maths as :func:`asymexp.nn.kernels.forward` / ``backward`` restricted to
L = 1, no biases, one output: ``theta`` holds W1 (N, d) row-major at ``table[0, W_OFF]`` and C (1, N) at
``table[1, W_OFF]``; ``scales[1] = N^-gamma``. Instead of BLAS calls on tiny matrices (d = 3, a few points) it
makes one pass over the units with the inner products in registers and allocates nothing. It equals the
generic core to rounding (tests/test_sim_engine.py); the simulators use it when the network qualifies.

Shapes: X (B, d), Z and H (N, B) workspaces (Z is left untouched: the backward pass needs only H),
out and dout (1, B), grad (P,).
"""
from __future__ import annotations

from numba import njit

from asymexp.nn.kernels import _act, _dact_from_h


def qualifies(layout, output_dim: int = 1) -> bool:
    """True when the fused kernel applies: one hidden layer, no biases, one output."""
    return layout.table.shape[0] == 2 and layout.table[0, 1] < 0 and layout.table[1, 1] < 0 and output_dim == 1


@njit(cache=True)
def forward(theta, table, scales, kind, X, Z, H, out):
    """out[0, b] = N^-gamma sum_i C_i sigma(W_i . X_b); H[i, b] = sigma(W_i . X_b)."""
    w0, n, d, c0 = table[0, 0], table[0, 2], table[0, 3], table[1, 0]
    B = X.shape[0]
    s = scales[1]
    for b in range(B):
        out[0, b] = 0.0
    for i in range(n):
        ci = theta[c0 + i]
        base = w0 + i * d
        for b in range(B):
            a = 0.0
            for k in range(d):
                a += theta[base + k] * X[b, k]
            h = _act(a, kind)
            H[i, b] = h
            out[0, b] += ci * h
    for b in range(B):
        out[0, b] *= s


@njit(cache=True)
def backward(theta, table, scales, kind, X, H, dout, grad):
    """grad <- dLoss/dtheta from H and dout (1, B): dC_i = s sum_b dout_b H_ib,
    dW_ik = s C_i sum_b dout_b sigma'_ib X_bk."""
    w0, n, d, c0 = table[0, 0], table[0, 2], table[0, 3], table[1, 0]
    B = X.shape[0]
    s = scales[1]
    for i in range(n):
        base = w0 + i * d
        for k in range(d):
            grad[base + k] = 0.0
        gc = 0.0
        ci = theta[c0 + i]
        for b in range(B):
            h = H[i, b]
            e = dout[0, b]
            gc += e * h
            f = s * ci * e * _dact_from_h(h, kind)
            for k in range(d):
                grad[base + k] += f * X[b, k]
        grad[c0 + i] = s * gc
