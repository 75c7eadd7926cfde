"""The fourth cumulant of g^N_0 (docs/theory/8-initial-cumulants.md): the deep linear case exactly, one hidden layer
against a direct quadrature of E g^4, the deep tanh vertex against its known large-depth slope, simulation, the
sample k4 estimator, and the JSON contract of `asymexp theory --time 0`."""
import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, strategies as st

from asymexp.cli import main
from asymexp.numeric import load_problem
from asymexp.numeric.initial_cumulants import Layers, initial_cumulant4
from asymexp.spec import Law
from asymexp.stats.cumulants import fourth_cumulant

HALF = Fraction(1, 2)


def _linear(depth, n, c_law, x):
    return initial_cumulant4(Layers("identity", (HALF,) * depth, (n,) * depth,
                                    (Law("normal", 0, 1),) * depth + (c_law,)), x)


@given(depth=st.integers(1, 6), n=st.integers(2, 300), u=st.floats(-2, 2), v=st.floats(0.1, 2))
def test_deep_linear_closure_is_exact(depth, n, u, v):
    """sigma = identity: M_{l+1} | layer l has mean M_l and variance 2 M_l^2 / n, so Var M_L = K^2 ((1 + 2/n)^L - 1)
    and E phi^4 = 3 K^2 (1 + 2/n)^(L-1) exactly (K = |x|^2); the first-order term is 2 L K^2 / n (the (l - 1)/n
    growth of the four-point vertex of deep linear nets, docs/theory/8-initial-cumulants.md)."""
    x = np.array([[u, v]])
    k = u * u + v * v
    c = Law("uniform", -1, 1)
    s4, m4 = 1.0 / 9.0, 1.0 / 5.0
    exact = (m4 - 3 * s4) * 3 * k * k * (1 + 2 / n) ** (depth - 1) / n + 3 * s4 * k * k * ((1 + 2 / n) ** depth - 1)
    leading = (m4 - 3 * s4) * 3 * k * k / n + 3 * s4 * 2 * depth * k * k / n
    r = _linear(depth, n, c, x)
    scale = max(abs(exact), k * k / n)
    assert abs(r.scaled[0] - exact) <= 1e-9 * scale       # the cubic fit's rounding (test below)
    assert abs(r.leading[0] - leading) <= 1e-12 * scale
    assert abs(exact - r.leading[0]) <= r.scaled_error[0] * (1 + 1e-9) + 1e-12 * scale


def test_deep_linear_gaussian_c_matches_the_known_vertex():
    """Gaussian weights everywhere (C ~ N(0,1)): kappa_4 = 3 K^2 ((1 + 2/n)^L - 1), the exact deep linear result;
    its first order 6 L K^2 / n, i.e. the vertex V = 2 (l - 1) K^2 at layer l = L + 1."""
    x = np.array([[0.6, -0.8, 1.0]])
    k = 2.0
    for depth, n in ((1, 16), (3, 16), (5, 7)):
        r = _linear(depth, n, Law("normal", 0, 1), x)
        # rel 1e-9: rounding of the cubic fit for F'' (eps / (5 h / q)^2 with h = q / 100)
        assert r.scaled[0] == pytest.approx(3 * k * k * ((1 + 2 / n) ** depth - 1), rel=1e-9)
        assert r.leading[0] == pytest.approx(6 * depth * k * k / n, rel=1e-12)
        np.testing.assert_allclose(r.per_layer[0], np.full(depth, 6 * k * k / n), rtol=1e-12)


def _direct_two_units(activation, x, gamma, nodes):
    """kappa_4 of g = 2^-gamma (C1 sigma(w1 x) + C2 sigma(w2 x)), x scalar, w ~ N(0,1), C ~ U(-1,1): E g^4 and
    E g^2 by a product rule over (C1, C2, w1, w2) (C: 3-node Gauss-Legendre, exact for C^4)."""
    from asymexp.activations import sigma_derivatives

    z, wz = np.polynomial.hermite_e.hermegauss(nodes)
    wz = wz / wz.sum()
    c, wc = np.polynomial.legendre.leggauss(3)
    wc = wc / wc.sum()
    s = sigma_derivatives(activation, x * z, 0)[0]
    g = (c[:, None, None, None] * s[None, None, :, None] + c[None, :, None, None] * s[None, None, None, :]) / 2 ** gamma
    w = wc[:, None, None, None] * wc[None, :, None, None] * wz[None, None, :, None] * wz[None, None, None, :]
    return float((w * g ** 4).sum() - 3 * (w * g ** 2).sum() ** 2)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("gamma", [HALF, Fraction(3, 4)])
def test_one_hidden_layer_against_direct_quadrature(activation, gamma):
    """L = 1 is exact: the formula at N = 2 against E g^4 - 3 (E g^2)^2 summed directly over both units; the
    reference's error is its change from 160 to 200 Gauss-Hermite nodes."""
    x = 0.9
    ref, ref_coarse = _direct_two_units(activation, x, float(gamma), 200), _direct_two_units(activation, x,
                                                                                               float(gamma), 160)
    r = initial_cumulant4(Layers(activation, (gamma,), (2,), (Law("normal", 0, 1), Law("uniform", -1, 1))),
                          np.array([[x]]))
    tol = 10 * abs(ref - ref_coarse) + float(r.error[0]) + 1e-13
    assert abs(r.cumulant4[0] - ref) <= tol
    assert r.cumulant4[0] == pytest.approx(r.scaled[0] * 2.0 ** (2 - 4 * float(gamma)), rel=1e-14)


def test_deep_tanh_vertex_grows_like_two_thirds_of_depth():
    """Critical tanh (C_W = 1, gamma = 1/2, Gaussian C): the normalized vertex V / K^2 = n kappa_4 / (3 K^2) of
    the first order grows like (2/3) l, with a log(l) / l correction (the K* = 0 class; docs/theory/8): derived in
    docs/theory/8 from K_l ~ 1 / (2 l) and chi_l ~ 1 - 4 / l. The ratio at l = 300 lies between 0.65 and 2/3."""
    x = np.array([[0.6, -0.8, 1.0]])
    n, ratios = 10 ** 6, []
    for depth in (30, 100, 300):
        r = initial_cumulant4(Layers("tanh", (HALF,) * depth, (n,) * depth,
                                     (Law("normal", 0, 1),) * (depth + 1)), x)
        ratios.append(n * r.leading[0] / (3 * r.variance[0] ** 2) / depth)
    assert ratios[0] < ratios[1] < ratios[2] < 2 / 3
    assert 2 / 3 - ratios[2] < 0.02


def test_fourth_cumulant_estimator_matches_the_k_statistic_and_covers_the_truth():
    from scipy.stats import kstat

    rng = np.random.default_rng(3)
    g = rng.uniform(-1, 1, size=(200_000, 2))
    k4, se = fourth_cumulant(g)
    assert k4[0] == pytest.approx(kstat(g[:, 0], 4), rel=1e-9)
    # U(-1, 1): kappa_4 = 1/5 - 3/9 = -2/15; the seeded draw's k4 within 4 SE
    assert np.all(np.abs(k4 + 2 / 15) <= 4 * se)


@pytest.mark.parametrize("problem,gammas,widths", [("tanh4.toml", ["1/2", "1/2", "1/2"], [8, 8, 8]),
                                                   ("sigmoid4.toml", ["1/2", "1/2"], [8, 8])])
def test_simulation_agrees(problem, gammas, widths):
    """2^16 seeded networks at t = 0: |z| <= 3.5 at every point (docs/runs/cumulant4_t0 runs 2^18 per case)."""
    from asymexp.validation.cumulant_check import cumulant4_check

    row = cumulant4_check(load_problem(problem), gammas, widths, 2 ** 16, seed=5)
    assert row["holds"], row["z"]


def test_simulation_sees_the_inner_layers():
    """The test above can fail: at tanh (1/2, 1/2, 1/2), widths 8, the inner layers' part of kappa_4 is over 3.5
    SE of 2^16 networks, so the one-hidden-layer formula on the last layer alone is rejected."""
    from asymexp.validation.cumulant_check import cumulant4_check

    problem = load_problem("tanh4.toml")
    spec = problem.spec(["1/2"] * 3, [8] * 3)
    row = cumulant4_check(problem, ["1/2"] * 3, [8] * 3, 2 ** 16, seed=5)
    inner = initial_cumulant4(spec, problem.points).per_layer[:, :-1].sum(axis=1)
    wrong = np.array(row["theory"]) - inner
    assert np.all(np.abs(np.array(row["k4"]) - wrong) > 3.5 * np.array(row["se"]))


def _theory_json(capsys, *args):
    assert main(["theory", "--problem", "tanh4.toml", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_theory_json_t0_keys_shallow_and_deep(capsys):
    problem = load_problem("tanh4.toml")
    p = problem.points.shape[0]
    for gamma, widths in (("3/4", "8"), ("1/2,9/10", "8,16")):
        doc = _theory_json(capsys, "--gamma", gamma, "--widths", widths, "--time", "0", "--order", "0")
        spec = problem.spec(gamma.split(","), [int(w) for w in widths.split(",")])
        expected = initial_cumulant4(spec, problem.points)
        np.testing.assert_allclose(doc["cumulant4"], expected.cumulant4, rtol=1e-12)
        np.testing.assert_allclose(doc["errors"]["cumulant4"], expected.error, rtol=1e-12, atol=1e-300)
        cov = np.array(doc["cov"])
        assert cov.shape == (p, p) and np.allclose(cov, cov.T)
        assert np.array(doc["errors"]["cov"]).shape == (p, p)
        # the diagonal of cov is V at t = 0 (Var g = N_L^(1 - 2 gamma_L) S)
        np.testing.assert_allclose(np.diag(cov), doc["V"], rtol=1e-9)
    doc = _theory_json(capsys, "--gamma", "1/2,9/10", "--widths", "8,16", "--time", "1")
    assert "cumulant4" not in doc and "cov" not in doc and len(doc["h"]) == p


@pytest.mark.parametrize("args,word", [(["--gamma", "0.75", "--widths", "8", "--time", "1"], "--time"),
                                       (["--gamma", "0.5,0.5", "--widths", "8", "--time", "0"], "2 gammas"),
                                       (["--gamma", "0.5,0.5", "--widths", "8,0", "--time", "0"], "'0'"),
                                       (["--gamma", "0.5,0.5", "--time", "0", "--inverse-n"], "--inverse-n"),
                                       (["--gamma", "0.5,0.5", "--time", "0", "--nodes", "1000"], "--nodes 1000")])
def test_theory_t0_refusals_are_one_line(args, word):
    proc = subprocess.run([sys.executable, "-m", "asymexp", "theory", "--problem", "tanh4.toml", *args, "--json"],
                          capture_output=True, text=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and word in lines[0] and "Traceback" not in proc.stderr


def test_one_hidden_layer_with_uniform_first_layer():
    """W1 ~ U(-1,1) on two input dimensions (the product-rule branch): (1) against a 200 x 200 Gauss-Legendre
    rule for E tanh(w . x)^2, E tanh(w . x)^4 (entire in w on the square's neighbourhood: error near rounding)."""
    x = np.array([[0.7, -0.4]])
    net = Layers("tanh", (HALF,), (4,), (Law("uniform", -1, 1), Law("uniform", -1, 1)))
    r = initial_cumulant4(net, x)
    z, w = np.polynomial.legendre.leggauss(200)
    w1, w2 = np.meshgrid(z, z, indexing="ij")
    weight = np.outer(w, w) / 4
    s = np.tanh(0.7 * w1 - 0.4 * w2)
    e2, e4 = (weight * s ** 2).sum(), (weight * s ** 4).sum()
    ref = ((1 / 5 - 3 / 9) * e4 + 3 / 9 * (e4 - e2 * e2)) / 4
    assert abs(r.scaled[0] - ref) <= float(r.scaled_error[0]) + 1e-15
