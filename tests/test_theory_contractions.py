"""The symbolic layer's einsum contractions evaluated numerically agree with the hand transcription of
docs/theory/index.md
section 5 (Q1, Q2) and with the eps-expansion of the deterministic dynamics (Q3)."""
import numpy as np
import pytest

from asymexp.numeric import shallow_theory
from asymexp.activations import sigma_derivatives
from asymexp.numeric.einsum_eval import derivative_tensor, sigma_derivative_polys, solve_contractions
from asymexp.numeric.quadrature import quadrature_samples
from asymexp.numeric.derivative_tensors import derivative_tensors

from test_theory_hierarchy import particle_mean
from test_theory_kernels import problem_with

QUAD = 6


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_general_derivative_tensors_match_the_explicit_ones_and_finite_differences(activation):
    rng = np.random.default_rng(7)
    pts, c, w = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=(3, 3))
    explicit = derivative_tensors(activation, c, w, pts, 3)
    for n in range(4):
        np.testing.assert_allclose(derivative_tensor(activation, c, w, pts, n), explicit[n], atol=1e-14)
    d4 = derivative_tensor(activation, c, w, pts, 4)
    h = 1e-5
    for i in range(4):
        e = np.zeros(4)
        e[i] = h
        up = derivative_tensor(activation, c + e[0], w + e[1:], pts, 3)
        dn = derivative_tensor(activation, c - e[0], w - e[1:], pts, 3)
        # central difference: O(h^2) truncation, O(1e-16/h) rounding
        np.testing.assert_allclose((up - dn) / (2 * h), d4[..., i], atol=1e-8)
    u = np.linspace(-3, 3, 7)
    polys = sigma_derivative_polys(activation, 3)
    base = sigma_derivatives(activation, u, 0)[0]
    for k, ref in enumerate(sigma_derivatives(activation, u, 3)):
        np.testing.assert_allclose(polys[k](base), ref, atol=1e-14)


@pytest.mark.parametrize("name,c_law,w_law", [("tanh4", "uniform(-1,1)", "normal(0,1)"),
                                              ("sigmoid4", "uniform(0,1)", "normal(0,1)"),
                                              ("tanh4", "uniform(0,1)", "normal(1/2,1)")])
def test_symbolic_contractions_give_the_same_q1_q2_as_section_5(name, c_law, w_law):
    p = problem_with(name, c=c_law, w=w_law)
    times = [0.4, 1.0]
    th = shallow_theory(p, 0.75, times, quad_order=QUAD)
    samples = quadrature_samples(p.c_law, p.w_law, p.points, QUAD)
    q1, q2 = solve_contractions(p, samples, th.A, times, 2)
    scale = max(np.abs(th.Q2).max(), 1e-3)
    # same discrete measure, both ODE solves at rtol 1e-12: agreement to rounding and solver tolerance
    np.testing.assert_allclose(q1, th.Q1, atol=1e-9 * scale)
    np.testing.assert_allclose(q2, th.Q2, atol=1e-9 * scale)
    pruned = solve_contractions(p, samples, th.A, times, 2, spec=p.spec([0.75], [1]))
    np.testing.assert_allclose(pruned[1], th.Q2, atol=1e-9 * scale)


def test_third_order_matches_the_eps_expansion_of_the_deterministic_dynamics():
    p = problem_with("sigmoid4", c="uniform(0,1)")
    th = shallow_theory(p, 0.75, [1.0], order=0, quad_order=QUAD)
    samples = quadrature_samples(p.c_law, p.w_law, p.points, QUAD)
    q1, q2, q3 = solve_contractions(p, samples, th.A, [1.0], 3)
    epss = np.array([0.02, 0.04, 0.06, 0.08])
    dev = np.array([particle_mean(p, samples, e, 1.0) - th.h[0] for e in epss])
    coef = np.linalg.solve(np.vander(epss, 5, increasing=True)[:, 1:], dev)  # eps .. eps^4
    # quartic fit: the neglected eps^5 term shifts the eps^3 coefficient by O(eps^2) ~ 1e-2 of Q5/Q3 (small here)
    assert np.abs(q3).max() > 1e-7
    np.testing.assert_allclose(coef[2], q3[0], atol=5e-3 * np.abs(q3).max())
    np.testing.assert_allclose(coef[0], q1[0], atol=1e-6 * np.abs(q1).max())
