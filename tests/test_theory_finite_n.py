"""The O(1/N) mean term under gradient flow: weight sensitivities vs finite differences of the particle flow."""
import numpy as np
import pytest

from asymexp.errors import SpecError
from asymexp.numeric import load_problem
from asymexp.numeric.finite_n import _Flow, inverse_n_mean_term
from asymexp.numeric.quadrature import quadrature_samples
from asymexp.numeric.derivative_tensors import derivative_tensors


def weighted_flow_output(problem, samples, weights, eps, t, steps):
    """g_t at all points for particles theta_k with weights ``weights`` (RK4, the same steps as _Flow)."""
    theta = np.concatenate([samples.c[:, None], samples.w], axis=1)
    m = problem.x.shape[0]

    def rhs(th):
        f, gf = derivative_tensors(problem.activation, th[:, 0], th[:, 1:], problem.x, 1)
        r = problem.y - weights @ f / eps
        return eps * problem.alpha / m * np.einsum("m,kmi->ki", r, gf)

    dt = t / steps
    for _ in range(steps):
        k1 = rhs(theta)
        k2 = rhs(theta + 0.5 * dt * k1)
        k3 = rhs(theta + 0.5 * dt * k2)
        k4 = rhs(theta + dt * k3)
        theta = theta + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return weights @ derivative_tensors(problem.activation, theta[:, 0], theta[:, 1:], problem.points, 0)[0] / eps


@pytest.mark.parametrize("name", ["tanh4.toml", "sigmoid4.toml"])
def test_second_weight_sensitivity_matches_finite_differences(name):
    p = load_problem(name)
    eps, t, steps = 0.3, 1.0, 10
    samples = quadrature_samples(p.c_law, p.w_law, p.points, 2)
    om = samples.weight
    flow = _Flow(p, samples, eps)
    for _ in range(steps):
        flow.step(t / steps)
    g, g1, g2 = flow.outputs(flow.theta, flow.T1, flow.T2, p.points)
    np.testing.assert_allclose(g, weighted_flow_output(p, samples, om, eps, t, steps), atol=1e-13)
    h = 1e-3
    for j in (0, 5, len(om) - 1):
        v = -om.copy()
        v[j] += 1.0
        up = weighted_flow_output(p, samples, om + h * v, eps, t, steps)
        dn = weighted_flow_output(p, samples, om - h * v, eps, t, steps)
        # RK4 is smooth in the weights, so the discrete sensitivities are exact derivatives of the discrete flow;
        # central differences: O(h^2) truncation (~1e-6 relative), rounding ~1e-16/h^2 ~ 1e-10
        np.testing.assert_allclose((up - dn) / (2 * h), g1[j], rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose((up + dn - 2 * g) / h**2, g2[j], rtol=1e-4, atol=1e-6)


def test_coefficient_is_stable_in_eps_and_vanishes_at_time_zero():
    p = load_problem("tanh4.toml")
    c_small, _ = inverse_n_mean_term(p, [0.0, 1.0], quad_order=3, eps=0.02, steps_per_unit=10)
    c_large, _ = inverse_n_mean_term(p, [1.0], quad_order=3, eps=0.1, steps_per_unit=10)
    assert np.all(c_small[0] == 0)
    # c(eps) = c_0 + O(eps^2) for a c-symmetric rule: from eps = 0.1 to 0.02 it moves by ~1e-2 * eps^2 relative
    np.testing.assert_allclose(c_large[0], c_small[1], rtol=1e-3)
    assert np.all(c_small[1] < 0)
    with pytest.raises(SpecError, match="eps"):
        inverse_n_mean_term(p, [1.0], eps=2.0)
