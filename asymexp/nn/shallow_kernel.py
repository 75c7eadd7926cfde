"""A fused forward/backward kernel for the one-hidden-layer network without biases (docs/theory/3-shallow-expansion.md).

Same signatures, layout and maths as :func:`asymexp.nn.generic_kernel.forward` / ``backward`` restricted to
L = 1, no biases, one output: ``theta`` holds W1 (N, d) row-major at ``table[0, W_OFF]`` and C (1, N) at
``table[1, W_OFF]``; ``scales[1] = N^-gamma``. Instead of BLAS calls on tiny matrices (d = 3, a few points) it
works point by point with the loops innermost over the units on contiguous memory, so that LLVM vectorizes
them, and evaluates the activation with the branch-free float64 :func:`asymexp.floatmath.tanh` / ``sigmoid`` (plain
arithmetic, vectorizable, a few ulp from the libm functions) instead of scalar libm calls. It equals the
generic core to rounding (tests/test_sim_engine.py); the simulators use it when the network qualifies.
Everything is per call and sequential: the results do not depend on threads.

Every code has its own loop (a compile-time constant); sigma' comes from H, so codes without such a form (gelu,
sin) give NaN gradients here: :func:`qualifies` sends them to the generic core.

Shapes: X (B, d), Z and H (N, B) workspaces (Z is left untouched: the backward pass needs only H),
out and dout (1, B), grad (P,).
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.activations import by_code
from asymexp.activations.numba_forms import act_vec, dact_from_h
from asymexp.jit import kernel
from asymexp.kernel_codes import Act


def qualifies(layout, output_dim: int = 1) -> bool:
    """True when the fused kernel applies: one hidden layer, no biases, one output, and an activation whose sigma'
    is a function of sigma (the backward pass keeps only H; gelu runs on the generic core)."""
    return (layout.table.shape[0] == 2 and layout.table[0, 1] < 0 and layout.table[1, 1] < 0 and output_dim == 1
            and not by_code(layout.activation).needs_preactivation)


@kernel(inline=True)
def _preact(W, n, d, X, b, A):
    """A[i] = W_i . X_b for i < n (W the flat (n, d) weights), summed over k in order like the generic core."""
    if d == 3:
        x0, x1, x2 = X[b, 0], X[b, 1], X[b, 2]
        for i in range(n):
            A[i] = W[3 * i] * x0 + W[3 * i + 1] * x1 + W[3 * i + 2] * x2
    else:
        for i in range(n):
            A[i] = 0.0
        for k in range(d):
            xk = X[b, k]
            for i in range(n):
                A[i] += W[i * d + k] * xk


@kernel(inline=True)
def _to_rows(H, n, B, T):
    """T[b * n + i] = H[i, b]: the (n, B) workspace transposed into the flat (B, n) scratch T."""
    Hf = H.reshape(n * B)
    if B == 4:                      # constant stride: LLVM vectorizes the interleaved loads
        for i in range(n):
            T[i] = Hf[4 * i]
            T[n + i] = Hf[4 * i + 1]
            T[2 * n + i] = Hf[4 * i + 2]
            T[3 * n + i] = Hf[4 * i + 3]
    else:
        for i in range(n):
            for b in range(B):
                T[b * n + i] = Hf[i * B + b]


@kernel(inline=True)
def _from_rows(T, n, B, H):
    """H[i, b] = T[b * n + i] (inverse of :func:`_to_rows`)."""
    Hf = H.reshape(n * B)
    if B == 4:
        for i in range(n):
            Hf[4 * i] = T[i]
            Hf[4 * i + 1] = T[n + i]
            Hf[4 * i + 2] = T[2 * n + i]
            Hf[4 * i + 3] = T[3 * n + i]
    else:
        for i in range(n):
            for b in range(B):
                Hf[i * B + b] = T[b * n + i]


@kernel(numpy_errors=True)
def forward(theta, table, scales, kind, X, Z, H, out):
    """out[0, b] = N^-gamma sum_i C_i sigma(W_i . X_b); H[i, b] = sigma(W_i . X_b)."""
    w0, n, d, c0 = table[0, 0], table[0, 2], table[0, 3], table[1, 0]
    B = X.shape[0]
    s = scales[1]
    W = theta[w0:w0 + n * d]
    C = theta[c0:c0 + n]
    T = np.empty(B * n)             # activations, transposed (B, n)
    n8 = n - n % 8
    for b in range(B):
        A = T[b * n:(b + 1) * n]
        _preact(W, n, d, X, b, A)
        if kind == Act.SIGMOID:
            for i in range(n):
                A[i] = act_vec(A[i], Act.SIGMOID)
        elif kind == Act.TANH:
            for i in range(n):
                A[i] = act_vec(A[i], Act.TANH)
        else:
            for i in range(n):
                A[i] = act_vec(A[i], kind)
        # sum_i C_i A_i with 8 interleaved partial sums (vectorizable without reassociation flags)
        p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 0.0
        for i in range(0, n8, 8):
            p0 += C[i] * A[i]
            p1 += C[i + 1] * A[i + 1]
            p2 += C[i + 2] * A[i + 2]
            p3 += C[i + 3] * A[i + 3]
            p4 += C[i + 4] * A[i + 4]
            p5 += C[i + 5] * A[i + 5]
            p6 += C[i + 6] * A[i + 6]
            p7 += C[i + 7] * A[i + 7]
        for i in range(n8, n):
            p0 += C[i] * A[i]
        out[0, b] = s * (((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)))
    _from_rows(T, n, B, H)


@kernel(numpy_errors=True)
def backward(theta, table, scales, kind, X, H, dout, grad):
    """grad <- dLoss/dtheta from H and dout (1, B): dC_i = s sum_b dout_b H_ib,
    dW_ik = s C_i sum_b dout_b sigma'_ib X_bk (sums over b in order, as the generic core's loops)."""
    _backward(theta, table, scales, kind, X, H, dout, grad, scales, False)


@kernel(numpy_errors=True)
def backward_update(theta, table, scales, kind, X, H, dout, grad, rates):
    """:func:`backward` then ``asymexp.nn.generic_kernel.sgd_update(theta, grad, table, rates)``, bit for bit, with
    the update applied where the gradient is finished instead of in a second pass (grad (P,) is scratch)."""
    _backward(theta, table, scales, kind, X, H, dout, grad, rates, True)


@kernel(numpy_errors=True, inline=True)
def _backward(theta, table, scales, kind, X, H, dout, grad, rates, update):
    w0, n, d, c0 = table[0, 0], table[0, 2], table[0, 3], table[1, 0]
    B = X.shape[0]
    s = scales[1]
    C = theta[c0:c0 + n]
    gW = grad[w0:w0 + n * d]
    gC = grad[c0:c0 + n]
    T = np.empty(B * n)
    _to_rows(H, n, B, T)            # H transposed (B, n)
    G = np.zeros(d * n)              # dW transposed (d, n): unit-contiguous accumulators
    for i in range(n):
        gC[i] = 0.0
    for b in range(B):
        e = dout[0, b]
        Hb = T[b * n:(b + 1) * n]
        if d == 3:
            x0, x1, x2 = X[b, 0], X[b, 1], X[b, 2]
            if kind == Act.SIGMOID:
                for i in range(n):
                    h = Hb[i]
                    gC[i] += e * h
                    f = s * C[i] * e * dact_from_h(h, Act.SIGMOID, 1.0)
                    G[i] += f * x0
                    G[n + i] += f * x1
                    G[2 * n + i] += f * x2
            elif kind == Act.TANH:
                for i in range(n):
                    h = Hb[i]
                    gC[i] += e * h
                    f = s * C[i] * e * dact_from_h(h, Act.TANH, 1.0)
                    G[i] += f * x0
                    G[n + i] += f * x1
                    G[2 * n + i] += f * x2
            else:
                for i in range(n):
                    h = Hb[i]
                    gC[i] += e * h
                    f = s * C[i] * e * dact_from_h(h, kind, 1.0)
                    G[i] += f * x0
                    G[n + i] += f * x1
                    G[2 * n + i] += f * x2
        else:
            F = np.empty(n)
            if kind == Act.SIGMOID:
                for i in range(n):
                    h = Hb[i]
                    gC[i] += e * h
                    F[i] = s * C[i] * e * dact_from_h(h, Act.SIGMOID, 1.0)
            elif kind == Act.TANH:
                for i in range(n):
                    h = Hb[i]
                    gC[i] += e * h
                    F[i] = s * C[i] * e * dact_from_h(h, Act.TANH, 1.0)
            else:
                for i in range(n):
                    h = Hb[i]
                    gC[i] += e * h
                    F[i] = s * C[i] * e * dact_from_h(h, kind, 1.0)
            for k in range(d):
                xk = X[b, k]
                for i in range(n):
                    G[k * n + i] += F[i] * xk
    if update:                      # the expressions of generic_kernel.sgd_update: theta -= r * grad
        rw, rc = rates[0], rates[1]
        W = theta[w0:w0 + n * d]
        if d == 3:
            for i in range(n):
                W[3 * i] -= rw * G[i]
                W[3 * i + 1] -= rw * G[n + i]
                W[3 * i + 2] -= rw * G[2 * n + i]
        else:
            for i in range(n):
                for k in range(d):
                    W[i * d + k] -= rw * G[k * n + i]
        for i in range(n):
            C[i] -= rc * (s * gC[i])
        return
    if d == 3:
        for i in range(n):
            gW[3 * i] = G[i]
            gW[3 * i + 1] = G[n + i]
            gW[3 * i + 2] = G[2 * n + i]
    else:
        for i in range(n):
            for k in range(d):
                gW[i * d + k] = G[k * n + i]
    for i in range(n):
        gC[i] = s * gC[i]
