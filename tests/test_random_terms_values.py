"""The finite-N predictions of the random terms (asymexp/numeric/random_terms.py, linear_response.py;
docs/theory/7-random-terms.md) against values computed another way: the node flow itself, and the documented
composition of the error estimates (docs/architecture.md, "Testing").

Tolerances: the pieces h + eps^2 Q2 + remainder are re-added in float64, so they agree with the whole to a few
ulps of the largest piece (ROUND, relative); an error estimate that is a sum of non-negative parts changes by
exactly the part that is changed, up to the same rounding."""
import types

import numpy as np
import pytest

from asymexp.inputs.problems import load_problem
from asymexp.numeric.linear_response import response_variance, variance_part
from asymexp.numeric.quadrature import quadrature_samples
from asymexp.numeric.random_terms import deterministic_flow, deterministic_part, rule_values

ROUND = 1e-12
TIMES = np.array([0.5, 1.0])
EPS_VALUES = (0.3, 0.6)


@pytest.fixture(scope="module")
def terms():
    """A RandomTerms-like record on a small Gauss rule (3 x 3 nodes per axis) with design exponent 4 for the
    coarse rule of the remainder: the fields deterministic_part reads."""
    problem = load_problem("tanh4.toml")
    samples = quadrature_samples(problem.c_law, problem.w_law, problem.points, 3, c_nodes=3)
    vals = rule_values(problem, TIMES, samples)["values"]
    zero = {k: np.zeros_like(vals["h"]) for k in ("h", "Q2")}
    return problem, types.SimpleNamespace(times=TIMES, samples=samples, h=vals["h"], Q2=vals["Q2"], errors=zero,
                                          kappa=4.0)


def test_the_deterministic_part_is_the_node_flow_of_its_rule(terms):
    """D_t(eps) = h + eps^2 Q2 + (flow - h - eps^2 Q2) is the node flow of ``terms.samples`` at that eps."""
    problem, rt = terms
    values, _ = deterministic_part(problem, rt, EPS_VALUES)
    for i, eps in enumerate(EPS_VALUES):
        flow = deterministic_flow(problem, rt.samples, eps, TIMES)
        scale = np.abs(rt.h).max() + eps ** 2 * np.abs(rt.Q2).max() + np.abs(flow).max()
        np.testing.assert_array_less(np.abs(values[i] - flow), ROUND * scale)


def test_the_deterministic_part_error_adds_the_errors_of_h_and_eps_squared_q2(terms):
    """error = (remainder's rule difference) + err(h) + eps^2 err(Q2) (docstring of deterministic_part): raising
    err(h) by a and err(Q2) by b raises each error by exactly a + eps^2 b."""
    problem, rt = terms
    _, base = deterministic_part(problem, rt, EPS_VALUES)
    a, b = 1e-3, 2e-2
    shifted = types.SimpleNamespace(**{**vars(rt), "errors": {"h": rt.errors["h"] + a, "Q2": rt.errors["Q2"] + b}})
    _, raised = deterministic_part(problem, shifted, EPS_VALUES)
    for i, eps in enumerate(EPS_VALUES):
        np.testing.assert_allclose(raised[i] - base[i], a + eps ** 2 * b, rtol=0, atol=ROUND)


@pytest.fixture(scope="module")
def variance_rules(terms):
    """Two remainder rules (3 and 2 Gauss nodes per axis, 8 and 4 adjoint steps) at t = 1, with their own V and
    B, in the form of linear_response.remainder_rules; and a RandomTerms-like record whose V, B are the first
    rule's."""
    problem, _ = terms
    rules = []
    for nodes, steps in ((3, 8), (2, 4)):
        samples = quadrature_samples(problem.c_law, problem.w_law, problem.points, nodes, c_nodes=3)
        vals = rule_values(problem, np.array([1.0]), samples)["values"]
        rules.append((samples, steps, vals["V"][0], vals["B"][0]))
    zero = np.zeros((1,) + rules[0][2].shape)
    rt = types.SimpleNamespace(times=np.array([1.0]), V=rules[0][2][None], B=rules[0][3][None],
                               errors={"V": zero, "B": zero})
    return problem, rules, rt


def test_the_variance_part_is_the_linear_response_variance_of_its_rule(variance_rules):
    """With the terms' V and B those of the remainder's own rule, V + eps^2 B + (V(eps) - V - eps^2 B) is that
    rule's linear-response variance V(eps) (asymexp.numeric.linear_response.response_variance), and the remainder
    returned is the part beyond V + eps^2 B."""
    problem, rules, rt = variance_rules
    values, _, remainders = variance_part(problem, rt, EPS_VALUES, 1.0, rules)
    samples, steps, v, b = rules[0]
    for i, eps in enumerate(EPS_VALUES):
        direct = response_variance(problem, samples, eps, 1.0, steps)
        scale = np.abs(v).max() + eps ** 2 * np.abs(b).max() + np.abs(direct).max()
        np.testing.assert_array_less(np.abs(values[i] - direct), ROUND * scale)
        np.testing.assert_array_less(np.abs(remainders[i] - (direct - v - eps ** 2 * b)), ROUND * scale)


def test_the_variance_part_error_adds_the_errors_of_v_and_eps_squared_b(variance_rules):
    """error = (remainder's rule difference) + err(V) + eps^2 err(B) (docstring of variance_part)."""
    problem, rules, rt = variance_rules
    _, base, _ = variance_part(problem, rt, EPS_VALUES, 1.0, rules)
    a, b = 1e-3, 2e-2
    shifted = types.SimpleNamespace(**{**vars(rt), "errors": {"V": rt.errors["V"] + a, "B": rt.errors["B"] + b}})
    _, raised, _ = variance_part(problem, shifted, EPS_VALUES, 1.0, rules)
    for i, eps in enumerate(EPS_VALUES):
        np.testing.assert_allclose(raised[i] - base[i], a + eps ** 2 * b, rtol=0, atol=ROUND)


def test_kernel_directions_reconstruct_the_covariance_at_every_scale():
    """kappa = sum_k xi_k u_k with u_k = sqrt(lambda_k) v_k: sum_k u_k u_k^T is the covariance itself, and scaling
    the covariance by s scales every direction by sqrt(s) and keeps their number (the rank: directions of zero
    variance, at rounding level, are dropped). A rank-3 covariance on P = 3, M = 2 (6 x 6), s over 20 decades."""
    from asymexp.numeric.kernel_fluctuation import directions

    rng = np.random.default_rng(2)
    g = rng.standard_normal((6, 3))
    cov = (g @ g.T).reshape(3, 2, 3, 2)
    for s in (1e-12, 1.0, 1e8):
        u = directions(s * cov)
        assert u.shape == (3, 3, 2)
        back = np.einsum("kpa,kqb->paqb", u, u)
        np.testing.assert_allclose(back, s * cov, rtol=0, atol=1e-12 * s * np.abs(cov).max())


def test_kernel_responses_start_at_zero():
    """rho1(0) = rho2(0) = 0 (the responses of h to the kernel perturbation start from the unperturbed flow):
    at t = 0 alone both are zero, (n, 1, P)."""
    from asymexp.numeric.kernel_fluctuation import responses

    rng = np.random.default_rng(1)
    g = rng.standard_normal((4, 4))
    A = g @ g.T + np.eye(4)
    U = rng.standard_normal((2, 4, 3))
    r1, r2 = responses(A, U, rng.standard_normal(3), 1.0, np.array([0.0]))
    assert r1.shape == r2.shape == (2, 1, 4)
    assert not r1.any() and not r2.any()


def test_kernel_responses_of_each_direction_do_not_depend_on_the_others():
    """The responses to U[k] solve their own linear ODE: one direction alone gives the same (n = 1, 2) as within
    a batch of three, up to the integrator's tolerance (rtol 1e-12; allowed 1e-8 of the largest value)."""
    from asymexp.numeric.kernel_fluctuation import responses

    rng = np.random.default_rng(5)
    g = rng.standard_normal((4, 4))
    A = g @ g.T / 4 + np.eye(4)
    U = rng.standard_normal((3, 4, 3))
    y, times = rng.standard_normal(3), np.array([0.5, 1.0])
    all1, all2 = responses(A, U, y, 1.0, times)
    assert np.abs(all1).max() > 1e-3 and np.abs(all2).max() > 1e-3
    for ks in ([0], [2], [0, 1]):
        one1, one2 = responses(A, U[ks], y, 1.0, times)
        np.testing.assert_allclose(one1, all1[ks], rtol=0, atol=1e-8 * np.abs(all1).max())
        np.testing.assert_allclose(one2, all2[ks], rtol=0, atol=1e-8 * np.abs(all2).max())
