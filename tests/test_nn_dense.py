"""The batch-major dense-layer core (asymexp.nn.dense) against plain NumPy, float32 and float64, with and
without biases, batches that are and are not multiples of the four-image blocking, odd and even widths."""
from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from asymexp.nn import dense

_FM = {"reassoc", "contract", "nsz"}


@njit(fastmath=_FM)
def _affine(W, s, bias, X, x0, Y, y0, B):
    dense.affine(W, s, bias, X, x0, Y, y0, B)


def _forward(W, s, bias, X, x0, Y, y0, B, kind, vec):
    """Products with reassoc; the activation without fast-math (the vectorized float64 ones need exact rounding)."""
    _affine(W, s, bias, X, x0, Y, y0, B)
    if kind >= 0:
        _activate(Y, y0, W.shape[0], B, kind, vec)


@njit
def _activate(Y, y0, n, B, kind, vec):
    dense.activate(Y, y0, n, B, kind, vec)


@njit
def _backward(W, s, D, X, x0, B, dst, bdst, update, r, G, Dn, back, kind, Dbelow):
    dense.backward(W, s, D, X, x0, B, dst, bdst, update, r, G, Dn, back)
    if back:
        dense.delta_below(Dn, X, x0, W.shape[1], B, s, kind, Dbelow)


def _sig(kind):
    return (lambda z: 1 / (1 + np.exp(-z))) if kind == 0 else np.tanh


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("B", [1, 3, 4, 9])
@pytest.mark.parametrize("no,ni", [(5, 7), (6, 1), (1, 12)])
@pytest.mark.parametrize("bias", [False, True])
def test_forward_and_backward_match_numpy(dtype, rtol, B, no, ni, bias):
    rng = np.random.default_rng(B * 100 + no * 10 + ni)
    W = rng.standard_normal((no, ni)).astype(dtype)
    b = rng.standard_normal(no).astype(dtype) if bias else np.zeros(0, dtype)
    s = dtype(0.7)
    x0, y0 = 2, 3                                    # layers at column offsets of wider workspaces
    X = rng.standard_normal((B, x0 + ni + 1)).astype(dtype)
    X[:, x0:x0 + ni] = np.tanh(X[:, x0:x0 + ni])     # activations of a tanh layer below
    Xl = X[:, x0:x0 + ni].astype(np.float64)
    pre = s * Xl @ W.T.astype(np.float64) + (b.astype(np.float64) if bias else 0)
    for kind in (-1, 0, 1):
        for vec in ([False, True] if dtype == np.float64 else [False]):
            Y = np.full((B, y0 + no + 2), np.nan, dtype)
            _forward(W, s, b, X, x0, Y, y0, B, kind, vec)
            want = pre if kind < 0 else _sig(kind)(pre)
            np.testing.assert_allclose(Y[:, y0:y0 + no], want, rtol=rtol, atol=rtol)
            assert np.all(np.isnan(Y[:, :y0])) and np.all(np.isnan(Y[:, y0 + no:]))
    D = rng.standard_normal((B, no + 1)).astype(dtype)
    Dl = D[:, :no].astype(np.float64)
    gW = s * Dl.T @ Xl
    gb = Dl.sum(0)
    back = Dl @ W.astype(np.float64)
    for kind in (0, 1):
        dact = Xl * (1 - Xl) if kind == 0 else 1 - Xl * Xl
        G = np.empty(ni, dtype)
        for update in (False, True):
            r = dtype(0.3)
            dst = np.full((no, ni), np.nan, dtype) if not update else W.copy()
            bdst = (np.full(no, np.nan, dtype) if not update else b.copy()) if bias else np.zeros(0, dtype)
            Dn = np.full((B, ni + 1), np.nan, dtype)
            Dbelow = np.full((B, ni + 1), np.nan, dtype)
            _backward(W, s, D, X, x0, B, dst, bdst, update, r, G, Dn, True, kind, Dbelow)
            np.testing.assert_allclose(Dn[:, :ni], back, rtol=rtol, atol=rtol)
            np.testing.assert_allclose(Dbelow[:, :ni], back * s * dact, rtol=rtol, atol=rtol)
            if update:
                np.testing.assert_allclose(dst, W - r * gW, rtol=rtol, atol=rtol)
                if bias:
                    np.testing.assert_allclose(bdst, b - r * gb, rtol=rtol, atol=rtol)
            else:
                np.testing.assert_allclose(dst, gW, rtol=rtol, atol=rtol)
                if bias:
                    np.testing.assert_allclose(bdst, gb, rtol=rtol, atol=rtol)


def test_update_equals_gradient_then_step_bitwise():
    """The fused update applies dst -= r * grad to the very grad values the non-update call writes."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((7, 9))
    X = rng.standard_normal((6, 9))
    D = rng.standard_normal((6, 7))
    G = np.empty(9)
    grad = np.empty_like(W)
    nob = np.zeros(0)
    Dn = np.empty((6, 9))
    _backward(W, 0.6, D, X, 0, 6, grad, nob, False, 0.25, G, Dn, False, 1, Dn)
    a = W - 0.25 * grad
    b = W.copy()
    _backward(W.copy(), 0.6, D, X, 0, 6, b, nob, True, 0.25, G, Dn, False, 1, Dn)
    assert np.array_equal(a, b)


def test_vectorized_and_libm_activations_agree():
    z = np.linspace(-50, 50, 2001).reshape(1, -1)
    for kind in (0, 1):
        a, b = z.copy(), z.copy()
        _activate(a, 0, z.shape[1], 1, kind, True)
        _activate(b, 0, z.shape[1], 1, kind, False)
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-300)
