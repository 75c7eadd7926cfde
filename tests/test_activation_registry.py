"""Every registered activation through every form, against its NumPy definition (docs/theory/1-network.md).

The registry is iterated (no literal tuple of names): a new activation is tested as soon as it is registered.
Tolerances come from rounding: k ulp of the dtype times a scale, with k counted from the operations of each form
(libm functions are within a few ulp; the float32 forms round every step to float32 eps = 1.2e-7).
"""
import math

import numpy as np
import pytest

from asymexp.activations import ACTIVATIONS, EXPANDABLE, FACTS, TRAINER_ACTIVATIONS, get
from asymexp.activations.numba_forms import act, act_plain, act_vec, dact, dact_from_h, dact_z
from asymexp.jit import kernel
from asymexp.kernel_codes import Act
from asymexp.nn import dense

EPS64 = np.finfo(np.float64).eps
EPS32 = float(np.finfo(np.float32).eps)
ALL = sorted(ACTIVATIONS)
UNKNOWN = max(int(c) for c in Act) + 1
Z = np.concatenate([np.linspace(-6.0, 6.0, 49), [-0.37, 0.0, 1e-3, 2.5]])


def _away_from_kink(name, z):
    """relu's derivative is a step: keep the points off its kink for the slope checks."""
    return z[np.abs(z) > 1e-2] if not get(name).smooth else z


@kernel()
def _scalar_forms(z, kind, out):
    for i in range(z.size):
        out[0, i] = act_plain(z[i], kind)
        out[1, i] = act_vec(z[i], kind)
        out[2, i] = act(z[i], kind, 1.0, -460.0)
        out[3, i] = dact(z[i], kind)
        out[4, i] = dact_from_h(act_plain(z[i], kind), kind, 1.0)
        out[5, i] = dact_z(z[i], kind, 1.0)


@kernel()
def _scalar_forms32(z, kind, out):
    one = np.float32(1.0)
    for i in range(z.size):
        h = act(z[i], kind, one, -46.0)
        out[0, i] = h
        out[1, i] = dact_from_h(np.float32(h), kind, one)
        out[2, i] = dact_z(z[i], kind, one)


def _scale(v):
    return np.maximum(1.0, np.abs(v))


def test_every_activation_exposes_every_fact():
    for act in ACTIVATIONS.values():
        for fact in FACTS:
            getattr(act, fact)
        assert act.derivative_in_value is None or not act.needs_preactivation
    assert set(EXPANDABLE) <= set(TRAINER_ACTIVATIONS) and "gelu" in EXPANDABLE
    assert [get(n).critical_weight_var for n in ("relu", "tanh", "identity")] == [2.0, 1.0, 1.0]
    assert {a.name for a in ACTIVATIONS.values() if a.closed_gaussian} == {"relu", "identity"}


@pytest.mark.parametrize("name", ALL)
def test_numpy_derivatives_are_slopes(name):
    """sigma^(k+1) against the central difference of sigma^(k), step h = 1e-5: error <= h^2 max|sigma^(k+3)| / 6
    + 2 eps max|sigma^(k)| / h ~ 4e-11 for these O(1)-bounded derivatives; bound 1e-8 leaves the |z| <= 6 growth
    of gelu's Hermite factors (He_5(6) ~ 5e3) room."""
    act = get(name)
    z = _away_from_kink(name, Z)
    order = act.max_order if act.smooth else 1
    order = min(order, 6)
    h = 1e-5
    up, down, mid = act.derivatives(z + h, order), act.derivatives(z - h, order), act.derivatives(z, order)
    for k in range(order):
        fd = (up[k] - down[k]) / (2 * h)
        assert np.max(np.abs(fd - mid[k + 1]) / _scale(mid[k + 1])) < 1e-8, (name, k)


@pytest.mark.parametrize("name", ALL)
def test_parity_fact_holds(name):
    act = get(name)
    if not act.smooth:
        return
    z = np.linspace(0.1, 4.0, 17)
    plus, minus = act.derivatives(z, act.max_order), act.derivatives(-z, act.max_order)
    for k in range(act.max_order + 1):
        p = act.parity.of(k)
        if p is not None:
            np.testing.assert_allclose(minus[k], p * plus[k], rtol=0, atol=16 * EPS64 * np.max(_scale(plus[k])))
    assert act.value(np.array(0.0)) == act.at_zero
    assert abs(act.derivative(np.array(0.0)) - act.slope_at_zero) <= EPS64


@pytest.mark.parametrize("name", ALL)
def test_numba_scalar_forms_match_numpy(name):
    """libm on both sides: act_plain, act_vec (floatmath, a few ulp from libm), act (float64), dact; dact_from_h
    where sigma' is a function of sigma, dact_z where it is not; otherwise NaN. 16 ulp of max(1, |value|)."""
    act = get(name)
    z = _away_from_kink(name, Z)
    out = np.empty((6, z.size))
    _scalar_forms(z, int(act.code), out)
    value, slope = act.value(z), act.derivative(z)
    tol = 16 * EPS64 * _scale(value)
    for row in range(3):
        assert np.all(np.abs(out[row] - value) <= tol), (name, row)
    assert np.all(np.abs(out[3] - slope) <= 16 * EPS64 * _scale(slope))
    if act.needs_preactivation:
        assert np.all(np.isnan(out[4]))
        assert np.all(np.abs(out[5] - slope) <= 16 * EPS64 * _scale(slope))
    else:
        assert np.all(np.abs(out[4] - slope) <= 16 * EPS64 * _scale(slope))


@pytest.mark.parametrize("name", ALL)
def test_numba_float32_forms_match_numpy(name):
    """The trainer's float32 forms: every step rounds to float32; tanh is Eigen's rational (a few ulp); the
    sigmoid flushes below z = -46 (not reached here). sigma' from h carries h's rounding through 1 - 2h: 8 ulp."""
    act = get(name)
    z = _away_from_kink(name, Z).astype(np.float32)
    out = np.empty((3, z.size), dtype=np.float64)
    _scalar_forms32(z, int(act.code), out)
    z64 = z.astype(np.float64)
    value, slope = act.value(z64), act.derivative(z64)
    assert np.all(np.abs(out[0] - value) <= 8 * EPS32 * _scale(value)), name
    if act.needs_preactivation:
        assert np.all(np.isnan(out[1]))
        assert np.all(np.abs(out[2] - slope) <= 8 * EPS32 * _scale(slope)), name
    else:
        assert np.all(np.abs(out[1] - slope) <= 8 * EPS32 * _scale(slope)), name


def test_unknown_code_gives_nan_not_tanh():
    out = np.empty((6, Z.size))
    _scalar_forms(Z, UNKNOWN, out)
    assert np.all(np.isnan(out))
    out32 = np.empty((3, Z.size))
    _scalar_forms32(Z.astype(np.float32), UNKNOWN, out32)
    assert np.all(np.isnan(out32))


@kernel()
def _rows(Y, kind, vec, Zk):
    if Zk.shape[0] > 0:
        dense.keep_preactivations(Y, 0, Y.shape[1], Y.shape[0], Zk)
    dense.activate(Y, 0, Y.shape[1], Y.shape[0], kind, vec)


@pytest.mark.parametrize("name", ALL + ["<unknown>"])
def test_row_forms_match_numpy(name):
    """nn/dense.py's row activations (vectorized float64 and libm float32/float64) against NumPy; an unknown code
    gives NaN rows."""
    code = UNKNOWN if name == "<unknown>" else int(get(name).code)
    z = _away_from_kink("relu", Z)
    for dtype, vec, ulp in ((np.float64, True, 16 * EPS64), (np.float64, False, 16 * EPS64),
                            (np.float32, False, 8 * EPS32)):
        Y = np.tile(z, (3, 1)).astype(dtype)
        Zk = np.empty((3, z.size), dtype=dtype)
        _rows(Y, code, vec, Zk)
        np.testing.assert_array_equal(Zk, np.tile(z, (3, 1)).astype(dtype))
        if name == "<unknown>":
            assert np.all(np.isnan(Y))
            continue
        value = get(name).value(z.astype(dtype).astype(np.float64))
        assert np.all(np.abs(Y - value) <= ulp * _scale(value)), (name, dtype, vec)


@kernel()
def _two_layer_grads(W1, W2, s1, s2, X, Yt, kind, from_z, gW1, gW2):
    """A jitted two-layer net on nn/dense.py's core (the trainer's forward and backward): out = s2 W2 sigma(s1 W1 x),
    loss 1/2 sum (out - y)^2; fills gW1, gW2 without updating. Returns the loss."""
    B, n0 = X.shape
    n1, n2 = W1.shape[0], W2.shape[0]
    H = np.empty((B, n1))
    Zk = np.empty((B, n1))
    out = np.empty((B, n2))
    none = W1[0, 0:0]
    dense.affine(W1, s1, none, X, 0, H, 0, B)
    dense.keep_preactivations(H, 0, n1, B, Zk)
    dense.activate(H, 0, n1, B, kind, False)
    dense.affine(W2, s2, none, H, 0, out, 0, B)
    D = out - Yt
    loss = 0.5 * np.sum(D * D)
    Dn = np.empty((B, max(n0, n1)))
    D1 = np.empty((B, n1))
    G = np.empty(max(n0, n1))
    dense.backward(W2, s2, D, H, 0, B, gW2, none, False, 0.0, G, Dn, True)
    if from_z:
        dense.delta_below_z(Dn, Zk, 0, n1, B, s2, kind, D1)
    else:
        dense.delta_below(Dn, H, 0, n1, B, s2, kind, D1)
    dense.backward(W1, s1, D1, X, 0, B, gW1, none, False, 0.0, G, Dn, False)
    return loss


@pytest.mark.parametrize("name", ALL)
def test_dense_backward_against_finite_differences(name):
    """The trainer core's gradients against central differences of the NumPy loss (step 1e-6, float64): error
    <= h^2 |loss'''| / 6 + eps |loss| / h ~ 1e-9 for this O(1) loss; bound 1e-7 relative to max(1, |g|). relu's
    kink: the seeded points stay > 1e-3 from it (checked)."""
    act = get(name)
    rng = np.random.default_rng(7)
    X, Yt = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    W1, W2 = rng.normal(size=(4, 3)), rng.normal(size=(2, 4))
    s1, s2 = 0.9, 0.5
    g1, g2 = np.empty_like(W1), np.empty_like(W2)
    _two_layer_grads(W1, W2, s1, s2, X, Yt, int(act.code), act.needs_preactivation, g1, g2)

    def loss(a, b):
        out = s2 * act.value(s1 * X @ a.T) @ b.T
        return 0.5 * np.sum((out - Yt) ** 2)

    assert np.min(np.abs(s1 * X @ W1.T)) > 1e-3
    h = 1e-6
    for W, g, which in ((W1, g1, 0), (W2, g2, 1)):
        fd = np.empty_like(W)
        for idx in np.ndindex(W.shape):
            up, down = W.copy(), W.copy()
            up[idx] += h
            down[idx] -= h
            args_up = (up, W2) if which == 0 else (W1, up)
            args_down = (down, W2) if which == 0 else (W1, down)
            fd[idx] = (loss(*args_up) - loss(*args_down)) / (2 * h)
        assert np.max(np.abs(fd - g) / _scale(g)) < 1e-7, (name, which)


@pytest.mark.parametrize("name", ALL)
def test_gaussian_kernels_against_monte_carlo(name):
    """pair_kernel against a seeded Monte Carlo mean of 400000 pairs: |difference| <= 5 standard errors + the
    kernel's own error bound (a false failure has probability ~ 6e-7 per check)."""
    from asymexp.activations.gaussian import pair_kernel

    act = get(name)
    q1, q2, c12 = 0.8, 1.7, 0.6
    rng = np.random.default_rng(11)
    n = 400_000
    z1, z2 = rng.normal(size=n), rng.normal(size=n)
    c = c12 / math.sqrt(q1 * q2)
    u, v = math.sqrt(q1) * z1, math.sqrt(q2) * (c * z1 + math.sqrt(1 - c * c) * z2)
    for derivative in (False, True):
        value, err = pair_kernel(name, q1, q2, c12, derivative)
        k = 1 if derivative else 0
        prod = act.derivatives(u, k)[k] * act.derivatives(v, k)[k]
        se = prod.std() / math.sqrt(n)
        assert abs(value - prod.mean()) <= 5 * se + err, (name, derivative, value, prod.mean(), se)
