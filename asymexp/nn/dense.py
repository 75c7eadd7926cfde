"""Batch-major dense layers: the forward/backward core of the MNIST trainer (:mod:`asymexp.mnist.epoch_kernel`), whose
forward products (:func:`affine`), activations (:func:`activate`) and delta propagation (:func:`delta_below`;
:func:`delta_below_z` from kept pre-activations for gelu)
the deep simulators (:mod:`asymexp.nn.deep_kernel`) share. The deep simulators' weight-gradient pass is their own
FMA-blocked loop (faster there, without biases). :func:`backward` here serves the trainer. Merging the two
gradient passes is open.

The maths is that of :mod:`asymexp.nn.generic_kernel` for one layer m with weights W (no, ni), scale s = N^-gamma of
the layer below and optional bias b (docs/theory/1-network.md; biases are added after the scaling):

    forward    Y_b = sigma(s W X_b + b)                                    (sigma omitted on the output layer)
    backward   Dn_b = W^T D_b  (then delta below = s Dn_b sigma'(from X_b)),
               grad W_i = s sum_b D_bi X_b,   grad b_i = sum_b D_bi,
               optionally fused with the update  W_i -= r grad W_i,  b_i -= r grad b_i.

Layout ("batch-major"): a batch's activations are the rows of a C-contiguous 2D array, (B, .) with the n units
of a layer at the columns ``x0 .. x0 + n`` (several layers may share one array at different column offsets), and
W is row-major (a reshaped view of theta's block). Every inner loop then runs over contiguous memory, so LLVM
vectorizes it: the products are dot products along a weight row (two rows by four images per pass, every load
feeding two or four multiply-adds), W^T delta is a sum of weight rows (four per pass), the gradient of a row a
sum of activation rows (four images per pass, into a scratch row G).

Everything here is ``inline="always"`` (inlined at Numba IR level): each caller compiles the core with its own
fast-math flags and dtype (float32 or float64). Dot products vectorize only with ``reassoc``, so callers
compile :func:`affine` in a function with that flag; the branch-free float64 activations of
:mod:`asymexp.nn.shallow_kernel` must be compiled *without* it (their range reduction relies on exact rounding), so
:func:`activate` with ``vec=True`` belongs in a function without fast-math. The summation order is fixed by the
code and the shapes, never by addresses or threads.
"""
from __future__ import annotations

import numpy as np

from asymexp.activations.numba_forms import act, act_vec, dact_from_h, dact_z, sigmoid_row_f32, zlo
from asymexp.jit import kernel
from asymexp.kernel_codes import Act



@kernel(inline=True)
def activate(Y, y0, n, B, kind, vec):
    """Y[b, y0:y0+n] <- sigma(Y[b, y0:y0+n]) for b < B, in place, one loop per row (so that it vectorizes).

    vec: the branch-free float64 :func:`asymexp.floatmath.sigmoid` / ``tanh`` (float64 only; compile without
    fast-math); otherwise :func:`act` (libm, float32 tanh rational), whose float32 sigmoid runs as
    :func:`sigmoid_row_f32` (the same values, vectorized). Every code has its own loop with the code a
    compile-time constant (no per-element dispatch); an unknown code gives NaN (:mod:`asymexp.activations.numba_forms`)."""
    one = Y.dtype.type(1.0)
    lo = zlo(Y)
    for b in range(B):
        row = Y[b, y0:y0 + n]
        if vec:
            if kind == Act.SIGMOID:
                for k in range(n):
                    row[k] = act_vec(np.float64(row[k]), Act.SIGMOID)
            elif kind == Act.TANH:
                for k in range(n):
                    row[k] = act_vec(np.float64(row[k]), Act.TANH)
            elif kind == Act.GELU:
                for k in range(n):
                    row[k] = act_vec(np.float64(row[k]), Act.GELU)
            else:
                for k in range(n):
                    row[k] = act_vec(np.float64(row[k]), kind)
        elif kind == Act.SIGMOID and lo == -46.0:  # float32
            sigmoid_row_f32(row)
        elif kind == Act.SIGMOID:
            for k in range(n):
                row[k] = act(row[k], Act.SIGMOID, one, lo)
        elif kind == Act.TANH:
            for k in range(n):
                row[k] = act(row[k], Act.TANH, one, lo)
        elif kind == Act.GELU:
            for k in range(n):
                row[k] = act(row[k], Act.GELU, one, lo)
        else:
            for k in range(n):
                row[k] = act(row[k], kind, one, lo)


@kernel(inline=True)
def keep_preactivations(Y, y0, n, B, Z):
    """Z[b, y0:y0+n] = Y[b, y0:y0+n] for b < B: the pre-activations that the backward pass of an activation
    whose sigma' is not a function of sigma (gelu, sin) needs (:func:`delta_below_z`). Z has Y's layout."""
    for b in range(B):
        z = Z[b, y0:y0 + n]
        row = Y[b, y0:y0 + n]
        for k in range(n):
            z[k] = row[k]


@kernel(inline=True)
def affine(W, s, bias, X, x0, Y, y0, B):
    """Y[b, y0 + i] = s (W[i] . X[b, x0:x0+ni]) + bias[i] for b < B, i < no.

    W (no, ni); X (>= B, >= x0 + ni) and Y (>= B, >= y0 + no) batch-major; bias (no,), or empty for none.
    Two weight rows by four images per pass (eight sums, each vectorized over the units when compiled with
    ``reassoc``); leftover images (B not a multiple of 4) two rows by one image."""
    no, ni = W.shape[0], W.shape[1]
    has_bias = bias.shape[0] > 0
    zero = W.dtype.type(0.0)
    b = 0
    while b + 4 <= B:
        h0 = X[b, x0:x0 + ni]
        h1 = X[b + 1, x0:x0 + ni]
        h2 = X[b + 2, x0:x0 + ni]
        h3 = X[b + 3, x0:x0 + ni]
        for i0 in range(0, no, 2):
            i1 = min(i0 + 1, no - 1)
            wr, wq = W[i0], W[i1]
            a0, a1, a2, a3 = zero, zero, zero, zero
            e0, e1, e2, e3 = zero, zero, zero, zero
            for j in range(ni):
                w, x = wr[j], wq[j]
                a0 += h0[j] * w
                a1 += h1[j] * w
                a2 += h2[j] * w
                a3 += h3[j] * w
                e0 += h0[j] * x
                e1 += h1[j] * x
                e2 += h2[j] * x
                e3 += h3[j] * x
            for i, acc in ((i0, (a0, a1, a2, a3)), (i1, (e0, e1, e2, e3))):
                if has_bias:
                    c = bias[i]
                    for k in range(4):
                        Y[b + k, y0 + i] = acc[k] * s + c
                else:
                    for k in range(4):
                        Y[b + k, y0 + i] = acc[k] * s
        b += 4
    while b < B:
        h0 = X[b, x0:x0 + ni]
        for i0 in range(0, no, 2):
            i1 = min(i0 + 1, no - 1)
            wr, wq = W[i0], W[i1]
            a0, e0 = zero, zero
            for j in range(ni):
                a0 += h0[j] * wr[j]
                e0 += h0[j] * wq[j]
            if has_bias:
                Y[b, y0 + i0] = a0 * s + bias[i0]
                Y[b, y0 + i1] = e0 * s + bias[i1]
            else:
                Y[b, y0 + i0] = a0 * s
                Y[b, y0 + i1] = e0 * s
        b += 1


@kernel(inline=True)
def back_rows(W, D, Dn, B, i, R):
    """Dn[b, j] += sum_{r < R} W[i + r, j] D[b, i + r] for b < B, j < ni: W^T delta accumulated over the rows
    i..i+R-1 (R = 4 or 1; four rows per pass, so that a row of Dn is loaded and stored once per four)."""
    ni = W.shape[1]
    w0 = W[i]
    if R == 4:
        w1, w2, w3 = W[i + 1], W[i + 2], W[i + 3]
        for b in range(B):
            e0, e1, e2, e3 = D[b, i], D[b, i + 1], D[b, i + 2], D[b, i + 3]
            dn = Dn[b, 0:ni]
            for j in range(ni):
                dn[j] = dn[j] + w0[j] * e0 + w1[j] * e1 + w2[j] * e2 + w3[j] * e3
    else:
        for b in range(B):
            e0 = D[b, i]
            dn = Dn[b, 0:ni]
            for j in range(ni):
                dn[j] = dn[j] + w0[j] * e0


@kernel(inline=True)
def grad_row(dst, update, s, r, D, i, B, X, x0, G):
    """Row i of the weight gradient g_j = s sum_b D[b, i] X[b, x0 + j] (images summed in order, four per pass),
    written dst[j] = g_j, or with the update dst[j] -= r g_j (the expression of
    :func:`asymexp.nn.generic_kernel.sgd_update`). dst (ni,) the row in grad or theta; G (>= ni,) scratch."""
    ni = dst.shape[0]
    nq = B // 4
    for q in range(nq):
        b = 4 * q
        e0, e1, e2, e3 = D[b, i], D[b + 1, i], D[b + 2, i], D[b + 3, i]
        t0 = X[b, x0:x0 + ni]
        t1 = X[b + 1, x0:x0 + ni]
        t2 = X[b + 2, x0:x0 + ni]
        t3 = X[b + 3, x0:x0 + ni]
        if q == 0:
            for j in range(ni):
                G[j] = e0 * t0[j] + e1 * t1[j] + e2 * t2[j] + e3 * t3[j]
        else:
            for j in range(ni):
                G[j] = G[j] + (e0 * t0[j] + e1 * t1[j] + e2 * t2[j] + e3 * t3[j])
    b1 = 4 * nq
    if nq == 0:
        e0 = D[0, i]
        t0 = X[0, x0:x0 + ni]
        for j in range(ni):
            G[j] = e0 * t0[j]
        b1 = 1
    for b in range(b1, B):
        e0 = D[b, i]
        t0 = X[b, x0:x0 + ni]
        for j in range(ni):
            G[j] = G[j] + e0 * t0[j]
    if update:
        for j in range(ni):
            dst[j] -= r * (G[j] * s)
    else:
        for j in range(ni):
            dst[j] = G[j] * s


@kernel(inline=True)
def backward(W, s, D, X, x0, B, dst, bdst, update, r, G, Dn, back):
    """Backward pass of one layer, W (no, ni), from D (>= B, >= no) = dLoss/d(pre-activation) of its outputs.

    back: first Dn[b, :ni] = W^T D[b, :no] (Dn (>= B, >= ni), overwritten). Then, row by row right after the
    row has served W^T delta, the gradient of W (inputs X[b, x0:x0+ni]) via :func:`grad_row` into dst (no, ni)
    (grad, or theta with ``update``: W itself), and the bias gradient sum_b D[b, i] into bdst (no,) (empty: no
    bias), written or (update) applied as bdst[i] -= r sum. G (>= ni,) scratch."""
    no, ni = W.shape[0], W.shape[1]
    has_bias = bdst.shape[0] > 0
    if back:
        for b in range(B):
            dn = Dn[b, 0:ni]
            for j in range(ni):
                dn[j] = 0.0
    i = 0
    while i < no:
        R = 4 if i + 4 <= no else 1
        if back:
            back_rows(W, D, Dn, B, i, R)
        for q in range(i, i + R):
            grad_row(dst[q], update, s, r, D, q, B, X, x0, G)
            if has_bias:
                acc = D[0, q]
                for b in range(1, B):
                    acc += D[b, q]
                if update:
                    bdst[q] -= r * acc
                else:
                    bdst[q] = acc
        i += R


@kernel(inline=True)
def delta_below(Dn, X, x0, n, B, s, kind, D):
    """D[b, j] = Dn[b, j] s sigma'(from X[b, x0 + j]) for b < B, j < n: the delta of the layer below, whose
    activations X[b, x0:x0+n] = sigma(z) fed this layer (sigma' from h = sigma(z), :func:`dact_from_h`; the
    codes without such a form, gelu and sin, use :func:`delta_below_z`, and here give NaN)."""
    one = D.dtype.type(1.0)
    for b in range(B):
        dn = Dn[b, 0:n]
        h = X[b, x0:x0 + n]
        d = D[b, 0:n]
        if kind == Act.SIGMOID:
            for j in range(n):
                d[j] = dn[j] * s * dact_from_h(h[j], Act.SIGMOID, one)
        elif kind == Act.TANH:
            for j in range(n):
                d[j] = dn[j] * s * dact_from_h(h[j], Act.TANH, one)
        else:
            for j in range(n):
                d[j] = dn[j] * s * dact_from_h(h[j], kind, one)


@kernel(inline=True)
def delta_below_z(Dn, Zs, x0, n, B, s, kind, D):
    """:func:`delta_below` from the kept pre-activations Zs[b, x0:x0+n] (:func:`keep_preactivations`) instead of
    the activations: D[b, j] = Dn[b, j] s sigma'(Zs[b, x0 + j]) (:func:`dact_z`, gelu and sin)."""
    one = D.dtype.type(1.0)
    for b in range(B):
        dn = Dn[b, 0:n]
        z = Zs[b, x0:x0 + n]
        d = D[b, 0:n]
        if kind == Act.GELU:
            for j in range(n):
                d[j] = dn[j] * s * dact_z(z[j], Act.GELU, one)
        else:
            for j in range(n):
                d[j] = dn[j] * s * dact_z(z[j], kind, one)
