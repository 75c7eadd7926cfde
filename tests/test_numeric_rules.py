"""Rules of the numeric theory layer held against independent evaluations (docs/theory-layer.md):

- the dimension of the w-integral is the rank of the points for a normal law (rotation invariance) and d for a
  uniform one, and the rank ignores singular values at rounding level whatever the points' scale;
- the default node count for a one-dimensional integral is the budget itself (capped), and 1 for none;
- the ODE error estimate of Q_{1,0}, Q_{2,0} bounds the actual error of the solve it accompanies (the reference
  is a solve with a million times tighter tolerance);
- the deep theory's error is difference_errors of its values at n, n' = max(4, round(3n/4)) and
  max(3, round(3n'/4)) nodes, each recomputed here by a separate call;
- deep_variance takes any number of probe points, none included.

Tolerances are rounding-level for identical arithmetic; the ODE bound is a one-sided inequality.
"""
import numpy as np
import pytest

from asymexp.inputs.problems import load_problem
from asymexp.numeric.error_control import difference_errors
from asymexp.numeric.quadrature import (MAX_NODES_PER_DIM, NODE_BUDGET, default_order, quadrature_dimension,
                                        span_basis)
from asymexp.spec import Law

NORMAL, UNIFORM = Law("normal", 0, 1), Law("uniform", -1, 1)
TANH = load_problem("tanh4.toml")


def _rank_two_points(scale: float) -> np.ndarray:
    """(5, 3) points spanning a plane in a generic position: their third singular value is rounding noise."""
    rng = np.random.default_rng(7)
    return scale * rng.normal(size=(5, 2)) @ rng.normal(size=(2, 3))


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_the_w_integral_has_the_rank_of_the_points_for_a_normal_law_and_d_otherwise(scale):
    pts = _rank_two_points(scale)
    sing = np.linalg.svd(pts, compute_uv=False)
    assert 0 < sing[2] < 1e-14 * sing[0]                  # numerically rank 2, not exactly
    assert span_basis(pts).shape == (3, 2)
    assert quadrature_dimension(NORMAL, pts) == 2 and quadrature_dimension(UNIFORM, pts) == 3
    assert quadrature_dimension(Law("normal", 0, 0), pts) == 0


def test_default_order_of_one_and_of_no_dimension():
    line = np.array([[1.0, 2.0, 0.5], [-2.0, -4.0, -1.0]])   # rank 1
    assert default_order(NORMAL, line) == min(MAX_NODES_PER_DIM, NODE_BUDGET)
    assert default_order(Law("normal", 0, 0), line) == 1


def test_the_ode_error_estimate_bounds_the_actual_error():
    from asymexp.numeric import hierarchy
    from asymexp.numeric.derivative_tensors import expectation_tensors
    from asymexp.numeric.quadrature import quadrature_samples

    m = TANH.x.shape[0]
    tens = expectation_tensors(TANH.activation, quadrature_samples(TANH.c_law, TANH.w_law, TANH.points, 8),
                               TANH.points, m, 2)
    times = np.array([0.0, 0.5, 2.0])
    # (at rtol >= 1e-6 DOP853 takes the same few steps whatever the tolerance on this problem, so a check solve
    # there would differ by nothing: the layer's solves are at 1e-12 and 1e-9; here 1e-9 and 1e-6)
    q1, q2, err = hierarchy.corrections(tens.A, tens, TANH.y, TANH.alpha, times, 2, rtol=1e-9, check_rtol=1e-6)
    r1, r2, _ = hierarchy.corrections(tens.A, tens, TANH.y, TANH.alpha, times, 2, rtol=1e-13, check_rtol=None)
    actual = max(np.max(np.abs(q1 - r1)), np.max(np.abs(q2 - r2)))
    assert 0 < actual <= err


def test_deep_theory_errors_come_from_three_node_counts():
    from asymexp.numeric.deep_theory import deep_theory

    gammas, n = ["1/2", "3/4"], 5
    n_lo = max(4, int(round(0.75 * n)))                   # 4
    n_lo2 = max(3, int(round(0.75 * n_lo)))               # 3
    runs = {k: deep_theory(TANH, gammas, times=(0.5, 1.0), order=k) for k in (n, n_lo, n_lo2)}
    keys = ("h", "V", "A", "S")
    want = difference_errors({k: runs[n][k] for k in keys}, {k: runs[n_lo][k] for k in keys},
                             coarser={k: runs[n_lo2][k] for k in keys})
    for k in keys:
        np.testing.assert_allclose(runs[n]["errors"][k], want[k], rtol=1e-12, atol=0, err_msg=k)


@pytest.mark.parametrize("n_probes", [0, 1, 3])
def test_deep_variance_takes_any_number_of_probes(n_probes):
    from asymexp.numeric.deep_theory import deep_variance

    spec = TANH.spec(["1/2", "3/4"], [16, 16]).replace(widths=None)
    probes = np.random.default_rng(1).normal(size=(n_probes, 3))
    v, kern = deep_variance(spec, TANH.x, probes, [1.0], TANH.alpha, order=8)
    assert v.shape == (1, TANH.x.shape[0] + n_probes) and kern.A.shape == (v.shape[1],) * 2


def test_a_point_mass_law_of_w_is_one_node_at_its_mean():
    """w ~ normal(mu, 0) is the point mass at (mu, ..., mu): one w node there, the c rule's weights, total 1;
    so E[c^2 sigma(w.x)^2] is E[c^2] sigma(mu sum(x))^2 exactly."""
    from asymexp.activations import sigma_derivatives
    from asymexp.numeric.quadrature import quadrature_samples

    pts = TANH.points
    law = Law("normal", "1/2", 0)
    s = quadrature_samples(TANH.c_law, law, pts, 8)
    assert np.allclose(s.w, 0.5) and len(np.unique(s.w, axis=0)) == 1 and np.isclose(s.weight.sum(), 1.0)
    assert s.c.shape[0] == s.w.shape[0] == s.weight.shape[0]
    sig = sigma_derivatives(TANH.activation, s.w @ pts.T, 0)[0]                     # (nodes, P)
    got = np.einsum("k,k,kp->p", s.weight, s.c ** 2, sig ** 2)
    want = float(TANH.c_law.moment(2)) * np.tanh(0.5 * pts.sum(axis=1)) ** 2
    np.testing.assert_allclose(got, want, rtol=1e-13)
