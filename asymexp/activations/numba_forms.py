"""The Numba forms of the activations (codes :class:`asymexp.kernel_codes.Act`), inlined into every kernel.

Three forms of sigma, each with a reason to exist:

- :func:`act_plain`: libm's exp/tanh/sin/erfc, no thresholds; the generic reference core
  (:mod:`asymexp.nn.generic_kernel`).
- :func:`act_vec`: the branch-free float64 :func:`asymexp.floatmath.sigmoid` / ``tanh`` (vectorizable, a few ulp
  from libm); the simulators' fast kernels. Compile callers without fast-math.
- :func:`act`: libm in the arrays' dtype with flush-to-zero thresholds for the sigmoid and Eigen's rational tanh
  in float32; the MNIST trainer (see its docstring for why). Its float32 sigmoid over a row is
  :func:`sigmoid_row_f32`: the same thresholds and formula with :func:`asymexp.floatmath.expf_fma` in place of
  libm's expf (the same bits as glibc's FMA expf, vectorized).

:func:`dact_from_h` is sigma' written through h = sigma(z), which is what the backward passes keep; it exists for
sigmoid, tanh, relu (the step h > 0) and the identity, not for sin (cos z is not a function of sin z) nor gelu
(not monotone: two pre-activations share one value). For those the backward passes keep the pre-activation and
call :func:`dact` (float64) or :func:`dact_z` (the arrays' dtype); the registry says which
(:attr:`asymexp.activations.Activation.needs_preactivation`). relu, identity, sin and gelu are plain libm/branch
forms in every variant (none of them underflows into subnormals the way the sigmoid's tail does).

Every chain tests every code explicitly; an unknown code gives NaN in the result's dtype (never another
activation's value), so a kernel handed a code it does not know produces NaN outputs instead of silently training
a different network. The codes are compile-time constants in the hot loops (the kernels branch once per row),
so the extra tests cost nothing there.
"""
from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

from asymexp.activations import ACTIVATIONS
from asymexp.floatmath import expf_fma, sigmoid, tanh, tanh_rational
from asymexp.jit import kernel
from asymexp.kernel_codes import Act

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
#: The codes whose sigma' is not a function of sigma (the registry's ``needs_preactivation``): gelu, sin.
PREACTIVATION_CODES = tuple(int(a.code) for a in ACTIVATIONS.values() if a.needs_preactivation)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def like(one, x):
    """x (a float64 constant) in the dtype of the scalar ``one`` (Python side: the same)."""
    return type(one)(x)


@overload(like, inline="always")
def _like(one, x):
    if isinstance(one, types.Float) and one.bitwidth == 32:
        return lambda one, x: np.float32(x)
    return lambda one, x: np.float64(x)


@kernel(inline=True)
def act_plain(z, kind):
    """sigma(z) from libm: 1 / (1 + exp(-z)), tanh(z), max(z, 0), z, sin(z) or z Phi(z) = z erfc(-z/sqrt 2) / 2."""
    if kind == Act.SIGMOID:
        return 1.0 / (1.0 + np.exp(-z))
    if kind == Act.TANH:
        return np.tanh(z)
    if kind == Act.RELU:
        return z if z > 0.0 else 0.0 * z
    if kind == Act.IDENTITY:
        return z
    if kind == Act.SIN:
        return np.sin(z)
    if kind == Act.GELU:
        return 0.5 * z * math.erfc(-z * _INV_SQRT2)
    return z * np.float32(np.nan)


@kernel(inline=True, numpy_errors=True)
def act_vec(z, kind):
    """sigma(z) in float64 from :mod:`asymexp.floatmath` (branch-free, vectorizable)."""
    if kind == Act.SIGMOID:
        return sigmoid(z)
    if kind == Act.TANH:
        return tanh(z)
    if kind == Act.RELU:
        return z if z > 0.0 else 0.0 * z
    if kind == Act.IDENTITY:
        return z
    if kind == Act.SIN:
        return np.sin(z)
    if kind == Act.GELU:
        return 0.5 * z * math.erfc(-z * _INV_SQRT2)
    return z * np.float32(np.nan)


@kernel(inline=True)
def zlo(a):
    """The sigmoid's flush-to-zero threshold for the dtype of array ``a`` (see :func:`act`)."""
    return -46.0 if a.dtype.type(1e-50) == 0 else -460.0


@kernel(inline=True)
def act(z, kind, one, lo):
    """sigma(z) in the dtype of ``one`` (1 in the arrays' dtype), from libm.

    Sigmoid: 1 for z > 40 (exact: 1/(1 + e^-40) rounds to 1 in float32 and float64), and 0 where sigma(z)
    < ~1e-20 (z < -46; float64: z < -460). Those values, and exp(-z) near overflow, are or create subnormal
    numbers in the products of the backward pass, which slow the CPU down by orders of magnitude; their
    contribution to any sum or update is far below the dtype's rounding (float32 eps = 6e-8 next to O(1)
    weights). ``lo`` = -46 for float32, -460 for float64 (:func:`zlo`). tanh: :func:`tanh_rational` in float32,
    libm's in float64. gelu: z erfc(-z / sqrt 2) / 2 in the dtype (erfcf in float32)."""
    if kind == Act.SIGMOID:
        if z > 40.0:
            return one
        if z < lo:
            return one * 0
        return one / (one + np.exp(-z))
    if kind == Act.TANH:
        if lo == -46.0:  # float32
            return tanh_rational(z)
        return np.tanh(z)
    if kind == Act.RELU:
        return z if z > 0 else one * 0
    if kind == Act.IDENTITY:
        return z
    if kind == Act.SIN:
        return np.sin(z)
    if kind == Act.GELU:
        return like(one, 0.5) * z * math.erfc(-(z * like(one, _INV_SQRT2)))
    return one * np.float32(np.nan)


@kernel(inline=True)
def dact_from_h(h, kind, one):
    """sigma'(z) through h = sigma(z): h (1 - h) for the sigmoid, 1 - h^2 for tanh, the step h > 0 for relu, 1 for
    the identity (``one``: 1 in h's dtype). Not defined for sin and gelu (see the module docstring), nor for an
    unknown code: NaN in one's dtype."""
    if kind == Act.SIGMOID:
        return h * (one - h)
    if kind == Act.TANH:
        return one - h * h
    if kind == Act.RELU:
        return one if h > 0 else one - one   # stays in one's dtype (an int product would promote float32)
    if kind == Act.IDENTITY:
        return one
    return one * np.float32(np.nan)   # NaN in one's dtype (float32 * float32 stays float32)


@kernel(inline=True)
def dact(z, kind):
    """sigma'(z) from the pre-activation z (float64), for every code: the step z > 0 for relu, cos z for sin,
    Phi(z) + z phi(z) for gelu; NaN for an unknown code."""
    if kind == Act.SIGMOID:
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s)
    if kind == Act.TANH:
        t = np.tanh(z)
        return 1.0 - t * t
    if kind == Act.RELU:
        return 1.0 if z > 0.0 else 0.0
    if kind == Act.IDENTITY:
        return 1.0
    if kind == Act.SIN:
        return np.cos(z)
    if kind == Act.GELU:
        return 0.5 * math.erfc(-z * _INV_SQRT2) + z * (_INV_SQRT_2PI * math.exp(-0.5 * z * z))
    return z * np.float32(np.nan)


@kernel(inline=True)
def keeps_preactivation(kind):
    """Whether the backward pass of code ``kind`` needs the pre-activation z (:data:`PREACTIVATION_CODES`, from the
    registry), because sigma' is not a function of sigma."""
    for code in PREACTIVATION_CODES:
        if kind == code:
            return True
    return False


@kernel(inline=True)
def dact_z(z, kind, one):
    """sigma'(z) from the pre-activation z in one's dtype (the trainer's float32 or float64): the codes whose
    backward pass keeps z (sin: cos z; gelu: Phi(z) + z phi(z)); NaN for every other code (they use
    :func:`dact_from_h`)."""
    if kind == Act.SIN:
        return np.cos(z)
    if kind == Act.GELU:
        half = like(one, 0.5)
        return half * math.erfc(-(z * like(one, _INV_SQRT2))) + z * (like(one, _INV_SQRT_2PI) * math.exp(-(half * z * z)))
    return one * np.float32(np.nan)


@kernel(numpy_errors=True)
def sigmoid_row_f32(row):
    """row[k] <- sigma(row[k]) in place for a float32 row (n,): :func:`act`'s float32 sigmoid (1 above z = 40,
    0 below -46, else 1 / (1 + exp(-z)) in float32) with exp from :func:`asymexp.floatmath.expf_fma`, so the
    values are bit for bit those of :func:`act` where libm is glibc's FMA expf (NaN stays NaN, its payload
    aside), on every machine. Not inlined and compiled without fast-math: the exp's range reduction needs exact
    IEEE rounding, and the loop vectorizes (no libm call, no branch, no division check)."""
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for k in range(row.shape[0]):
        z = row[k]
        h = one / (one + np.float32(expf_fma(-z)))
        h = one if z > 40.0 else h
        row[k] = zero if z < -46.0 else h
