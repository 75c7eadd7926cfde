"""Small statistical validations (seeded; tolerances are 5 Monte Carlo standard errors, not tuned).

- at t = 0 the sample variance of g_0 equals the exact N^{1-2gamma} S(x, x) (i.i.d. units: exact at every N);
- the control-variate estimators (variance and mean) agree with the plain antithetic ones (both unbiased);
- the frozen kernel by quadrature agrees with a Monte Carlo average over the initial law.
"""
import numpy as np

from asymexp.sim import simulate
from asymexp.inputs.problems import load_problem
from asymexp.stats import estimators as est
from asymexp.numeric.problem_kernel import frozen_kernel

PROBLEM = load_problem("tanh4.toml")
FK = frozen_kernel(PROBLEM)


def test_initial_variance_is_exact_at_finite_width():
    N, g = 32, 0.75
    spec = PROBLEM.spec(["3/4"], [N])
    res = simulate(spec, PROBLEM.x, PROBLEM.y, PROBLEM.points, [0.0], 4000, seed=11, antithetic=False,
                   dynamics="gd")
    e = est.variance_estimate(res.g0, antithetic=False)
    exact = N ** (1 - 2 * g) * np.diag(FK.S)
    assert np.all(np.abs(e.value - exact) < 5 * e.se)


def test_control_variates_agree_with_plain_estimators():
    N, g, t = 32, 0.75, 1.0
    spec = PROBLEM.spec(["3/4"], [N])
    res = simulate(spec, PROBLEM.x, PROBLEM.y, PROBLEM.points, [t], 1200, seed=12, dynamics="flow", flow_dt=1 / 16)
    gt = res.outputs[:, 0]
    L, V = FK.propagator(t), FK.V(t)
    plain = est.variance_estimate(gt, True)
    cv = est.variance_estimate(gt, True, res.g0 @ L.T, N ** (1 - 2 * g) * V)
    # both unbiased; Var(a - b) <= se_a^2 + se_b^2 when they are positively correlated (same replicas)
    assert np.all(np.abs(plain.value - cv.value) < 5 * np.hypot(plain.se, cv.se))
    assert np.all(cv.se < plain.se / 3)
    phi = FK.kernel_response(t, PROBLEM.y, PROBLEM.alpha)
    k = np.einsum("pjm,rjm->rp", phi, res.ntk0 - FK.A[None, :, :4])
    m_plain, m_cv = est.mean_estimate(gt, True), est.mean_estimate(gt, True, k)
    assert np.all(np.abs(m_plain.value - m_cv.value) < 5 * np.hypot(m_plain.se, m_cv.se))
    assert np.all(m_cv.se < m_plain.se / 3)


def test_frozen_kernel_quadrature_matches_monte_carlo():
    rng = np.random.default_rng(13)
    n = 200_000
    w = rng.standard_normal((n, 3))
    c = rng.uniform(-1, 1, n)
    pts = PROBLEM.points
    H = np.tanh(w @ pts.T)
    D = 1 - H**2
    samples_A = H[:, :, None] * H[:, None, :] + (c**2)[:, None, None] * D[:, :, None] * D[:, None, :] * (pts @ pts.T)
    samples_S = (c**2)[:, None, None] * H[:, :, None] * H[:, None, :]
    for mc, quad in ((samples_A, FK.A), (samples_S, FK.S)):
        se = mc.std(axis=0) / np.sqrt(n)
        assert np.all(np.abs(mc.mean(axis=0) - quad) < 5 * se)
    assert FK.error < 1e-6  # 120 vs 240 nodes


def test_deep_control_variate_agrees_with_plain_estimator():
    from asymexp.validation.deep_validation import deep_propagator

    problem = load_problem("sigmoid4.toml")
    gammas, N, t = ["7/10", "9/10"], 16, 1.0
    spec = problem.spec(gammas, [N, N])
    res = simulate(spec, problem.x, problem.y, problem.points, [t], 800, seed=14, dynamics="gd")
    # the Gram of the last hidden layer, recomputed from the replicas' initial weights by a plain forward pass
    from asymexp.nn.layout import build_layout
    from asymexp.sim import initial_parameters

    lay = build_layout(spec)
    thetas, _ = initial_parameters(spec, lay, 14, 0, 20, True)
    for r, theta in enumerate(thetas):
        h1 = 1 / (1 + np.exp(-(lay.block(theta, 0) @ problem.points.T)))                    # (N, P)
        h2 = 1 / (1 + np.exp(-(lay.scales[1] * lay.block(theta, 1) @ h1)))                 # (N, P)
        np.testing.assert_allclose(res.hidden_gram[r], h2.T @ h2, rtol=1e-12)   # float64 rounding only
    np.testing.assert_allclose(np.einsum("rpp->rp", res.hidden_gram), res.hidden_sq, rtol=1e-14)
    L = deep_propagator(problem, gammas, [N, N], t)
    second = N ** -1.8 / 3 * np.einsum("xi,rij,xj->rx", L, res.hidden_gram, L)
    gt = res.outputs[:, 0]
    plain = est.variance_estimate(gt, True)
    cv = est.variance_estimate(gt, True, res.g0 @ L.T, second)
    # both unbiased (E[c^2] = E[c^2 | inner weights] averaged); 5 combined SEs
    assert np.all(np.abs(plain.value - cv.value) < 5 * np.hypot(plain.se, cv.se))
    assert np.all(cv.se < plain.se / 3)
