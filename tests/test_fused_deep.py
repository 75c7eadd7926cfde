"""The deep fused kernel (asymexp.nn.deep_kernel) against the generic core (asymexp.nn.generic_kernel).

Tolerances: both compute the same sums in different orders (BLAS vs vectorized partial sums, FMA), and the
activations differ by a few ulp (asymexp.floatmath.tanh/sigmoid vs libm); with O(1) inputs, widths <= 64 and
depth <= 4 the accumulated difference is a few hundred ulp at most, so 1e-12 relative (4500 ulp) to the
largest entry of each array is safe and still fails on any wrong index, scale or transpose (those give O(1)
relative errors).
"""
from __future__ import annotations

import numpy as np
import pytest

from asymexp.nn import shallow_kernel

from asymexp.nn import deep_kernel
from asymexp.nn import generic_kernel as K
from asymexp.nn.layout import build_layout, init_params
from asymexp.sim import simulate

RTOL = 1e-12


def _make(widths, activation, d, seed):
    from asymexp.inputs.problems import load_problem

    problem = load_problem("tanh4.toml")
    spec = problem.spec(["3/4"] * len(widths), list(widths)).replace(activation=activation, input_dim=d)
    layout = build_layout(spec)
    theta = init_params(spec, np.random.default_rng(seed), layout)
    return spec, layout, theta


def _close(a, b):
    scale = max(np.abs(a).max(), 1e-300)
    np.testing.assert_allclose(a, b, rtol=0, atol=RTOL * scale)


CASES = [((8, 8), "tanh", 3, 1), ((16, 8), "sigmoid", 3, 2), ((5, 7, 3), "tanh", 2, 3), ((17, 16, 9, 4), "sigmoid", 4, 4),
         ((64, 64), "tanh", 3, 5), ((33, 31, 30), "tanh", 1, 1)]


@pytest.mark.parametrize("widths,activation,d,B", CASES)
@pytest.mark.parametrize("saturate", [False, True])
def test_deep_fused_equals_generic_core(widths, activation, d, B, saturate):
    spec, layout, theta = _make(widths, activation, d, seed=len(widths) * 100 + B)
    assert deep_kernel.qualifies(layout) and not shallow_kernel.qualifies(layout)
    rng = np.random.default_rng(B)
    X = rng.standard_normal((B, d))
    if saturate:                          # large first-layer weights: many units at sigma' ~ 0 or h = +-1
        w0, _, no, ni, _ = layout.table[0]
        theta[w0:w0 + no * ni] *= 40.0
    U = layout.n_hidden
    outs = []
    for mod in (K, deep_kernel):
        Z = np.full((U, B), np.nan)
        H = np.full((U, B), np.nan)
        out = np.full((1, B), np.nan)
        mod.forward(theta, layout.table, layout.scales, layout.activation, X, Z, H, out)
        dout = (out - 0.3) / B
        grad = np.full_like(theta, np.nan)
        mod.backward(theta, layout.table, layout.scales, layout.activation, X, H, dout, grad)
        outs.append((Z, H, out, grad))
    for a, b in zip(*outs):
        assert np.all(np.isfinite(b))
        _close(a, b)
    # per layer: each weight block to rounding of its own size
    for m in range(layout.n_layers):
        w0, _, no, ni, _ = layout.table[m]
        _close(outs[0][3][w0:w0 + no * ni], outs[1][3][w0:w0 + no * ni])


@pytest.mark.parametrize("widths,activation,d,B", CASES[:4])
def test_backward_update_is_backward_then_sgd_update_bitwise(widths, activation, d, B):
    spec, layout, theta = _make(widths, activation, d, seed=7)
    X = np.random.default_rng(0).standard_normal((B, d))
    U = layout.n_hidden
    Z, H, out = np.empty((U, B)), np.empty((U, B)), np.empty((1, B))
    deep_kernel.forward(theta, layout.table, layout.scales, layout.activation, X, Z, H, out)
    dout = out - 1.0
    rates = np.linspace(0.1, 0.4, layout.n_layers)
    grad = np.empty_like(theta)
    deep_kernel.backward(theta, layout.table, layout.scales, layout.activation, X, H, dout, grad)
    a = theta.copy()
    K.sgd_update(a, grad, layout.table, rates)
    b = theta.copy()
    deep_kernel.backward_update(b, layout.table, layout.scales, layout.activation, X, H, dout, rates)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, theta)


def test_results_do_not_depend_on_memory_offset():
    """Vectorized sums must not depend on the data's alignment (no alignment peeling)."""
    spec, layout, theta = _make((37, 29), "tanh", 3, seed=3)
    X = np.random.default_rng(1).standard_normal((3, 3))
    res = []
    for shift in (0, 1, 3):
        buf = np.zeros(theta.size + 8)
        th = buf[shift:shift + theta.size]
        th[:] = theta
        U = layout.n_hidden
        Z, H, out = np.empty((U, 3)), np.empty((U, 3)), np.empty((1, 3))
        deep_kernel.forward(th, layout.table, layout.scales, layout.activation, X, Z, H, out)
        grad = np.empty_like(theta)
        deep_kernel.backward(th, layout.table, layout.scales, layout.activation, X, H, out.copy(), grad)
        res.append((out.copy(), grad))
    for o, g in res[1:]:
        assert np.array_equal(o, res[0][0]) and np.array_equal(g, res[0][1])


def test_qualifies():
    _, lay2, _ = _make((8, 8), "tanh", 3, 0)
    _, lay1, _ = _make((8,), "tanh", 3, 0)
    assert deep_kernel.qualifies(lay2) and not deep_kernel.qualifies(lay1)
    assert not deep_kernel.qualifies(lay2, output_dim=2)


@pytest.mark.parametrize("dynamics", ["gd", "sgd", "flow"])
def test_auto_and_generic_engines_agree_after_training(dynamics):
    from asymexp.inputs.problems import load_problem

    problem = load_problem("tanh4.toml")
    spec = problem.spec(["3/4", "3/4", "3/4"], [16, 12, 8])
    kw = dict(dynamics=dynamics, seed=3)
    a = simulate(spec, problem.x, problem.y, problem.x, [0.5, 1.0], 4, engine="auto", **kw)
    b = simulate(spec, problem.x, problem.y, problem.x, [0.5, 1.0], 4, engine="generic", **kw)
    c = simulate(spec, problem.x, problem.y, problem.x, [0.5, 1.0], 4, engine="fused", **kw)
    np.testing.assert_allclose(a.outputs, b.outputs, rtol=0, atol=1e-12 * np.abs(b.outputs).max())
    assert np.array_equal(a.outputs, c.outputs)
    assert not np.allclose(a.outputs[:, 1], a.g0)          # it trained


def test_deep_results_do_not_depend_on_thread_count():
    import numba
    from asymexp.inputs.problems import load_problem

    problem = load_problem("tanh4.toml")
    spec = problem.spec(["3/4", "3/4"], [24, 16])
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = simulate(spec, problem.x, problem.y, problem.x, [1.0], 6, dynamics="gd", seed=5, chunk=6).outputs
        numba.set_num_threads(2)         # tests/conftest.py makes two threads available on any machine
        assert numba.get_num_threads() == 2
        b = simulate(spec, problem.x, problem.y, problem.x, [1.0], 6, dynamics="gd", seed=5, chunk=6).outputs
    finally:
        numba.set_num_threads(old)
    assert np.array_equal(a, b)
