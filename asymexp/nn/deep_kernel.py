"""A fused forward/backward kernel for deep networks (L >= 2 hidden layers) without biases, one output, float64.

Same signatures, layout and maths as :func:`asymexp.nn.generic_kernel.forward` / ``backward`` (Z^m = s_m W_m H^{m-1},
H^m = sigma(Z^m), out = s_L C H^L; delta^{m-1} = (W_m^T delta^m) s_m sigma'(from H^{m-1}), grad W_m =
s_m delta^m (H^{m-1})^T), restricted to networks that :func:`qualifies` accepts. Instead of one BLAS call per
layer on a tall-skinny product (B = 1..8 points) and scalar libm activations, it runs the forward products, the
activations and the delta propagation of the batch-major core :mod:`asymexp.nn.dense` (shared with the MNIST
trainer; the weight-gradient pass below is this module's own): every layer's activations are kept transposed, (B, U)
with layer m's units contiguous at columns u0.., so that each loop runs innermost over contiguous units and LLVM
vectorizes it: the products W x_b are dot products along a weight row (two rows by four points at a time, so
every load feeds two or four multiply-adds), W^T delta is a sum of weight rows (axpy), and the activation is the
branch-free :func:`asymexp.floatmath.tanh` / ``sigmoid``.

Rounding: the dot products are compiled with the fast-math flags ``reassoc`` / ``contract`` / ``nsz`` only (no
``nnan``/``ninf``: NaN and infinities propagate as usual) so that LLVM may split a sum into vector partial
sums and use FMA; the result equals the generic core to rounding (a different summation order than BLAS,
tests/test_fused_deep.py). The backward pass is compiled without fast-math; its sums are explicit chains of
``llvm.fma`` (correctly rounded, :func:`asymexp.floatmath.fma`) in a fixed order: W^T delta over the weight rows
in order, the weight gradient grad[i, j] = sum_b (s delta_bi) X_bj over the points in order. One pass over
each block of four weight rows computes both, so each weight row is read once per step. The order is fixed by
the compiled code and the shapes, not by the data's addresses nor by threads: a replica's numbers do not depend
on the thread count.

:func:`forward_rows` / :func:`backward_update_rows` are the same passes on a batch-major activation workspace
T (B, U) that persists between them (the simulator's GD/SGD step), without the (U, B) copies of Z and H.

:func:`backward_update` is the backward pass fused with the GD/SGD update theta <- theta - rates[m] grad_m,
without writing grad: it computes the same grad values (same code) and applies the same update expression as
:func:`asymexp.nn.generic_kernel.sgd_update`, so it equals ``backward`` followed by ``sgd_update`` bit for bit, with
one pass over the weights instead of three.

Shapes: theta (P,), table int64 (L+1, 5), scales (L+1,), X (B, d) C-contiguous, Z and H (U, B) workspaces,
out and dout (1, B), grad (P,), rates (L+1,).
"""
from __future__ import annotations

import numpy as np

from asymexp.activations import by_code
from asymexp.floatmath import fma
from asymexp.jit import kernel
from asymexp.nn import dense



def qualifies(layout, output_dim: int = 1) -> bool:
    """True when the deep fused kernel applies: >= 2 hidden layers, no biases, one output (theta float64), and an
    activation whose sigma' is a function of sigma (the backward pass keeps only the activations; gelu runs on the
    generic core, :func:`asymexp.nn.generic_kernel.backward_z`)."""
    t = layout.table
    return (t.shape[0] >= 3 and bool(np.all(t[:, 1] < 0)) and output_dim == 1 and t[-1, 2] == 1
            and not by_code(layout.activation).needs_preactivation)


@kernel(numpy_errors=True, inline=True)
def _to_rows(H, B, T):
    """T[b, u] = H[u, b]: the (U, B) workspace transposed into the batch-major (B, U) scratch T."""
    for b in range(B):
        for u in range(H.shape[0]):
            T[b, u] = H[u, b]


@kernel(numpy_errors=True, fastmath="deep-step")
def _affine(W, s, X, x0, Y, y0, B):
    """Y[b, y0 + i] = s W[i] . X[b, x0:x0+ni]: :func:`asymexp.nn.dense.affine` (no bias) compiled with
    ``reassoc``, so that its dot products vectorize."""
    dense.affine(W, s, W[0, 0:0], X, x0, Y, y0, B)


@kernel(numpy_errors=True, inline=True)
def _forward_rows(theta, table, scales, kind, X, T, out, Z, H, copy):
    """The forward pass into the batch-major T (B, >= U): every hidden layer's activations, layer m at columns
    u0..; out (1, B). copy: also fill the (U, B) workspaces Z (pre-activations) and H (activations)."""
    n_layers = table.shape[0]
    B = X.shape[0]
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
        if copy:
            for b in range(B):
                for i in range(no):
                    Z[u0 + i, b] = T[b, u0 + i]
        dense.activate(T, u0, no, B, kind, True)
        if copy:
            for b in range(B):
                for i in range(no):
                    H[u0 + i, b] = T[b, u0 + i]


@kernel(numpy_errors=True)
def forward(theta, table, scales, kind, X, Z, H, out):
    """Fill Z, H (U, B) and out (1, B) for inputs X (B, d), like the generic core. Returns nothing."""
    T = np.empty((X.shape[0], H.shape[0]))
    _forward_rows(theta, table, scales, kind, X, T, out, Z, H, True)


@kernel(numpy_errors=True)
def forward_rows(theta, table, scales, kind, X, T, out):
    """out (1, B) for inputs X (B, d), keeping the activations batch-major in T (B, U) (no Z, no (U, B) copies)
    for :func:`backward_update_rows`: the same numbers as :func:`forward` (T = H transposed)."""
    _forward_rows(theta, table, scales, kind, X, T, out, T, T, False)


@kernel(numpy_errors=True, inline=True)
def _quad_rows(W, dst, i, D, E, X, x0, Dn, b, back, G, mode, update, r):
    """Rows i..i+3 of W (no, ni) against the points b..b+3: Dn[b+k, j] += sum_q W[i+q, j] D[b+k, i+q]
    (back; rows in order, one FMA each), and the gradient g[q, j] = sum_k E[b+k, i+q] X[b+k, x0+j] (points
    in order, FMAs; E = s D): mode 0 writes G[q] = g (first quad), 1 adds it, chained from G[q] (later
    quads), 2 (the only quad) writes dst[i+q] directly (dst = g, or with update dst -= r g: the expression
    of sgd_update). Each loop stores into one row only (few runtime alias checks, so LLVM vectorizes it)."""
    ni = W.shape[1]
    w0, w1, w2, w3 = W[i], W[i + 1], W[i + 2], W[i + 3]
    if back:
        for k in range(b, b + 4):
            n = Dn[k, 0:ni]
            c0, c1, c2, c3 = D[k, i], D[k, i + 1], D[k, i + 2], D[k, i + 3]
            for j in range(ni):
                n[j] = fma(w3[j], c3, fma(w2[j], c2, fma(w1[j], c1, fma(w0[j], c0, n[j]))))
    t0 = X[b, x0:x0 + ni]
    t1 = X[b + 1, x0:x0 + ni]
    t2 = X[b + 2, x0:x0 + ni]
    t3 = X[b + 3, x0:x0 + ni]
    for q in range(i, i + 4):
        e0, e1, e2, e3 = E[b, q], E[b + 1, q], E[b + 2, q], E[b + 3, q]
        if mode == 0:
            g = G[q - i, 0:ni]
            for j in range(ni):
                g[j] = fma(e3, t3[j], fma(e2, t2[j], fma(e1, t1[j], e0 * t0[j])))
        elif mode == 1:
            g = G[q - i, 0:ni]
            for j in range(ni):
                g[j] = fma(e3, t3[j], fma(e2, t2[j], fma(e1, t1[j], fma(e0, t0[j], g[j]))))
        elif update:
            o = dst[q]
            for j in range(ni):
                o[j] -= r * fma(e3, t3[j], fma(e2, t2[j], fma(e1, t1[j], e0 * t0[j])))
        else:
            o = dst[q]
            for j in range(ni):
                o[j] = fma(e3, t3[j], fma(e2, t2[j], fma(e1, t1[j], e0 * t0[j])))


@kernel(numpy_errors=True, inline=True)
def _one_point_rows(W, i, R, D, E, X, x0, Dn, b, back, G, first):
    """Rows i..i+R-1 (R <= 4) against the single point b: Dn[b] += sum_q W[i+q] D[b, i+q] (back, rows in
    order), and G[q] = E[b, i+q] X[b] (first) or G[q] = fma(E[b, i+q], X[b], G[q])."""
    ni = W.shape[1]
    t = X[b, x0:x0 + ni]
    if back:
        n = Dn[b, 0:ni]
        for q in range(R):
            w = W[i + q]
            dq = D[b, i + q]
            for j in range(ni):
                n[j] = fma(w[j], dq, n[j])
    for q in range(R):
        g = G[q, 0:ni]
        eq = E[b, i + q]
        if first:
            for j in range(ni):
                g[j] = eq * t[j]
        else:
            for j in range(ni):
                g[j] = fma(eq, t[j], g[j])


@kernel(numpy_errors=True, inline=True)
def _layer_backward(W, dst, D, E, X, x0, B, Dn, back, G, update, r):
    """Backward pass of one layer W (no, ni) given its delta D (B, no) and E = s D (s the layer's scale):
    Dn[b, :ni] = W^T D[b] (back; overwritten), and the weight gradient grad[i, j] = sum_b E[b, i] X[b, x0+j]
    written into dst (no, ni), or applied as dst -= r grad (update; dst = W: each row is updated after it
    served W^T delta). Weight rows four at a time, points four at a time (then one at a time); every sum
    is a chain of FMAs in a fixed order (rows in order for W^T delta, points in order for the gradient)."""
    no, ni = W.shape[0], W.shape[1]
    if not back and ni <= G.shape[0]:
        # first layer (ni = d inputs, few): gradient columns G[j, :no] = sum_b E[b, :no] X[b, x0+j], vectorized
        # over the rows (the same chain of FMAs over the points as below), then the (no, ni) block row by row
        for j in range(ni):
            g = G[j, 0:no]
            xj = X[0, x0 + j]
            e = E[0, 0:no]
            for q in range(no):
                g[q] = e[q] * xj
            for b in range(1, B):
                xj = X[b, x0 + j]
                e = E[b, 0:no]
                for q in range(no):
                    g[q] = fma(e[q], xj, g[q])
        for q in range(no):
            o = dst[q]
            if update:
                for j in range(ni):
                    o[j] -= r * G[j, q]
            else:
                for j in range(ni):
                    o[j] = G[j, q]
        return
    if back:
        for b in range(B):
            for j in range(ni):
                Dn[b, j] = 0.0
    nq = B // 4
    i = 0
    while i < no:
        R = 4 if i + 4 <= no else 1
        if R == 4 and nq == 1 and B == 4:
            _quad_rows(W, dst, i, D, E, X, x0, Dn, 0, back, G, 2, update, r)
        else:
            for q in range(nq):
                if R == 4:
                    _quad_rows(W, dst, i, D, E, X, x0, Dn, 4 * q, back, G, 0 if q == 0 else 1, update, r)
                else:
                    for b in range(4 * q, 4 * q + 4):
                        _one_point_rows(W, i, 1, D, E, X, x0, Dn, b, back, G, b == 0)
            for b in range(4 * nq, B):
                _one_point_rows(W, i, R, D, E, X, x0, Dn, b, back, G, b == 0)
            for q in range(R):
                g = G[q, 0:ni]
                o = dst[i + q]
                if update:
                    for j in range(ni):
                        o[j] -= r * g[j]
                else:
                    for j in range(ni):
                        o[j] = g[j]
        i += R


@kernel(numpy_errors=True, inline=True)
def _backward_rows(theta, table, scales, kind, X, T, dout, grad, rates, update):
    """Backward pass from the batch-major activations T (B, >= U): grad, or (update) theta -= rates[m] grad."""
    n_layers = table.shape[0]
    B = X.shape[0]
    d = X.shape[1]
    wmax = 1
    for m in range(n_layers):
        wmax = max(wmax, table[m, 2], table[m, 3])
    D = np.empty((B, wmax))               # delta of the current layer, (B, n_out)
    E = np.empty((B, wmax))               # s D
    Dn = np.empty((B, wmax))              # W^T delta, (B, n_in)
    G = np.empty((4, max(wmax, d)))       # four rows of the weight gradient (first layer: four columns)
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
        for b in range(B):
            for i in range(no):
                E[b, i] = s * D[b, i]
        if m == 0:
            _layer_backward(W, Wd, D, E, X, 0, B, Dn, False, G, update, rates[m])
        else:
            p0 = table[m - 1, 4]
            _layer_backward(W, Wd, D, E, T, p0, B, Dn, True, G, update, rates[m])
            dense.delta_below(Dn, T, p0, ni, B, s, kind, D)


@kernel(numpy_errors=True)
def _backward(theta, table, scales, kind, X, H, dout, grad, rates, update):
    T = np.empty((X.shape[0], H.shape[0]))   # H transposed, batch-major
    _to_rows(H, X.shape[0], T)
    _backward_rows(theta, table, scales, kind, X, T, dout, grad, rates, update)


@kernel(numpy_errors=True)
def backward_update_rows(theta, table, scales, kind, X, T, dout, rates):
    """:func:`backward_update` from the batch-major activations T (B, U) of :func:`forward_rows` (the same
    numbers: one core for both)."""
    _backward_rows(theta, table, scales, kind, X, T, dout, theta, rates, True)


@kernel(numpy_errors=True)
def backward(theta, table, scales, kind, X, H, dout, grad):
    """grad <- dLoss/dtheta given the forward workspace H (U, B) and dout (1, B), like the generic core."""
    _backward(theta, table, scales, kind, X, H, dout, grad, scales, False)


@kernel(numpy_errors=True)
def backward_update(theta, table, scales, kind, X, H, dout, rates):
    """theta <- theta - rates[m] dLoss/dtheta on layer m, in place: :func:`backward` then
    :func:`asymexp.nn.generic_kernel.sgd_update`, bit for bit, in one pass (layer m's weights are updated after
    they served the backward pass of layer m, before layer m-1 is reached)."""
    _backward(theta, table, scales, kind, X, H, dout, theta, rates, True)
