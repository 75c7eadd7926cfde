"""Kernels and tensor expectations over mu_0: quadrature vs Monte Carlo vs mpmath."""
import tomllib
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.errors import SpecError
from asymexp.spec import Law
from asymexp.numeric import kernel_matrices, load_problem
from asymexp.inputs.problems import problem_from_mapping
from asymexp.numeric.pairwise import pair_moments
from asymexp.numeric.quadrature import c_rule, monte_carlo_samples, quadrature_samples
from asymexp.numeric.derivative_tensors import derivative_tensors, expectation_tensors


def problem_with(name="tanh4.toml", **changes):
    """A built-in problem with some TOML lines replaced (e.g. c law, w law, activation)."""
    from asymexp.inputs.problems import builtin_problem

    data = tomllib.loads(builtin_problem(name.removesuffix(".toml")).read_text())
    for key, value in changes.items():
        if key in ("c", "w"):
            data["init"][key] = value
        else:
            data[key] = value
    return problem_from_mapping(data)


@pytest.mark.parametrize("law", ["uniform(-1,1)", "uniform(0,1)", "normal(3/10,2)", "normal(0,1)"])
def test_c_rule_reproduces_exact_moments_up_to_degree_5(law):
    law = Law.parse(law)
    nodes, weights = c_rule(law)
    for k in range(6):
        exact = float(law.moment(k))
        assert weights @ nodes**k == pytest.approx(exact, rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_derivative_tensors_match_finite_differences(activation):
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(3, 3))
    c, w = rng.normal(size=2), rng.normal(size=(2, 3))
    f, gf, hf, d3 = derivative_tensors(activation, c, w, pts, 3)
    h = 1e-5
    for i in range(4):
        e = np.zeros(4)
        e[i] = h
        up = derivative_tensors(activation, c + e[0], w + e[1:], pts, 2)
        dn = derivative_tensors(activation, c - e[0], w - e[1:], pts, 2)
        # central differences: truncation O(h^2) ~ 1e-10 relative, rounding ~ 1e-16/h ~ 1e-11
        np.testing.assert_allclose((up[0] - dn[0]) / (2 * h), gf[..., i], atol=1e-8)
        np.testing.assert_allclose((up[1] - dn[1]) / (2 * h), hf[..., i], atol=1e-8)
        np.testing.assert_allclose((up[2] - dn[2]) / (2 * h), d3[..., i], atol=1e-8)


def _mpmath_kernel(x, xp, c2, diagonal):
    """A(x, x') for tanh, w ~ N(0, I), by mpmath tanh-sinh quadrature at 12 significant digits."""
    import mpmath as mp

    mp.mp.dps = 12
    xi = [mp.mpf(repr(float(v))) for v in x]
    xj = [mp.mpf(repr(float(v))) for v in xp]
    b = sum(p * q for p, q in zip(xi, xj))
    a = mp.sqrt(sum(p * p for p in xi))
    if diagonal:
        def g(z):
            t = mp.tanh(a * z)
            return (t * t + c2 * (1 - t * t) ** 2 * b) * mp.exp(-z * z / 2) / mp.sqrt(2 * mp.pi)
        return float(mp.quad(g, [-mp.inf, 0, mp.inf]))
    rho = b / a
    s = mp.sqrt(sum(q * q for q in xj) - rho**2)

    def g2(z1, z2):
        tu, tv = mp.tanh(a * z1), mp.tanh(rho * z1 + s * z2)
        return (tu * tv + c2 * (1 - tu * tu) * (1 - tv * tv) * b) * mp.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * mp.pi)
    return float(mp.quad(g2, [-mp.inf, 0, mp.inf], [-mp.inf, 0, mp.inf]))


def test_quadrature_kernel_matches_mpmath_reference():
    p = load_problem("tanh4.toml")
    A, _, err = kernel_matrices(p)
    c2 = Fraction(1, 3)  # E[c^2] for U(-1, 1)
    for i, j in [(0, 0), (0, 1)]:
        ref = _mpmath_kernel(p.points[i], p.points[j], c2, i == j)
        # the reported error (difference between two Gauss-Hermite orders) must bound the actual error
        assert abs(A[i, j] - ref) <= err
        assert abs(A[i, j] - ref) < 1e-6


@pytest.mark.parametrize("name,w_law", [("tanh4", "normal(0,1)"), ("sigmoid4", "uniform(-1,1)"),
                                        ("sigmoid4", "normal(1/2,1)")])
def test_quadrature_agrees_with_monte_carlo_within_5_standard_errors(name, w_law):
    p = problem_with(name, w=w_law, c="uniform(0,1)")
    order = 24 if w_law.startswith("normal") else 16
    quad = expectation_tensors(p.activation, quadrature_samples(p.c_law, p.w_law, p.points, order), p.points, 4, 0)
    _, _, err_q = kernel_matrices(p, quad_order=order)
    mc = expectation_tensors(p.activation, monte_carlo_samples(p.c_law, p.w_law, 3, 100_000, 11), p.points, 4, 0)
    # seeded; entrywise per-sample standard errors of the MC means of gf.gf and f f; 5 sigma (false-alarm
    # probability < 1e-5 over the 30 entries); the quadrature's own error estimate err_q is added
    assert np.all(np.abs(quad.A - mc.A) <= 5 * mc.A_se + err_q)
    second_q = quad.S + np.outer(quad.mean_f, quad.mean_f)
    second_m = mc.S + np.outer(mc.mean_f, mc.mean_f)
    assert np.all(np.abs(second_q - second_m) <= 5 * mc.S_se + err_q)
    A_m, _, _ = kernel_matrices(p, method="monte-carlo", n_samples=100_000, seed=11)
    np.testing.assert_allclose(A_m, mc.A, rtol=1e-12)  # the batched estimate is the same sample mean


@pytest.mark.parametrize("name,w_law", [("tanh4", "normal(0,1)"), ("sigmoid4", "normal(1/2,3/2)")])
def test_joint_span_rule_agrees_with_the_pairwise_rule(name, w_law):

    p = problem_with(name, w=w_law, c="uniform(0,1)")
    A, S, err = kernel_matrices(p)
    A2, S2, mean_f = shallow_kernel_pairwise(p.activation, p.c_law, p.w_law, p.points, 160)
    A3, S3, _ = shallow_kernel_pairwise(p.activation, p.c_law, p.w_law, p.points, 120)
    # two different quadratures of the same integrals: agreement within the sum of their error estimates (the
    # pairwise Gauss-Hermite rule's: its difference from 120 nodes; at 160 nodes it is off by 8e-10 on
    # A(x_3, x_3) of tanh4 against mpmath, where the trapezoid rule is within 4e-14)
    pair_err = max(np.abs(A2 - A3).max(), np.abs(S2 - S3).max())
    assert np.abs(A - A2).max() <= err + pair_err + 1e-12 and np.abs(S - S2).max() <= err + pair_err + 1e-12
    assert err < 1e-6


def test_uniform_w_law_uses_a_legendre_product_over_all_coordinates():
    s = quadrature_samples(Law.parse("uniform(-1,1)"), Law.parse("uniform(-1,1)"), np.eye(3), 5)
    assert len(s) == 3 * 5**3 and s.weight.sum() == pytest.approx(1.0)
    # E[w_1^2 w_2^2] = 1/9 exactly for U(-1,1)^3 (degree 4 <= 2*5-1)
    assert s.weight @ (s.w[:, 0] ** 2 * s.w[:, 1] ** 2) == pytest.approx(1 / 9, rel=1e-12)


def test_normal_w_rule_lives_in_the_span_and_keeps_projections_exact():
    pts = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 1.0]])  # rank 2 in R^4
    s = quadrature_samples(Law.parse("uniform(-1,1)"), Law.parse("normal(1/2,2)"), pts, 10)
    assert len(s) == 3 * 10**2
    u = s.w @ pts.T
    # u_p ~ N(mu sum(x_p), s^2 |x_p|^2): mean 1, variance 8
    np.testing.assert_allclose(s.weight @ u, [1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(s.weight @ (u - 1.0) ** 2, [8.0, 8.0], rtol=1e-12)
    np.testing.assert_allclose(s.weight @ ((u[:, 0] - 1) * (u[:, 1] - 1)), 4.0, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), activation=st.sampled_from(["tanh", "sigmoid"]))
def test_kernel_and_covariance_are_symmetric_positive_semidefinite(seed, activation):
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(4, 3))
    tens = expectation_tensors(activation, quadrature_samples(Law.parse("uniform(-1,1)"), Law.parse("normal(0,1)"),
                                                              pts, 8), pts, 4, 0)
    for mat in (tens.A, tens.S):
        np.testing.assert_allclose(mat, mat.T, atol=1e-14)
        assert np.linalg.eigvalsh(mat).min() > -1e-12 * max(1.0, np.abs(mat).max())


def test_monte_carlo_is_seeded_and_rejects_too_few_samples():
    p = load_problem("sigmoid4.toml")
    a1 = kernel_matrices(p, method="monte-carlo", n_samples=2000, seed=5)[0]
    a2 = kernel_matrices(p, method="monte-carlo", n_samples=2000, seed=5)[0]
    a3 = kernel_matrices(p, method="monte-carlo", n_samples=2000, seed=6)[0]
    assert np.array_equal(a1, a2) and not np.array_equal(a1, a3)
    with pytest.raises(SpecError, match="n_samples"):
        kernel_matrices(p, method="monte-carlo", n_samples=5)
    with pytest.raises(SpecError, match="method"):
        kernel_matrices(p, method="simpson")


def shallow_kernel_pairwise(activation: str, c_law, w_law, points: np.ndarray, order: int = 96):
    """The independent 2-D oracle: (A, S, E f) of f = c sigma(w . x) for w ~ normal(mu, s) i.i.d. per coordinate
    (docs/theory/3-shallow-expansion.md).

    A = E[sigma sigma] + E[c^2] E[sigma' sigma'] x.x'; S = Cov(f(x), f(x')) = E[c^2] E[sigma sigma]
    - E[c]^2 E[sigma] E[sigma]; E f = E[c] E[sigma].
    """
    x = np.asarray(points, dtype=np.float64)
    mu, s = float(w_law.a), float(w_law.b)
    kk, kd, e_s = pair_moments(activation, mu * x.sum(axis=1), s * s * (x @ x.T), order)
    c1, c2 = float(c_law.moment(1)), float(c_law.moment(2))
    return kk + c2 * kd * (x @ x.T), c2 * kk - c1 * c1 * np.outer(e_s, e_s), c1 * e_s
