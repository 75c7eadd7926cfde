"""The batch-major GD-step entry points of asymexp.nn.deep_kernel (used by the simulator's deep GD/SGD steps)
against the public (U, B) ones: the same numbers bit for bit."""
from __future__ import annotations

import numpy as np
import pytest

from asymexp.nn import deep_kernel
from asymexp.nn import generic_kernel as K
from asymexp.nn.layout import build_layout, init_params

CASES = [((8, 8), "tanh", 3, 4), ((16, 8), "sigmoid", 3, 2), ((5, 7, 3), "tanh", 2, 5), ((17, 16, 9, 4), "sigmoid", 4, 8),
         ((12, 12), "tanh", 3, 1), ((33, 31, 30), "tanh", 1, 9)]


def _make(widths, activation, d, seed):
    from asymexp.inputs.problems import load_problem

    problem = load_problem("tanh4.toml")
    spec = problem.spec(["3/4"] * len(widths), list(widths)).replace(activation=activation, input_dim=d)
    layout = build_layout(spec)
    theta = init_params(spec, np.random.default_rng(seed), layout)
    return layout, theta


@pytest.mark.parametrize("widths,activation,d,B", CASES)
def test_rows_entry_points_equal_public_ones_bitwise(widths, activation, d, B):
    layout, theta = _make(widths, activation, d, seed=11)
    args = (layout.table, layout.scales, layout.activation)
    X = np.random.default_rng(B).standard_normal((B, d))
    U = layout.n_hidden
    Z, H, out = np.empty((U, B)), np.empty((U, B)), np.empty((1, B))
    deep_kernel.forward(theta, *args, X, Z, H, out)
    T, out2 = np.full((B, U), np.nan), np.empty((1, B))
    deep_kernel.forward_rows(theta, *args, X, T, out2)
    assert np.array_equal(out, out2) and np.array_equal(T, H.T)
    dout = out - 0.7
    rates = np.linspace(0.2, 0.5, layout.n_layers)
    a = theta.copy()
    deep_kernel.backward_update(a, *args, X, H, dout, rates)
    b = theta.copy()
    deep_kernel.backward_update_rows(b, *args, X, T, dout, rates)
    assert np.array_equal(a, b) and not np.array_equal(a, theta)
    grad = np.empty_like(theta)
    deep_kernel.backward(theta, *args, X, H, dout, grad)
    c = theta.copy()
    K.sgd_update(c, grad, layout.table, rates)
    assert np.array_equal(a, c)
    ref = np.empty_like(theta)                       # the generic core, to rounding
    Zr, Hr, outr = np.empty((U, B)), np.empty((U, B)), np.empty((1, B))
    K.forward(theta, *args, X, Zr, Hr, outr)
    K.backward(theta, *args, X, Hr, dout, ref)
    np.testing.assert_allclose(grad, ref, rtol=0, atol=1e-12 * np.abs(ref).max())
