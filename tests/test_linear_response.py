"""The linear-response variance V_t(eps) of asymexp.numeric.linear_response (docs/theory/7-random-terms.md, "All
eps-orders of the variance") against computations that share nothing with its adjoint: central differences of
the node flow in one node weight, the forward weight-sensitivities of asymexp.numeric.finite_n, and the
tensor-based V and B of asymexp.numeric.random_terms (its eps -> 0 terms)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.errors import SpecError
from asymexp.inputs.problems import load_problem
from asymexp.numeric.finite_n import _Flow
from asymexp.numeric.linear_response import response_variance, weight_gradients
from asymexp.numeric.quadrature import SampleSet, quadrature_samples
from asymexp.numeric.random_terms import deterministic_flow, rule_values


@pytest.fixture(scope="module")
def small():
    problem = load_problem("tanh4.toml")
    return problem, quadrature_samples(problem.c_law, problem.w_law, problem.points, 2, c_nodes=2)


@settings(max_examples=6, deadline=None)
@given(eps=st.floats(0.05, 1.0), t=st.floats(0.0, 2.0), j=st.integers(0, 15))
def test_weight_gradient_equals_central_differences_of_the_node_flow(small, eps, t, j):
    """dG/d omega_j by the adjoint against (G(omega + h e_j) - G(omega - h e_j)) / 2h of the DOP853 flow (rtol
    1e-13). The difference's truncation is h^2 G''' ~ 1e-10 and its rounding 1e-13 / h ~ 1e-8 relative; the
    adjoint's RK4 error at 64 steps per unit is below 1e-9 (measured: 3e-11 at eps = 0.3, t = 1)."""
    problem, samples = small
    d = weight_gradients(problem, samples, eps, t, steps=max(1, int(np.ceil(64 * t))))[:, j]
    h = 1e-5
    out = []
    for sign in (1.0, -1.0):
        w = samples.weight.copy()
        w[j] += sign * h
        out.append(deterministic_flow(problem, SampleSet(samples.c, samples.w, w, samples.kind), eps, [t])[0])
    fd = (out[0] - out[1]) / (2 * h)
    np.testing.assert_allclose(d, fd, rtol=0, atol=1e-7 * max(1.0, np.abs(fd).max()))


def test_variance_equals_the_forward_sensitivity_variance_of_the_particle_method():
    """eps^2 sum_j omega_j (DG[e_j - omega])^2 from the forward sensitivities (finite_n, RK4 at 1/80) against the
    adjoint (RK4 at 1/64): both converge like dt^4, so they agree to about 1e-9 relative."""
    problem = load_problem("tanh4.toml")
    samples = quadrature_samples(problem.c_law, problem.w_law, problem.points, 3, c_nodes=3)
    eps = 0.3
    flow = _Flow(problem, samples, eps)
    for _ in range(80):
        flow.step(1.0 / 80)
    _, g1, _ = flow.outputs(flow.theta, flow.T1, flow.T2, problem.points)
    forward = eps ** 2 * flow.om @ g1 ** 2
    np.testing.assert_allclose(response_variance(problem, samples, eps, 1.0, steps=64), forward, rtol=1e-7)


def test_the_remainder_after_v_and_eps_squared_b_is_of_order_eps_four():
    """On one rule, R(eps) = V(eps) - V - eps^2 B with V, B from the expectation tensors (no flow). R / eps^4 =
    B4 + eps^2 B6 + ...: each halving of eps shrinks its change about 4 times (the bound asks for 2). A B off by
    a factor 1 + delta adds -delta B / eps^2, whose changes grow 4 times per halving instead (a 1% error fails
    it; measured). RK4 at 1/128 adds about 1e-8 at eps = 0.1, covered by the 1e-9 floor's margin and the factor 2."""
    problem = load_problem("tanh4.toml")
    samples = quadrature_samples(problem.c_law, problem.w_law, problem.points, 3, c_nodes=3)
    vals = rule_values(problem, np.array([1.0]), samples)["values"]
    V, B = vals["V"][0], vals["B"][0]
    fourth = {e: (response_variance(problem, samples, e, 1.0, steps=128) - V - e ** 2 * B) / e ** 4
              for e in (0.4, 0.2, 0.1)}
    step_big, step_small = np.abs(fourth[0.4] - fourth[0.2]), np.abs(fourth[0.2] - fourth[0.1])
    assert np.all(step_small <= 0.5 * step_big + 1e-9)
    assert np.abs(fourth[0.1]).min() > 10 * step_small.max()         # the remainder itself is resolved


def test_at_time_zero_the_variance_is_var_f_for_every_eps(small):
    problem, samples = small
    vals = rule_values(problem, np.array([0.0]), samples)["values"]
    for eps in (0.1, 0.7):
        np.testing.assert_allclose(response_variance(problem, samples, eps, 0.0), vals["V"][0], rtol=1e-12)


def test_bad_eps_or_time_is_refused(small):
    problem, samples = small
    with pytest.raises(SpecError, match="eps = 0"):
        weight_gradients(problem, samples, 0.0, 1.0)
    with pytest.raises(SpecError, match="t = nan"):
        weight_gradients(problem, samples, 0.5, float("nan"))
