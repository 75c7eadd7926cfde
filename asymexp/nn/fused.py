"""A fused forward/backward kernel for the one-hidden-layer network without biases (THEORY.md section 3).

Same signatures, layout and maths as :func:`asymexp.nn.kernels.forward` / ``backward`` restricted to
L = 1, no biases, one output: ``theta`` holds W1 (N, d) row-major at ``table[0, W_OFF]`` and C (1, N) at
``table[1, W_OFF]``; ``scales[1] = N^-gamma``. Instead of BLAS calls on tiny matrices (d = 3, a few points) it
works point by point with the loops innermost over the units on contiguous memory, so that LLVM vectorizes
them, and evaluates the activation with the branch-free float64 :func:`tanh` / :func:`sigmoid` below (plain
arithmetic, vectorizable, a few ulp from the libm functions) instead of scalar libm calls. It equals the
generic core to rounding (tests/test_sim_engine.py); the simulators use it when the network qualifies.
Everything is per call and sequential: the results do not depend on threads.

Shapes: X (B, d), Z and H (N, B) workspaces (Z is left untouched: the backward pass needs only H),
out and dout (1, B), grad (P,).
"""
from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


def qualifies(layout, output_dim: int = 1) -> bool:
    """True when the fused kernel applies: one hidden layer, no biases, one output."""
    return layout.table.shape[0] == 2 and layout.table[0, 1] < 0 and layout.table[1, 1] < 0 and output_dim == 1


# ---------------------------------------------------------------------------------------------------------
# exp / expm1 / tanh / sigmoid in float64 from arithmetic only (no libm call, no branch: LLVM vectorizes them)
#
# Range reduction (Cody-Waite): x = k ln2 + r with k = nearest integer to x / ln2 (by the 1.5 * 2^52 shifter,
# exact round-to-nearest), r = (x - k LN2_HI) - k LN2_LO, |r| <= ln2 / 2 (+ rounding). LN2_HI has its 21 low bits
# zero, so k LN2_HI is exact for |k| < 2^21 and x - k LN2_HI is exact (Sterbenz); the only rounding is the final
# subtraction (<= 0.5 ulp of r). expm1(r) = r + r^2 q(r), q(r) = sum_j Q_j r^j of degree 9 a Chebyshev fit
# (mpmath.chebyfit at 40 digits, then rounded to float64) of (e^r - 1 - r) / r^2 on |r| <= ln2 / 2 + 1e-6: the
# approximation error r^2 |q - (e^r - 1 - r) / r^2| is < 4.1e-17 relative to expm1(r) (< 0.2 ulp; checked on
# 801 points with the rounded coefficients against mpmath). The polynomial and the final combinations use
# llvm.fma (correctly rounded, hence the same bits everywhere; no fastmath anywhere). 2^k is built from its
# bits: the shifter's low mantissa bits hold k.
# ---------------------------------------------------------------------------------------------------------

_SHIFTER = 6755399441055744.0            # 1.5 * 2^52
_INV_LN2 = 1.4426950408889634            # 1 / ln 2
_LN2_HI = 6.93147180369123816490e-01     # 0x3fe62e42fee00000
_LN2_LO = 1.90821492927058770002e-10     # ln 2 - LN2_HI
_SHIFTER_BITS = 0x4338000000000000       # bits of _SHIFTER
_Q9 = 2.510037611136142e-08
_Q8 = 2.7620076242527254e-07
_Q7 = 2.7557268479724004e-06
_Q6 = 2.4801521321606647e-05
_Q5 = 0.00019841269863040922
_Q4 = 0.0013888888917197209
_Q3 = 0.008333333333330065
_Q2 = 0.041666666666624164
_Q1 = 0.16666666666666669
_Q0 = 0.5000000000000001


@intrinsic
def _f64_bits(typingctx, x):
    """The IEEE-754 bits of a float64, as int64 (an LLVM bitcast)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return sig, codegen


@intrinsic
def _bits_f64(typingctx, x):
    """The float64 whose IEEE-754 bits are the int64 x (an LLVM bitcast)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return sig, codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c with a single rounding (llvm.fma.f64: IEEE-754 fused multiply-add, correctly rounded, so
    the same bits on every machine; a hardware instruction where the CPU has FMA)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(args[0], args[1], args[2])
    return sig, codegen


@njit(cache=True, inline="always")
def _reduce(x):
    """(k as float, the shifted float whose low bits hold k, r) with x = k ln2 + r; needs |x| < 2^20."""
    t = x * _INV_LN2 + _SHIFTER
    kf = t - _SHIFTER
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    return t, r


@njit(cache=True, inline="always")
def _expm1_reduced(r):
    q = _fma(_Q9, r, _Q8)
    q = _fma(q, r, _Q7)
    q = _fma(q, r, _Q6)
    q = _fma(q, r, _Q5)
    q = _fma(q, r, _Q4)
    q = _fma(q, r, _Q3)
    q = _fma(q, r, _Q2)
    q = _fma(q, r, _Q1)
    q = _fma(q, r, _Q0)
    return _fma(r * r, q, r)


@njit(cache=True, inline="always")
def _pow2(t, bias):
    """2^(k + bias - 1023) as float64 from the shifted t of :func:`_reduce` (exponent field k + bias)."""
    return _bits_f64((_f64_bits(t) - _SHIFTER_BITS + bias) << 52)


@njit(cache=True, inline="always", error_model="numpy")
def tanh(z):
    """tanh(z) in float64, within ~2 ulp (tests/test_sim_engine.py), exact at 0, +-1 for |z| >= 20, NaN kept.

    With a = |z|, e = expm1(-2a) in (-1, 0] and E = exp(-2a) = 1 + e (both from the same reduction, each with
    relative error ~1 ulp: e = (2^k - 1) + 2^k p, E = 2^k + 2^k p, one rounding each):
    for a < 1, tanh a = -e / (2 + e) (2 + e in [1.13, 2]: no cancellation; relative error = that of e plus two
    roundings); for a >= 1, tanh a = 1 - 2E / (1 + E), where 2E / (1 + E) <= 0.24 so its error is damped and
    the result is nearly correctly rounded, which keeps 1 - tanh^2 (the derivative) accurate near +-1.
    For |z| >= 20 the result rounds to 1 (exactly like tanh(20) = 1 - 8.5e-18), so a is clamped at 20 (keeps
    k in range; NaN passes the clamp). One division either way: the branches are selects."""
    a = abs(z)
    a = 20.0 if a > 20.0 else a
    x = -2.0 * a
    t, r = _reduce(x)
    p = _expm1_reduced(r)
    sc = _pow2(t, 1023)
    small = a < 1.0
    e = _fma(sc, p, sc - 1.0)
    E = _fma(sc, p, sc)
    num = -e if small else 2.0 * E
    den = 2.0 + e if small else 1.0 + E
    q = num / den
    h = q if small else 1.0 - q
    return math.copysign(h, z)


@njit(cache=True, inline="always", error_model="numpy")
def sigmoid(z):
    """1 / (1 + exp(-z)) in float64, within a few ulp (tests/test_sim_engine.py); NaN kept.

    With E = exp(-|z|) in (0, 1] (relative error ~1 ulp): 1 / (1 + E) for z >= 0, E / (1 + E) for z < 0.
    For z >= 40 the result rounds to 1 (E < 2^-57); |z| is clamped at 750 (exp(-750) underflows to 0 as
    does the result, like 1 / (1 + inf)); 2^k is applied in two halves so that subnormal results are right."""
    a = abs(z)
    a = 750.0 if a > 750.0 else a
    t, r = _reduce(-a)
    p = _expm1_reduced(r)
    k = _f64_bits(t) - _SHIFTER_BITS
    k1 = k >> 1
    s1 = _bits_f64((k1 + 1023) << 52)
    s2 = _bits_f64((k - k1 + 1023) << 52)
    E = ((1.0 + p) * s1) * s2
    g = 1.0 / (1.0 + E)
    return g if z >= 0.0 else E * g


# ---------------------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, inline="always")
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


@njit(cache=True, error_model="numpy")
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
        if kind == 0:
            for i in range(n):
                A[i] = sigmoid(A[i])
        else:
            for i in range(n):
                A[i] = tanh(A[i])
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


@njit(cache=True, error_model="numpy")
def backward(theta, table, scales, kind, X, H, dout, grad):
    """grad <- dLoss/dtheta from H and dout (1, B): dC_i = s sum_b dout_b H_ib,
    dW_ik = s C_i sum_b dout_b sigma'_ib X_bk (sums over b in order, as the generic core's loops)."""
    _backward(theta, table, scales, kind, X, H, dout, grad, scales, False)


@njit(cache=True, error_model="numpy")
def backward_update(theta, table, scales, kind, X, H, dout, grad, rates):
    """:func:`backward` then ``asymexp.nn.kernels.sgd_update(theta, grad, table, rates)``, bit for bit, with
    the update applied where the gradient is finished instead of in a second pass (grad (P,) is scratch)."""
    _backward(theta, table, scales, kind, X, H, dout, grad, rates, True)


@njit(cache=True, error_model="numpy", inline="always")
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
            if kind == 0:
                for i in range(n):
                    h = Hb[i]
                    gC[i] += e * h
                    f = s * C[i] * e * (h * (1.0 - h))
                    G[i] += f * x0
                    G[n + i] += f * x1
                    G[2 * n + i] += f * x2
            else:
                for i in range(n):
                    h = Hb[i]
                    gC[i] += e * h
                    f = s * C[i] * e * (1.0 - h * h)
                    G[i] += f * x0
                    G[n + i] += f * x1
                    G[2 * n + i] += f * x2
        else:
            F = np.empty(n)
            if kind == 0:
                for i in range(n):
                    h = Hb[i]
                    gC[i] += e * h
                    F[i] = s * C[i] * e * (h * (1.0 - h))
            else:
                for i in range(n):
                    h = Hb[i]
                    gC[i] += e * h
                    F[i] = s * C[i] * e * (1.0 - h * h)
            for k in range(d):
                xk = X[b, k]
                for i in range(n):
                    G[k * n + i] += F[i] * xk
    if update:                      # the expressions of kernels.sgd_update: theta -= r * grad
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
