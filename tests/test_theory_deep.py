"""Deep (L >= 2) frozen kernel and variance constant (docs/theory/4-deep-networks.md)."""
import numpy as np
import pytest

from asymexp.errors import SpecError
from asymexp.spec import Law, NetworkSpec
from asymexp.numeric import kernel_matrices, load_problem
from asymexp.activations import sigma_derivatives
from asymexp.numeric.deep_theory import deep_frozen_kernel, deep_theory, deep_variance


@pytest.mark.parametrize("name", ["tanh4.toml", "sigmoid4.toml"])
def test_depth_one_reduces_to_the_shallow_kernel(name):
    p = load_problem(name)
    A, S, _ = kernel_matrices(p, quad_order=16)
    k = deep_frozen_kernel(p.spec([0.75], [100]), p.points, order=16)
    np.testing.assert_allclose(k.A, A, atol=1e-13)
    np.testing.assert_allclose(k.S, S, atol=1e-13)


def test_second_layer_kernel_matches_a_monte_carlo_of_the_limit_law():
    # L = 2, gamma_1 = 1/2: Z^2 ~ N(0, K_1) in the limit, K_1(x, x') = E[sigma(w.x) sigma(w.x')], w ~ N(0, I)
    p = load_problem("sigmoid4.toml")
    k = deep_frozen_kernel(p.spec([0.5, 0.75], [16, 1]).replace(widths=None), p.points, order=24)
    z, wt = np.polynomial.hermite_e.hermegauss(60)              # K_1 by a 60 x 60 rule per pair (error < 1e-12)
    wt = wt / wt.sum()
    gram, P = p.points @ p.points.T, p.points.shape[0]
    k1 = np.empty((P, P))
    for i in range(P):
        for j in range(P):
            a = np.sqrt(gram[i, i])
            rho = gram[i, j] / a
            b = np.sqrt(max(gram[j, j] - rho * rho, 0.0))
            u, v = a * z[:, None], rho * z[:, None] + b * z[None, :]
            k1[i, j] = float(np.einsum("i,j,ij->", wt, wt, 1 / (1 + np.exp(-u)) / (1 + np.exp(-v))))
    n = 200_000
    z2 = np.random.default_rng(0).standard_normal((n, P)) @ np.linalg.cholesky(k1).T           # (n, P)
    s2, d2 = sigma_derivatives("sigmoid", z2, 1)
    c2 = float(Law.parse("uniform(-1,1)").moment(2))
    u = s2[:, :, None] * s2[:, None, :] + c2 * d2[:, :, None] * d2[:, None, :] * k1              # (n, P, P)
    a_mc, se = u.mean(axis=0), u.std(axis=0, ddof=1) / np.sqrt(n)
    # seeded; 5 Monte Carlo SEs (about 3e-4 here, against a W^2 term of about 5.4e-3) plus the kernel's own
    # quadrature error estimate
    assert np.all(np.abs(a_mc - k.A) < 5 * se + k.error)
    assert np.all(c2 * (d2[:, :, None] * d2[:, None, :]).mean(axis=0) * k1 > 10 * se)   # the W^2 term is resolved


def test_sigmoid_collapse_gives_an_input_independent_kernel_and_is_reported():
    p = load_problem("sigmoid4.toml")
    d = deep_theory(p, [0.75, 0.75, 0.75], None, [1.0])
    assert d["regime"] == "sequential-limit" and d["collapse"] == (0.0, 0.0)
    assert np.ptp(d["A"]) < 1e-12 and any("does not depend on the input" in n for n in d["notes"])
    # sigma(0) = 1/2: K_C = 1/4 everywhere, S = E[C^2] / 4 = 1/12
    np.testing.assert_allclose(d["S"], np.full((5, 5), 1 / 12), atol=1e-14)


def test_tanh_collapse_stops_learning_and_finite_widths_carry_the_scale():
    p = load_problem("tanh4.toml")
    d = deep_theory(p, [0.75, 0.75, 0.75], None, [1.0])
    assert np.abs(d["A"]).max() < 1e-14 and any("learning stops" in n for n in d["notes"])
    # at finite widths Z^2 ~ N(0, v) with v = N_1^{1 - 2 gamma_1} K_1(x, x) and S(x, x) = E[C^2] E tanh(Z)^2;
    # the series E tanh(Z)^2 = v - 2 v^2 + 17/3 v^3 + O(v^4) (|v^4 coefficient| ~ 21) checks the collapse scaling
    from asymexp.numeric.deep_theory import _first_layer

    kk1 = np.diag(_first_layer("tanh", p.w_law, p.points, 32)[0])
    for n in (256, 1024):
        s = np.diag(deep_theory(p, [0.75, 0.75], [n, n], [0.0])["S"]) * 3.0  # E[C^2] = 1/3
        v = n ** (1 - 1.5) * kk1
        np.testing.assert_array_less(np.abs(s - (v - 2 * v**2 + 17 / 3 * v**3)), 30 * v**4)


def test_deep_variance_shapes_and_bad_input():
    p = load_problem("sigmoid4.toml")
    spec = p.spec([0.7, 0.9], [128, 128])
    v, kern = deep_variance(spec, p.x, p.probe, [0.0, 1.0])
    assert v.shape == (2, 5) and kern.regime == "finite-width" and np.all(v > 0)
    np.testing.assert_allclose(v[0], np.diag(kern.S), rtol=1e-12)
    bad = spec.replace(weight_laws=(Law.parse("normal(0,1)"), Law.parse("normal(1,1)"), Law.parse("uniform(-1,1)")))
    with pytest.raises(SpecError, match="W2"):
        deep_frozen_kernel(bad, p.points)
    with pytest.raises(SpecError, match="symbols"):
        deep_frozen_kernel(NetworkSpec(gammas=("g1", "g2")), p.points)


def test_finite_width_layer_two_kernel_matches_sampled_networks():
    # L = 2 sigmoid, N1 = N2 = 128, gamma = (0.7, 0.9): K_2(x, x) = E sigma(Z^2(x))^2 with
    # Z^2 = N1^{-0.7} sum_j W_j sigma(w_j . x). Given layer 1, Z^2 is exactly N(0, N1^{-1.4} sum_j sigma_j^2); the
    # theory
    # replaces that variance by its mean N1^{-0.4} K_1, an error of second order in its O(N1^{-1/2}) fluctuation
    # (far below the MC error). Seeded; 200 networks x 128 units: standard error ~ 3e-4 on ~0.26; 5 sigma.
    p = load_problem("sigmoid4.toml")
    n = 128
    spec = p.spec([0.7, 0.9], [n, n])
    kern = deep_frozen_kernel(spec, p.points)
    rng = np.random.default_rng(1)
    vals = []
    for _ in range(200):
        h1 = sigma_derivatives("sigmoid", rng.normal(size=(n, 3)) @ p.points.T, 0)[0]
        z2 = rng.normal(size=(n, n)) @ h1 * n ** -0.7
        vals.append((sigma_derivatives("sigmoid", z2, 0)[0] ** 2).mean(axis=0))
    vals = np.array(vals)
    se = vals.std(axis=0, ddof=1) / np.sqrt(len(vals))
    k2 = np.diag(kern.S) * 3.0  # S = E[C^2] K_2, E[C^2] = 1/3
    assert np.all(np.abs(vals.mean(axis=0) - k2) <= 5 * se)


def test_too_many_dimensions_for_the_product_rule_are_said_or_refused(capsys):
    """Points spanning r dimensions need 8^r product nodes once the budget's own order falls below 8: 6 dimensions
    (262144 nodes) run with a line on stderr, 9 dimensions (1.3e8 nodes) are refused before any allocation."""
    spec = NetworkSpec.from_strings(gammas="3/5,7/10", widths="64,64", activation="sigmoid")
    rng = np.random.default_rng(0)
    with pytest.raises(SpecError, match=r"9 input dimensions.*8\^9"):
        deep_frozen_kernel(spec.replace(input_dim=9), 0.3 * rng.standard_normal((9, 9)))
    small = 0.3 * rng.standard_normal((6, 6))
    from asymexp.numeric.deep_theory import _fallback_order

    assert _fallback_order(spec.replace(input_dim=6), small) == 8
    err = capsys.readouterr().err
    assert "6 input dimensions exceed the node budget" in err and "262144 nodes" in err
