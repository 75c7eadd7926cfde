"""Float64 math library for the Numba kernels: exp-based tanh and sigmoid from plain arithmetic, and fma.

No libm call and no branch, so LLVM vectorizes loops that call them; every combination step is an IEEE-754
fused multiply-add (correctly rounded), so the same bits come out on every machine. Compile callers *without*
fastmath: the range reduction relies on exact rounding. Accuracy: tanh within ~2 ulp, sigmoid within a few ulp
(tests/test_sim_engine.py). The activations built on these are in :mod:`asymexp.activations.numba_forms`.
"""
from __future__ import annotations

import math

import numpy as np

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from asymexp.jit import kernel

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
def fma(typingctx, a, b, c):
    """a * b + c with a single rounding (llvm.fma.f64: IEEE-754 fused multiply-add, correctly rounded, so
    the same bits on every machine; a hardware instruction where the CPU has FMA)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(args[0], args[1], args[2])
    return sig, codegen


@kernel(inline=True)
def _reduce(x):
    """(k as float, the shifted float whose low bits hold k, r) with x = k ln2 + r; needs |x| < 2^20."""
    t = x * _INV_LN2 + _SHIFTER
    kf = t - _SHIFTER
    r = (x - kf * _LN2_HI) - kf * _LN2_LO
    return t, r


@kernel(inline=True)
def _expm1_reduced(r):
    q = fma(_Q9, r, _Q8)
    q = fma(q, r, _Q7)
    q = fma(q, r, _Q6)
    q = fma(q, r, _Q5)
    q = fma(q, r, _Q4)
    q = fma(q, r, _Q3)
    q = fma(q, r, _Q2)
    q = fma(q, r, _Q1)
    q = fma(q, r, _Q0)
    return fma(r * r, q, r)


@kernel(inline=True)
def _pow2(t, bias):
    """2^(k + bias - 1023) as float64 from the shifted t of :func:`_reduce` (exponent field k + bias)."""
    return _bits_f64((_f64_bits(t) - _SHIFTER_BITS + bias) << 52)


@kernel(inline=True, numpy_errors=True)
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
    e = fma(sc, p, sc - 1.0)
    E = fma(sc, p, sc)
    num = -e if small else 2.0 * E
    den = 2.0 + e if small else 1.0 + E
    q = num / den
    h = q if small else 1.0 - q
    return math.copysign(h, z)


@kernel(inline=True, numpy_errors=True)
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

@kernel(inline=True)
def tanh_rational(z):
    """tanh for float32 runs: Eigen's rational approximation (``generic_fast_tanh_float``), within 6 float32
    ulp of tanh (checked in tests/test_mnist_kernels.py) and about 4x faster than libm's tanhf here (no SVML)."""
    x = min(max(z, -7.90531110763549805), 7.90531110763549805)
    if abs(x) < 0.0004:
        return x
    x2 = x * x
    p = -2.76076847742355e-16
    p = p * x2 + 2.00018790482477e-13
    p = p * x2 - 8.60467152213735e-11
    p = p * x2 + 5.12229709037114e-08
    p = p * x2 + 1.48572235717979e-05
    p = p * x2 + 6.37261928875436e-04
    p = p * x2 + 4.89352455891786e-03
    q = 1.19825839466702e-06
    q = q * x2 + 1.18534705686654e-04
    q = q * x2 + 2.26843463243900e-03
    q = q * x2 + 4.89352518554385e-03
    return x * p / q


# ---------------------------------------------------------------------------------------------------------
# float32 exp with the bits of glibc's expf (x86-64, FMA build), vectorizable
#
# glibc (>= 2.28) computes expf in double: with N = 32, z = x N / ln 2 = k + r (k the nearest integer, by the
# 1.5 * 2^52 shifter), exp(x) = 2^(k/N) 2^(r/N) ~= s (C0 r^3 + C1 r^2 + C2 r + 1), s = 2^(k/N) built from a
# 32-entry table of 2^(j/N) and the exponent bits of k; the result is rounded once to float32. Its x86-64 FMA
# variant (chosen on CPUs with FMA) fuses four of the multiply-adds; :func:`expf_fma` does the same operations
# with the same constants, so it returns the same bits wherever glibc picks that variant, and, being plain
# correctly rounded arithmetic, the same bits on every machine. Checked on all 2.2e9 float32 with |x| <= 46
# against glibc 2.36 (docs/mnist.md, "What runs fast, and why it is exact"); tests/test_floatmath_expf.py checks
# the table and the accuracy (<= 1 ulp) against exact arithmetic. The table is read through a tree of selects
# on the five low bits of k, not a memory load: a load at a computed index needs a gather, and LLVM declines to
# vectorize the loop then.
# ---------------------------------------------------------------------------------------------------------

_EXPF_INV_LN2_N = float.fromhex("0x1.71547652b82fep+5")   # N / ln 2 rounded to double
_EXPF_C0 = float.fromhex("0x1.c6af84b912394p-20")         # the cubic's coefficients for 2^(r/N), r in [-1/2, 1/2]
_EXPF_C1 = float.fromhex("0x1.ebfce50fac4f3p-13")         # (glibc's poly_scaled: a minimax fit, divided by
_EXPF_C2 = float.fromhex("0x1.62e42ff0c52d6p-6")          # N^3, N^2, N)


def _exp2_table_entry(j: int, n: int = 32) -> int:
    """bits(2^(j/n) correctly rounded to double) - (j << (52 - 5)): the table entry for j, by exact integer
    arithmetic (2^(j/n) is in [1, 2), so its double is m 2^-52 with m the rounded n-th root of 2^(52 n + j))."""
    target = 1 << (52 * n + j)
    m = 1 << 52
    for step in range(51, -1, -1):           # floor of the n-th root, bit by bit below the leading one
        if (m | (1 << step)) ** n <= target:
            m |= 1 << step
    if (2 * m + 1) ** n <= target << n:      # (m + 1/2)^n <= 2^(52n+j): round up (the tie cannot occur)
        m += 1
    return ((1023 << 52) | (m - (1 << 52))) - (j << 47)


_EXP2F_TAB = tuple(_exp2_table_entry(j) for j in range(32))


@kernel(inline=True)
def _exp2f_table(k):
    """_EXP2F_TAB[k & 31] by a tree of selects on the five low bits of k (branch-free, vectorizable)."""
    T = _EXP2F_TAB
    b = (k & 1) != 0
    a0, a1, a2, a3 = (T[1] if b else T[0]), (T[3] if b else T[2]), (T[5] if b else T[4]), (T[7] if b else T[6])
    a4, a5, a6, a7 = (T[9] if b else T[8]), (T[11] if b else T[10]), (T[13] if b else T[12]), (T[15] if b else T[14])
    a8, a9, a10, a11 = (T[17] if b else T[16]), (T[19] if b else T[18]), (T[21] if b else T[20]), (T[23] if b else T[22])
    a12, a13, a14, a15 = (T[25] if b else T[24]), (T[27] if b else T[26]), (T[29] if b else T[28]), (T[31] if b else T[30])
    b = (k & 2) != 0
    c0, c1, c2, c3 = (a1 if b else a0), (a3 if b else a2), (a5 if b else a4), (a7 if b else a6)
    c4, c5, c6, c7 = (a9 if b else a8), (a11 if b else a10), (a13 if b else a12), (a15 if b else a14)
    b = (k & 4) != 0
    d0, d1, d2, d3 = (c1 if b else c0), (c3 if b else c2), (c5 if b else c4), (c7 if b else c6)
    b = (k & 8) != 0
    e0, e1 = (d1 if b else d0), (d3 if b else d2)
    return e1 if (k & 16) != 0 else e0


@kernel(inline=True, numpy_errors=True)
def expf_fma(x):
    """exp(x) for a float32 x, as glibc's expf computes it (see above), returned as the float64 before the final
    rounding: ``np.float32(expf_fma(x))`` has glibc's bits. Valid for |x| <= 87 (glibc's special cases, overflow,
    underflow and NaN handling beyond that, are not reproduced; NaN in gives NaN out)."""
    xd = np.float64(x)
    kd = fma(_EXPF_INV_LN2_N, xd, _SHIFTER)
    ki = _f64_bits(kd)
    kd = kd - _SHIFTER
    r = fma(_EXPF_INV_LN2_N, xd, -kd)
    s = _bits_f64(_exp2f_table(ki) + (ki << 47))
    y = fma(_EXPF_C2, r, 1.0)
    y = fma(fma(_EXPF_C0, r, _EXPF_C1), r * r, y)
    return y * s
