"""A fused forward/backward kernel for deep networks (L >= 2 hidden layers) without biases, one output, float64.

Same signatures, layout and maths as :func:`asymexp.nn.kernels.forward` / ``backward`` (Z^m = s_m W_m H^{m-1},
H^m = sigma(Z^m), out = s_L C H^L; delta^{m-1} = (W_m^T delta^m) s_m sigma'(from H^{m-1}), grad W_m =
s_m delta^m (H^{m-1})^T), restricted to networks that :func:`qualifies` accepts. Instead of one BLAS call per
layer on a tall-skinny product (B = 1..8 points) and scalar libm activations, it keeps every layer's activations
transposed, (B, n) with the units contiguous, so that each loop runs innermost over contiguous units and LLVM
vectorizes it: the products W x_b are dot products along a weight row (two rows by two points at a time, so
every load feeds two multiply-adds), W^T delta is a sum of weight rows (axpy), and the activation is the
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

from asymexp.nn.fused import sigmoid, tanh

_FM = {"reassoc", "contract", "nsz"}


def qualifies(layout, output_dim: int = 1) -> bool:
    """True when the deep fused kernel applies: >= 2 hidden layers, no biases, one output (theta float64)."""
    t = layout.table
    return t.shape[0] >= 3 and bool(np.all(t[:, 1] < 0)) and output_dim == 1 and t[-1, 2] == 1


@njit(cache=True, error_model="numpy")
def _to_rows(H, u0, n, B, T, t0):
    """T[t0 + b n + i] = H[u0 + i, b] for i < n, b < B: rows u0.. of the (U, B) workspace, transposed."""
    for b in range(B):
        for i in range(n):
            T[t0 + b * n + i] = H[u0 + i, b]


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _dense(W, no, ni, S, s0, B, A, a0):
    """A[a0 + b no + i] = sum_j W[i ni + j] S[s0 + b ni + j] (W flat (no, ni), S and A flat (B, ni), (B, no)).

    Two weight rows by two points per pass (four sums, each vectorized over j by LLVM)."""
    if B == 1:
        t = S[s0:s0 + ni]
        for i in range(no):
            w = W[i * ni:(i + 1) * ni]
            p = 0.0
            for j in range(ni):
                p += w[j] * t[j]
            A[a0 + i] = p
        return
    i = 0
    while i + 1 < no:
        w = W[i * ni:(i + 1) * ni]
        v = W[(i + 1) * ni:(i + 2) * ni]
        b = 0
        while b + 1 < B:
            t = S[s0 + b * ni:s0 + (b + 1) * ni]
            u = S[s0 + (b + 1) * ni:s0 + (b + 2) * ni]
            p = 0.0
            q = 0.0
            p2 = 0.0
            q2 = 0.0
            for j in range(ni):
                p += w[j] * t[j]
                q += w[j] * u[j]
                p2 += v[j] * t[j]
                q2 += v[j] * u[j]
            A[a0 + b * no + i] = p
            A[a0 + (b + 1) * no + i] = q
            A[a0 + b * no + i + 1] = p2
            A[a0 + (b + 1) * no + i + 1] = q2
            b += 2
        if b < B:
            t = S[s0 + b * ni:s0 + (b + 1) * ni]
            p = 0.0
            p2 = 0.0
            for j in range(ni):
                p += w[j] * t[j]
                p2 += v[j] * t[j]
            A[a0 + b * no + i] = p
            A[a0 + b * no + i + 1] = p2
        i += 2
    if i < no:
        w = W[i * ni:(i + 1) * ni]
        for b in range(B):
            t = S[s0 + b * ni:s0 + (b + 1) * ni]
            p = 0.0
            for j in range(ni):
                p += w[j] * t[j]
            A[a0 + b * no + i] = p


@njit(cache=True, error_model="numpy")
def _activate(T, t0, n, kind):
    """T[t0:t0+n] <- sigma(T[t0:t0+n]) with the vectorizable activations (0 sigmoid, 1 tanh)."""
    t = T[t0:t0 + n]
    if kind == 0:
        for k in range(n):
            t[k] = sigmoid(t[k])
    else:
        for k in range(n):
            t[k] = tanh(t[k])


@njit(cache=True, error_model="numpy")
def forward(theta, table, scales, kind, X, Z, H, out):
    """Fill Z, H (U, B) and out (1, B) for inputs X (B, d), like the generic core. Returns nothing."""
    n_layers = table.shape[0]
    B = X.shape[0]
    d = X.shape[1]
    U = H.shape[0]
    T = np.empty(U * B)                   # every hidden layer's activations, transposed: layer m at u0 B, (B, n)
    Xf = X.reshape(B * d)
    for m in range(n_layers):
        w0, no, ni, u0 = table[m, 0], table[m, 2], table[m, 3], table[m, 4]
        W = theta[w0:w0 + no * ni]
        s = scales[m]
        if m == n_layers - 1:
            A = np.empty(no * B)
            _dense(W, no, ni, T, table[m - 1, 4] * B, B, A, 0)
            for i in range(no):
                for b in range(B):
                    out[i, b] = A[b * no + i] * s
            return
        t0 = u0 * B
        if m == 0:
            _dense(W, no, ni, Xf, 0, B, T, t0)
        else:
            _dense(W, no, ni, T, table[m - 1, 4] * B, B, T, t0)
        Tm = T[t0:t0 + no * B]
        for k in range(no * B):
            Tm[k] = Tm[k] * s
        for b in range(B):
            for i in range(no):
                Z[u0 + i, b] = T[t0 + b * no + i]
        _activate(T, t0, no * B, kind)
        for b in range(B):
            for i in range(no):
                H[u0 + i, b] = T[t0 + b * no + i]


@njit(cache=True, error_model="numpy", inline="always")
def _back_rows(W, no, ni, D, B, Dn, i, R):
    """Dn[b ni + j] += sum_{r < R} W[i + r, j] D[b no + i + r] (W flat (no, ni)): W^T delta accumulated over
    the rows i..i+R-1 (R = 4 or 1; four rows per pass, so that Dn is loaded and stored once per four)."""
    w0 = W[i * ni:(i + 1) * ni]
    if R == 4:
        w1 = W[(i + 1) * ni:(i + 2) * ni]
        w2 = W[(i + 2) * ni:(i + 3) * ni]
        w3 = W[(i + 3) * ni:(i + 4) * ni]
        for b in range(B):
            e0 = D[b * no + i]
            e1 = D[b * no + i + 1]
            e2 = D[b * no + i + 2]
            e3 = D[b * no + i + 3]
            dn = Dn[b * ni:(b + 1) * ni]
            for j in range(ni):
                dn[j] = dn[j] + w0[j] * e0 + w1[j] * e1 + w2[j] * e2 + w3[j] * e3
    else:
        for b in range(B):
            e0 = D[b * no + i]
            dn = Dn[b * ni:(b + 1) * ni]
            for j in range(ni):
                dn[j] = dn[j] + w0[j] * e0


@njit(cache=True, error_model="numpy", inline="always")
def _grad_row(dst, update, s, r, D, no, i, B, Tp, ni, G):
    """Row i of the weight gradient g_j = s sum_b D[b no + i] Tp[b ni + j] (points summed in order, four per
    pass), written as dst[j] = g_j, or with update applied as dst[j] -= r g_j (the expression of
    :func:`asymexp.nn.kernels.sgd_update`). dst is the row's slice of grad, or of theta; G (ni,) scratch."""
    nq = B // 4
    for q in range(nq):
        b = 4 * q
        e0 = D[b * no + i]
        e1 = D[(b + 1) * no + i]
        e2 = D[(b + 2) * no + i]
        e3 = D[(b + 3) * no + i]
        t0 = Tp[b * ni:(b + 1) * ni]
        t1 = Tp[(b + 1) * ni:(b + 2) * ni]
        t2 = Tp[(b + 2) * ni:(b + 3) * ni]
        t3 = Tp[(b + 3) * ni:(b + 4) * ni]
        if q == 0:
            for j in range(ni):
                G[j] = e0 * t0[j] + e1 * t1[j] + e2 * t2[j] + e3 * t3[j]
        else:
            for j in range(ni):
                G[j] = G[j] + (e0 * t0[j] + e1 * t1[j] + e2 * t2[j] + e3 * t3[j])
    b0 = 4 * nq
    if nq == 0:
        e0 = D[i]
        t0 = Tp[0:ni]
        for j in range(ni):
            G[j] = e0 * t0[j]
        b0 = 1
    for b in range(b0, B):
        e0 = D[b * no + i]
        t0 = Tp[b * ni:(b + 1) * ni]
        for j in range(ni):
            G[j] = G[j] + e0 * t0[j]
    if update:
        for j in range(ni):
            dst[j] -= r * (G[j] * s)
    else:
        for j in range(ni):
            dst[j] = G[j] * s


@njit(cache=True, error_model="numpy")
def _backward(theta, table, scales, kind, X, H, dout, grad, rates, update):
    n_layers = table.shape[0]
    B = X.shape[0]
    d = X.shape[1]
    U = H.shape[0]
    wmax = 1
    for m in range(n_layers):
        wmax = max(wmax, table[m, 2], table[m, 3])
    T = np.empty(U * B)                   # H transposed, layer by layer (B, n)
    for m in range(n_layers - 1):
        _to_rows(H, table[m, 4], table[m, 2], B, T, table[m, 4] * B)
    D = np.empty(wmax * B)                # delta of the current layer, (B, n_out)
    Dn = np.empty(wmax * B)               # W^T delta, then the delta of the layer below, (B, n_in)
    G = np.empty(max(wmax, d))            # one row of the weight gradient
    K = table[n_layers - 1, 2]
    for i in range(K):
        for b in range(B):
            D[b * K + i] = dout[i, b]
    for m in range(n_layers - 1, 0, -1):
        w0, no, ni = table[m, 0], table[m, 2], table[m, 3]
        W = theta[w0:w0 + no * ni]
        s = scales[m]
        r = rates[m]
        t0 = table[m - 1, 4] * B
        for k in range(ni * B):
            Dn[k] = 0.0
        Tp = T[t0:t0 + ni * B]
        dst = theta if update else grad
        i = 0
        while i < no:
            R = 4 if i + 4 <= no else 1
            _back_rows(W, no, ni, D, B, Dn, i, R)
            for q in range(i, i + R):
                _grad_row(dst[w0 + q * ni:w0 + (q + 1) * ni], update, s, r, D, no, q, B, Tp, ni, G)
            i += R
        if kind == 0:
            for k in range(ni * B):
                h = Tp[k]
                D[k] = Dn[k] * s * (h * (1.0 - h))
        else:
            for k in range(ni * B):
                h = Tp[k]
                D[k] = Dn[k] * s * (1.0 - h * h)
    w0, no = table[0, 0], table[0, 2]
    s = scales[0]
    r = rates[0]
    Xf = X.reshape(B * d)
    dst = theta if update else grad
    for i in range(no):
        _grad_row(dst[w0 + i * d:w0 + (i + 1) * d], update, s, r, D, no, i, B, Xf, d, G)


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
