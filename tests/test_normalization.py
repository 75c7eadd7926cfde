"""Normalization layers (asymexp.nn.normalization, asymexp.nn.norm_layer) against a plain NumPy transcription and
against finite differences of the batch function, over shapes and values drawn by hypothesis.

Statistical/numerical basis. Transcription: both sides compute the same three chained sums (mean, variance,
normalization) in possibly different orders; a length-n float64 sum has forward error <= n u sum|terms| (u = 2^-53,
Higham), so we allow 3 n u for each of the two sides, times the magnitudes involved. Gradients: the central
difference D(h) = (L(x + h v) - L(x - h v)) / 2h has truncation error c h^2 + O(h^4); Richardson's
|D(h) - D(2h)| / 3 estimates it, and rounding adds <= u sum|L terms| / h. We allow 10 times their sum (the
factor covers the O(h^4) term, which the estimate ignores). A wrong gradient (dropping one term of the backward
formula) fails the same check: that test is below too.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from asymexp.errors import AsymexpError
from asymexp.kernel_codes import Norm
from asymexp.norms import KINDS
from asymexp.nn import normalization as kern
from asymexp.nn.norm_layer import NormLayer, NormState, backward, block_backward, block_forward, forward

U = 2.0 ** -53
KIND_NAMES = list(KINDS)


def numpy_forward(X, gamma, beta, kind, eps):
    """The module docstring's formulas, transcribed: (Y, Xhat)."""
    axis = 1 if kind == "layer" else 0
    center, scale = kind != "scale-only", kind != "mean-only"
    m = X.mean(axis=axis, keepdims=True) if center else 0.0
    v = ((X - m) ** 2).mean(axis=axis, keepdims=True)
    Xhat = (X - m) / np.sqrt(v + eps) if scale else X - m
    return gamma * Xhat + beta, Xhat


def _spread_ok(X, kind):
    axis = 1 if kind == "layer" else 0
    if kind == "scale-only":
        return bool(np.all((X ** 2).mean(axis=axis) > 0.05))
    return bool(np.all(X.var(axis=axis) > 0.05))


@st.composite
def batches(draw, min_batch=2):
    B = draw(st.integers(min_batch, 6))
    F = draw(st.integers(2, 5))
    X = draw(arrays(np.float64, (B, F), elements=st.floats(-3, 3)))
    gamma = draw(arrays(np.float64, F, elements=st.floats(0.5, 2)))
    beta = draw(arrays(np.float64, F, elements=st.floats(-1, 1)))
    kind = draw(st.sampled_from(KIND_NAMES))
    eps = draw(st.sampled_from([0.0, 1e-5, 0.1]))
    return X, gamma, beta, kind, eps


def _check_directional(loss, grad, x, seed):
    """Central differences of loss along a random direction against <grad, v> (tolerance in the module docstring)."""
    v = np.random.default_rng(seed).standard_normal(x.shape)
    h = 1e-4

    def central(step):
        return (loss(x + step * v) - loss(x - step * v)) / (2 * step)

    d1, d2 = central(h), central(2 * h)
    scale = max(1.0, abs(loss(x)), float(np.sum(np.abs(x))))
    tol = 10 * (abs(d1 - d2) / 3 + 8 * U * scale * x.size / h)
    exact = float(np.sum(grad * v))
    assert abs(d1 - exact) <= tol, (d1, exact, tol)


@settings(max_examples=60, deadline=None)
@given(batches())
def test_train_forward_matches_numpy(case):
    X, gamma, beta, kind, eps = case
    assume(_spread_ok(X, kind))
    Y, Xhat, _, inv = kern.norm_forward(X, gamma, beta, int(KINDS[kind].code), eps)
    Y_ref, Xhat_ref = numpy_forward(X, gamma, beta, kind, eps)
    n = max(X.shape)
    tol = 6 * n * U * (1 + np.abs(X).max()) * max(1.0, inv.max()) ** 3
    assert np.max(np.abs(Xhat - Xhat_ref)) <= tol
    assert np.max(np.abs(Y - Y_ref)) <= tol * (1 + np.abs(gamma).max())


@settings(max_examples=60, deadline=None)
@given(batches(), st.integers(0, 2 ** 31))
def test_train_backward_is_the_gradient_of_the_batch_function(case, seed):
    X, gamma, beta, kind, eps = case
    assume(_spread_ok(X, kind))
    code = int(KINDS[kind].code)
    G = np.random.default_rng(seed).standard_normal(X.shape)
    _, Xhat, _, inv = kern.norm_forward(X, gamma, beta, code, eps)
    dX, dgamma, dbeta = kern.norm_backward(G, Xhat, inv, gamma, code)
    _check_directional(lambda x: float(np.sum(G * kern.norm_forward(x, gamma, beta, code, eps)[0])), dX, X, seed)
    _check_directional(lambda g: float(np.sum(G * kern.norm_forward(X, g, beta, code, eps)[0])), dgamma, gamma,
                       seed + 1)
    _check_directional(lambda b: float(np.sum(G * kern.norm_forward(X, gamma, b, code, eps)[0])), dbeta, beta,
                       seed + 2)


def test_a_wrong_backward_fails_the_gradient_check():
    """Dropping the centring term of the batch-norm backward (the mean-only formula's complement) is caught."""
    rng = np.random.default_rng(3)
    X, G = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    gamma, beta = np.ones(3), np.zeros(3)
    _, Xhat, _, inv = kern.norm_forward(X, gamma, beta, int(Norm.BATCH), 1e-5)
    wrong, _, _ = kern.norm_backward(G, Xhat, inv, gamma, int(Norm.SCALE_ONLY))
    with pytest.raises(AssertionError):
        _check_directional(lambda x: float(np.sum(G * kern.norm_forward(x, gamma, beta, int(Norm.BATCH), 1e-5)[0])),
                           wrong, X, 0)


@settings(max_examples=40, deadline=None)
@given(batches(), st.floats(0.2, 5), st.floats(-2, 2))
def test_batch_norm_ignores_a_per_feature_affine_map_of_its_input(case, a, c):
    """With eps = 0, BN(a x + c) = BN(x) for a > 0: the property that makes BN scale-invariant."""
    X, gamma, beta, _, _ = case
    assume(_spread_ok(X, "batch"))
    Y1 = kern.norm_forward(X, gamma, beta, int(Norm.BATCH), 0.0)[0]
    Y2 = kern.norm_forward(a * X + c, gamma, beta, int(Norm.BATCH), 0.0)[0]
    n = X.shape[0]
    tol = 12 * n * U * (1 + abs(c) / a + np.abs(X).max()) * np.abs(gamma).max() / np.sqrt(X.var(axis=0).min())
    assert np.max(np.abs(Y1 - Y2)) <= tol


@settings(max_examples=40, deadline=None)
@given(batches(), st.integers(0, 2 ** 31))
def test_eval_mode_uses_running_statistics(case, seed):
    X, gamma, beta, kind, eps = case
    assume(kind != "layer")
    rng = np.random.default_rng(seed)
    rm, rv = rng.standard_normal(X.shape[1]), rng.uniform(0.5, 2, X.shape[1])
    layer = NormLayer(kind, mode="eval", eps=eps)
    state = NormState(gamma, beta, rm.copy(), rv.copy())
    Y, cache = forward(layer, X, state)
    center, scale = kind != "scale-only", kind != "mean-only"
    Y_ref = gamma * (X - (rm if center else 0.0)) / (np.sqrt(rv + eps) if scale else 1.0) + beta
    assert np.max(np.abs(Y - Y_ref)) <= 8 * U * (1 + np.abs(Y_ref).max())
    assert np.array_equal(state.running_mean, rm) and np.array_equal(state.running_var, rv)
    G = rng.standard_normal(X.shape)
    dX, dgamma, _ = backward(layer, cache, G, state)
    _check_directional(lambda x: float(np.sum(G * forward(layer, x, state)[0])), dX, X, seed)
    _check_directional(lambda g: float(np.sum(G * forward(layer, X, NormState(g, beta, rm, rv))[0])), dgamma,
                       gamma, seed + 1)


@settings(max_examples=40, deadline=None)
@given(batches(), st.integers(0, 2 ** 31))
def test_running_statistics_follow_pytorch(case, seed):
    """momentum 0.1, unbiased variance (BATCH), mean square (SCALE_ONLY)."""
    X, gamma, beta, kind, eps = case
    assume(kind != "layer")
    rng = np.random.default_rng(seed)
    rm, rv = rng.standard_normal(X.shape[1]), rng.uniform(0.5, 2, X.shape[1])
    state = NormState(gamma, beta, rm.copy(), rv.copy())
    forward(NormLayer(kind), X, state)
    want_m = 0.9 * rm + 0.1 * X.mean(axis=0) if kind != "scale-only" else rm
    if kind == "batch":
        want_v = 0.9 * rv + 0.1 * X.var(axis=0, ddof=1)
    elif kind == "scale-only":
        want_v = 0.9 * rv + 0.1 * (X ** 2).mean(axis=0)
    else:
        want_v = rv
    tol = 6 * X.shape[0] * U * (1 + np.abs(X).max()) ** 2
    assert np.max(np.abs(state.running_mean - want_m)) <= tol
    assert np.max(np.abs(state.running_var - want_v)) <= tol


@settings(max_examples=40, deadline=None)
@given(batches(), st.sampled_from(["tanh", "sin", "identity", "sigmoid"]), st.sampled_from(["pre", "post"]),
       st.integers(0, 2 ** 31))
def test_blocks_before_and_after_the_activation(case, activation, placement, seed):
    X, gamma, beta, kind, eps = case
    from asymexp.activations import get

    layer = NormLayer(kind, placement=placement, eps=eps)
    assume(_spread_ok(X if placement == "pre" else get(activation).value(X), kind))
    state = NormState(gamma, beta, np.zeros(X.shape[1]), np.ones(X.shape[1]))
    G = np.random.default_rng(seed).standard_normal(X.shape)
    _, cache = block_forward(layer, X, activation, state)
    dZ, dgamma, _ = block_backward(layer, cache, G, state)
    _check_directional(lambda z: float(np.sum(G * block_forward(layer, z, activation, state, False)[0])), dZ, X,
                       seed)
    _check_directional(lambda g: float(np.sum(G * block_forward(layer, X, activation, NormState(g, beta), False)[0])),
                       dgamma, gamma, seed + 1)


@pytest.mark.parametrize("kind", ["batch", "mean-only", "scale-only"])
def test_batch_of_one_in_train_mode_is_refused(kind):
    with pytest.raises(AsymexpError, match="batch of 1"):
        forward(NormLayer(kind), np.ones((1, 4)), NormState.initial(4))
    Y, _ = forward(NormLayer(kind, mode="eval"), np.ones((1, 4)), NormState.initial(4))
    assert Y.shape == (1, 4)


@pytest.mark.parametrize("field,value", [("kind", "group"), ("mode", "test"), ("placement", "middle"),
                                         ("eps", -1.0), ("momentum", 2.0)])
def test_bad_layer_settings_name_the_value(field, value):
    with pytest.raises(AsymexpError, match=str(value)):
        NormLayer(**{field: value})
