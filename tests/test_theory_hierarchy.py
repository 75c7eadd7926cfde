"""The hierarchy on data points and probes: h, V, Q_{1,0}, Q_{2,0} (docs/theory/3-shallow-expansion.md to
5-verified-formulas.md)."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from asymexp.errors import SpecError
from asymexp.numeric import load_problem, shallow_theory
from asymexp.numeric import hierarchy
from asymexp.numeric.quadrature import quadrature_samples
from asymexp.numeric.derivative_tensors import derivative_tensors

from test_theory_kernels import problem_with

QUAD = 6  # a small rule: the tests compare two computations on the same discrete measure


def test_leading_term_matches_direct_integration_including_probes():
    p = load_problem("sigmoid4.toml")
    th = shallow_theory(p, 0.75, [0.3, 1.0, 2.5], order=0, quad_order=QUAD)
    A, m, a = th.A, 4, p.alpha
    sol = solve_ivp(lambda t, h: a / m * A[:, :m] @ (p.y - h[:m]), (0, 2.5), np.zeros(5), t_eval=[0.3, 1.0, 2.5],
                    method="DOP853", rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(th.h, sol.y.T, atol=1e-11)
    assert th.Q1 is None and th.Q2 is None


def test_variance_constant_is_the_propagated_covariance():
    p = load_problem("tanh4.toml")
    t = 1.3
    th = shallow_theory(p, 0.75, [t], order=0, quad_order=QUAD)
    A, S, m = th.A, th.S, 4
    e = expm(-p.alpha * t * A[:m, :m] / m)
    # training points: V = diag(e^{-alpha t P} S e^{-alpha t P^T})
    np.testing.assert_allclose(th.V[0, :m], np.diag(e @ S[:m, :m] @ e.T), rtol=1e-10)
    # probes: Q_t(x) = Q_0(x) - (alpha/M) int_0^t A[x, :M] Q_s(:M) ds, integrated column by column
    def rhs(_, z):
        q = z.reshape(5, 5)
        out = np.zeros_like(q)
        out[:, :] = -p.alpha / m * A[:, :m] @ q[:m, :]
        return out.ravel()
    phi = solve_ivp(rhs, (0, t), np.eye(5).ravel(), rtol=1e-12, atol=1e-14, method="DOP853").y[:, -1].reshape(5, 5)
    np.testing.assert_allclose(th.V[0], np.diag(phi @ S @ phi.T), rtol=1e-9)


def particle_mean(problem, samples, eps, t):
    """The deterministic finite-eps dynamics on the weighted samples (an independent route to Q1, Q2):
    d delta/dt = alpha mean_m (y_m - g(x_m)) gf(theta_0 + eps delta, x_m), g = eps^{-1} E[f(theta) - f(theta_0)];
    its expansion in eps is h + eps Q1 + eps^2 Q2 + O(eps^3) (docs/theory/3-shallow-expansion.md, deterministic
    part)."""
    pts, m, k = problem.points, problem.x.shape[0], len(samples)
    th0 = np.concatenate([samples.c[:, None], samples.w], axis=1)
    wq = samples.weight
    f0 = derivative_tensors(problem.activation, samples.c, samples.w, pts, 0)[0]

    def rhs(_, z):
        th = th0 + eps * z.reshape(k, -1)
        f, gf = derivative_tensors(problem.activation, th[:, 0], th[:, 1:], problem.x, 1)
        r = problem.y - wq @ (f - f0[:, :m]) / eps
        return (problem.alpha / m * np.einsum("m,kmi->ki", r, gf)).ravel()

    z = solve_ivp(rhs, (0, t), np.zeros(th0.size), method="DOP853", rtol=1e-12, atol=1e-14).y[:, -1]
    th = th0 + eps * z.reshape(k, -1)
    return wq @ (derivative_tensors(problem.activation, th[:, 0], th[:, 1:], pts, 0)[0] - f0) / eps


@pytest.mark.parametrize("name,c_law,w_law", [("tanh4", "uniform(-1,1)", "normal(0,1)"),
                                              ("sigmoid4", "uniform(0,1)", "normal(0,1)"),
                                              ("tanh4", "uniform(0,1)", "normal(1/2,1)")])
def test_q1_q2_match_the_eps_expansion_of_the_deterministic_dynamics(name, c_law, w_law):
    p = problem_with(name, c=c_law, w=w_law)
    t = 1.0
    th = shallow_theory(p, 0.75, [t], quad_order=QUAD)
    samples = quadrature_samples(p.c_law, p.w_law, p.points, QUAD)
    epss = np.array([0.01, 0.02, 0.04])
    dev = np.array([particle_mean(p, samples, e, t) - th.h[0] for e in epss])
    coef = np.linalg.solve(np.vander(epss, 4, increasing=True)[:, 1:], dev)  # a eps + b eps^2 + c eps^3
    # the cubic fit leaves O(eps^4) / eps^2 ~ 1e-3 relative in b and O(eps^3)/eps ~ 1e-5 relative in a;
    # ODE tolerances 1e-12 give < 1e-7 after division by eps^2
    scale = np.abs(th.Q2).max()
    np.testing.assert_allclose(coef[0], th.Q1[0], atol=1e-5 * scale + 1e-9)
    np.testing.assert_allclose(coef[1], th.Q2[0], atol=2e-3 * scale)


def test_q1_vanishing_claims_checked_numerically():
    cases = {  # (c law, w law, activation) -> whether Q_{1,0} vanishes
        ("uniform(-1,1)", "normal(0,1)", "tanh"): True,       # symmetric c
        ("uniform(-1,1)", "normal(0,1)", "sigmoid"): True,    # symmetric c
        ("uniform(0,1)", "normal(0,1)", "tanh"): True,        # w -> -w parity, tanh odd
        ("uniform(0,1)", "normal(0,1)", "sigmoid"): False,    # logistic sigma is not odd and E[c] != 0
        ("uniform(0,1)", "normal(1/2,1)", "tanh"): False,     # non-zero mean of w breaks the parity
    }
    for (c, w, act), expected in cases.items():
        p = problem_with("tanh4", c=c, w=w, activation=act)
        th = shallow_theory(p, 0.75, [1.0], order=1, quad_order=QUAD)
        size = np.abs(th.Q1).max()
        assert th.q1_vanishes is expected, (c, w, act, th.q1_reason)
        if expected:
            assert size < 1e-14, (c, w, act, size)
        else:
            assert size > 1e-4, (c, w, act, size)


def test_monte_carlo_theory_agrees_with_quadrature_within_5_standard_errors():
    p = load_problem("sigmoid4.toml")
    quad = shallow_theory(p, 0.75, [1.0], quad_order=24)
    mc = shallow_theory(p, 0.75, [1.0], method="monte-carlo", n_samples=40_000, seed=2)
    assert mc.method == "monte-carlo" and quad.method == "quadrature"
    # theory_error is the batch-means standard error (10 batches, seeded); 5 sigma, plus quadrature's estimate
    for key in ("h", "V", "Q2"):
        diff = np.abs(getattr(quad, key) - getattr(mc, key)).max()
        assert diff <= 5 * mc.theory_error[key] + quad.theory_error[key], (key, diff, mc.theory_error[key])


def test_results_do_not_depend_on_gamma_and_expose_the_regime():
    p = load_problem("tanh4.toml")
    a = shallow_theory(p, 0.6, [1.0], order=1, quad_order=QUAD)
    b = shallow_theory(p, "9/10", [1.0], order=1, quad_order=QUAD)
    assert np.array_equal(a.h, b.h) and np.array_equal(a.V, b.V) and a.regime == "expansion"
    assert shallow_theory(p, 0.5, [1.0], order=0, quad_order=QUAD).regime == "ntk-gaussian"
    end = shallow_theory(p, 1, [1.0], order=0, quad_order=QUAD)
    assert end.regime == "mean-field" and any("mean-field" in n for n in end.notes)
    np.testing.assert_allclose(b.variance(256), 256 ** (1 - 1.8) * b.V)


@pytest.mark.parametrize("kwargs,match", [({"gamma": 0.4}, "gamma"), ({"times": [-1.0]}, "times"),
                                          ({"order": 4}, "order"), ({"method": "exact"}, "method")])
def test_bad_input_is_a_clear_error(kwargs, match):
    args = {"gamma": 0.75, "times": [1.0], "order": 0, "quad_order": QUAD}
    args.update(kwargs)
    with pytest.raises(SpecError, match=match):
        shallow_theory(load_problem("tanh4.toml"), **args)


def test_t_zero_gives_zero_terms_and_the_initial_covariance():
    p = load_problem("tanh4.toml")
    th = shallow_theory(p, 0.75, [0.0, 0.5], quad_order=QUAD)
    assert np.all(th.h[0] == 0) and np.all(th.Q2[0] == 0)
    np.testing.assert_allclose(th.V[0], np.diag(th.S), rtol=1e-12)
    assert th.ode_error < 1e-8


def test_eigen_integral_handles_zero_eigenvalues():
    eig = hierarchy.Eigen(np.array([0.0, 1e-20, 2.0]), np.eye(3))
    np.testing.assert_allclose(eig.integral(1.0, 2.0), [2.0, 2.0, (1 - np.exp(-4.0)) / 2.0], rtol=1e-12)


def test_quadrature_falls_back_to_monte_carlo_in_high_dimension():
    rng = np.random.default_rng(4)
    x = np.hstack([rng.uniform(-1, 1, size=(3, 7)), np.ones((3, 1))])
    from asymexp.inputs.problems import problem_from_mapping

    p = problem_from_mapping({"activation": "tanh", "init": {"c": "uniform(-1,1)", "w": "uniform(-1,1)"},
                              "data": {"x": x.tolist(), "y": [0.1, 0.2, 0.3]}})
    th = shallow_theory(p, 0.75, [1.0], order=0, n_samples=2000)
    assert th.method == "monte-carlo" and any("Monte Carlo instead" in n for n in th.notes)
