"""gamma = 1, the mean-field end (docs/theory/7-random-terms.md, "gamma = 1"; docs/validation.md, "gamma = 1"):
the prediction block's contract, the eps = 1 node flow against a plain transcription of the mean-field ODE, c_t(1)
against second differences of that flow in the node weights, z-scores of a seeded simulation, and
ShallowTheory.mean with its c_t / N term."""
from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from asymexp.errors import SpecError
from asymexp.inputs.problems import load_problem, problem_from_mapping
from asymexp.numeric import linear_response, mean_field_terms, random_terms, variance_correction
from asymexp.numeric.finite_n import inverse_n_mean_term
from asymexp.numeric.quadrature import SampleSet, quadrature_samples
from asymexp.validation import prediction, prediction_cache

#: A small tanh problem (two training points and a probe in R^2, the last coordinate a bias): the whole prediction
#: costs seconds here.
SMALL = {"activation": "tanh", "alpha": 1.0, "init": {"c": "uniform(-1,1)", "w": "normal(0,1)"},
         "data": {"x": [[0.6, 1.0], [-0.8, 1.0]], "y": [0.5, -0.4], "probe": [[0.1, 1.0]]}}


@pytest.fixture(scope="module")
def small():
    return problem_from_mapping(SMALL)


# -- the block's contract, on fakes ------------------------------------------------------------------------------

@pytest.fixture
def fakes(monkeypatch):
    """The five stages replaced by fakes with distinct values; counts the deterministic flows."""
    P = 5
    rng = np.random.default_rng(3)
    v = {k: rng.standard_normal(P) / 7.0 for k in ("c", "B", "BN", "BN1", "c1", "D", "V", "Ve")}
    v["V"], v["Ve"] = np.abs(v["V"]) + 0.1, np.abs(v["Ve"]) + 0.2
    count = {"flow": 0, "eps": None}

    def terms(problem, t):
        return SimpleNamespace(c=v["c"][None], B=v["B"][None], BN=v["BN"][None], V=v["V"][None],
                               errors={"c": np.full((1, P), 1e-9), "B": np.full((1, P), 1e-9),
                                       "BN": np.full((1, P), 1e-9)},
                               parts={"kernel": v["c"][None], "tilt": 0 * v["c"][None], "offset": 0 * v["c"][None]},
                               kappa=39.0, w_nodes=100, tolerance={"met": True}, times=np.array([t]))

    def deterministic_part(problem, rt, eps_values):
        count["flow"] += 1
        count["eps"] = list(eps_values)
        return np.stack([v["D"][None]] * len(eps_values)), np.full((len(eps_values), 1, P), 1e-8)

    def variance_part(problem, rt, eps_values, t, rules):
        e = len(eps_values)
        return np.stack([v["Ve"]] * e), np.full((e, P), 1e-7), np.zeros((e, P))

    monkeypatch.setattr(prediction, "terms", terms)
    monkeypatch.setattr(prediction, "remainder_rules", lambda problem, t: None)
    monkeypatch.setattr(prediction, "mean_field_c", lambda problem, rt: {
        "c_eps": v["c1"].tolist(), "c_eps_error": [1e-5] * P, "c_eps_bracket": (v["c1"] - v["c"]).tolist(),
        "BN_eps": v["BN1"].tolist(), "BN_eps_error": [1e-5] * P, "BN_eps_bracket": (v["BN1"] - v["BN"]).tolist()})
    monkeypatch.setattr(prediction, "eps_slope", lambda problem, t: pytest.fail("no eps-slope at gamma = 1"))
    monkeypatch.setattr(random_terms, "deterministic_part", deterministic_part)
    monkeypatch.setattr(linear_response, "variance_part", variance_part)
    monkeypatch.setattr(prediction_cache, "user_folder", lambda: None)
    return v, count


def test_the_gamma_one_block_has_the_shallow_contract_with_every_term_at_eps_one(fakes):
    v, count = fakes
    problem = load_problem("tanh4.toml")
    widths = [64, 128, 256]
    rows = [{"mean": v["D"] + v["c1"] / n + 1e-6, "mean_se": np.full(5, 1e-5),
             "var": (v["Ve"] + v["BN1"] / n) / n, "var_se": np.full(5, 1e-5)} for n in widths]
    pr = prediction.predict(problem, Fraction(1), 1.0, widths, rows, "flow", None, False)
    for key in ("applicable", "terms", "omitted", "z_mean", "z_var", "holds_mean", "holds_var", "holds_from",
                "verdict", "verdict_reason", "mean", "var", "mean_error", "var_error", "c_eps", "c_eps_error",
                "BN_eps", "BN_eps_error"):
        assert key in pr
    assert pr["applicable"] is True
    assert count["flow"] == 1 and count["eps"] == [1.0]           # one flow: every width has eps = 1
    for i, n in enumerate(widths):
        np.testing.assert_allclose(pr["mean"][i], v["D"] + v["c1"] / n, rtol=1e-15, atol=0)
        np.testing.assert_allclose(pr["var"][i], (v["Ve"] + v["BN1"] / n) / n, rtol=1e-15, atol=0)
        np.testing.assert_allclose(pr["z_mean"][i], 0.1, rtol=1e-6)
        np.testing.assert_allclose(pr["omitted_mean"][i], np.abs(v["c1"]) / n ** 2, rtol=1e-15)
        big = np.maximum(np.maximum(v["V"], np.abs(v["B"])), np.abs(v["BN"]))
        np.testing.assert_allclose(pr["omitted_var"][i], big / n ** 3, rtol=1e-15)
    assert pr["verdict"]["mean"] in ("agree", "disagree", "undetermined")
    assert "eps = 1" in " ".join(pr["terms"]["mean"])


def test_gamma_one_is_predicted_for_flow_and_gd_but_not_for_sgd():
    problem = load_problem("tanh4.toml")
    assert prediction.not_applicable(problem, Fraction(1), "flow") is None
    assert prediction.not_applicable(problem, Fraction(1), "gd") is None
    assert prediction.not_applicable(problem, Fraction(1), "sgd") is None      # measured against GD's, no verdict
    assert "gradient flow and full-batch GD" in prediction.not_applicable(problem, Fraction(1), "langevin")


# -- the eps = 1 flow and its 1/N term against independent computations -----------------------------------------

def _plain_flow(problem, c, w, weight, t):
    """The mean-field ODE at eps = 1 written out for tanh: dc_k/dt = (alpha/M) sum_m r_m tanh(w_k.x_m),
    dw_k/dt = (alpha/M) sum_m r_m c_k (1 - tanh^2) x_m, g = sum_k weight_k c_k tanh(w_k . x); RK45 at rtol 1e-11."""
    x, y, a, m, k = problem.x, problem.y, problem.alpha, problem.x.shape[0], len(c)

    def rhs(_, z):
        cc, ww = z[:k], z[k:].reshape(k, -1)
        th = np.tanh(ww @ x.T)
        r = y - (weight * cc) @ th
        return np.concatenate([a / m * th @ r, ((a / m * (cc[:, None] * (1 - th ** 2)) * r) @ x).ravel()])

    z = solve_ivp(rhs, (0, t), np.concatenate([c, w.ravel()]), rtol=1e-11, atol=1e-13, method="RK45").y[:, -1]
    return (weight * z[:k]) @ np.tanh(z[k:].reshape(k, -1) @ problem.points.T)


def test_the_eps_one_node_flow_is_the_plain_mean_field_ode(small):
    s = quadrature_samples(small.c_law, small.w_law, small.points, 4, c_nodes=3)
    got = random_terms.deterministic_flow(small, s, 1.0, [1.5])[0]
    want = _plain_flow(small, s.c, s.w, s.weight, 1.5)
    # DOP853 at rtol 1e-13 against RK45 at 1e-11: both far below 1e-9 of outputs of order 0.1
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    assert np.abs(got).max() > 1e-2


def test_c_at_eps_one_is_half_the_weighted_second_difference_of_the_flow(small):
    """c(1) = (1/2) sum_j w_j D^2 G[e_j - w, e_j - w] on one Gauss rule, by central second differences of the
    node flow in the weights (no sensitivity equations); the error of the difference is |D(h) - D(2h)| / 3."""
    order, c_nodes, t = 2, 2, 1.0
    s = quadrature_samples(small.c_law, small.w_law, small.points, order, c_nodes=c_nodes)
    c, _ = inverse_n_mean_term(small, [t], quad_order=order, eps=1.0, c_nodes=c_nodes, steps_per_unit=80)
    w = s.weight

    def second(h):
        g0 = random_terms.deterministic_flow(small, s, 1.0, [t], fold=False)[0]
        out = np.zeros_like(g0)
        for j in range(len(w)):
            d = -w.copy()
            d[j] += 1.0
            gp, gm = (random_terms.deterministic_flow(small, SampleSet(s.c, s.w, w + sgn * h * d, s.kind, s.order,
                                                                       s.c_nodes), 1.0, [t], fold=False)[0]
                      for sgn in (1.0, -1.0))
            out += 0.5 * w[j] * (gp - 2 * g0 + gm) / h ** 2
        return out

    fine, coarse = second(1e-2), second(2e-2)
    err = np.abs(fine - coarse) / 3 + 1e-9                  # + RK4 (80 steps) against DOP853, measured < 1e-9
    assert np.abs(fine).max() > 100 * err.max()
    np.testing.assert_array_less(np.abs(c[0] - fine), 2 * err)
    # the check tells eps = 1 from the eps -> 0 limit: c(1) - c(0.02) is about 7e-4 here, err about 2e-8
    c_small, _ = inverse_n_mean_term(small, [t], quad_order=order, eps=0.02, c_nodes=c_nodes, steps_per_unit=80)
    assert np.abs(c[0] - c_small[0]).max() > 100 * err.max()


def test_the_bracket_refuses_bad_rules_and_eps(small):
    with pytest.raises(SpecError, match="eps = 1.5"):
        mean_field_terms.mean_term_at(small, 1.0, 1.5, np.zeros(3), np.zeros(3))
    with pytest.raises(SpecError, match="quad_order = 2"):
        mean_field_terms.mean_term_at(small, 1.0, 1.0, np.zeros(3), np.zeros(3), quad_order=2)


# -- ShallowTheory.mean with c_t / N ------------------------------------------------------------------------------

def test_shallow_theory_mean_includes_c_over_n_once_attached(small):
    from asymexp.numeric.shallow_theory import shallow_theory

    th = shallow_theory(small, Fraction(3, 4), [1.0])
    rt = random_terms.random_terms(small, [1.0])
    with_c = mean_field_terms.with_inverse_n(th, rt)
    for n in (64, 1000):
        eps = n ** -0.25
        np.testing.assert_allclose(th.mean(n), th.h + eps ** 2 * th.Q2, rtol=1e-14, atol=0)    # Q1 = 0: symmetric c
        np.testing.assert_allclose(with_c.mean(n) - th.mean(n), rt.c / n, rtol=1e-12, atol=1e-18)
    assert "c" in with_c.errors and th.c is None
    with pytest.raises(SpecError, match="shape"):
        mean_field_terms.with_inverse_n(th, random_terms.random_terms(small, [0.5, 1.0]))


# -- the prediction against simulated networks --------------------------------------------------------------------

def test_the_gamma_one_prediction_matches_simulated_networks(small):
    """gamma = 1, widths 32 and 64, 2048 replicas (seed 11), gradient flow on the small problem. Under the prediction
    each z is a standard normal up to the omitted terms (the Monte Carlo SE from the replicas); the family-wise 5%
    limit (Bonferroni, valid for correlated cells) bounds the 6 cells of each quantity. The mean's cells are judged
    (|c(1)|/N^2 is below the SE), and so are the variance's: with B_N taken at eps = 1 its omitted term is relative
    N^-2, max(V, |B|, |B_N|)/N^3, below the SE. Each check can fail: without c_t(1)/N, or with the eps -> 0
    constant V instead of V_t(1), some residual lies beyond the limit."""
    from asymexp.validation.shallow_validation import validate_shallow

    widths = [32, 64]
    doc = validate_shallow(small, Fraction(1), widths, 2048, t=1.0, seed=11, progress=False)
    pr = doc["prediction"]
    assert pr["applicable"] and pr["verdict"]["mean"] == "agree" and np.all(pr["holds_mean"])
    assert pr["verdict"]["var"] == "agree" and np.all(pr["holds_var"])
    limit = prediction.bonferroni_limit(6)
    assert np.max(np.abs(pr["z_mean"])) <= limit and np.max(np.abs(pr["z_var"])) <= limit
    mean, mean_se, var, var_se = (np.array(doc[k]) for k in ("mean", "mean_se", "var", "var_se"))
    n = np.array(widths)[:, None]
    assert np.max(np.abs((mean - np.array(pr["deterministic"])) / mean_se)) > limit
    small_eps = (np.array(doc["theory"]["V"]) + np.array(pr["B_N"]) / n) / n
    assert np.max(np.abs((var - small_eps) / var_se)) > limit


def test_the_gamma_one_estimate_counts_one_flow_and_the_bracket(monkeypatch):
    """At gamma = 1 every width has eps = 1 (one flow) and the particle brackets of c and B^N add their K^2 work."""
    from asymexp import budget

    monkeypatch.setattr(prediction_cache, "user_folder", lambda: None)
    problem = load_problem("tanh4.toml")
    one = prediction.estimate(problem, Fraction(1), 1.0, [64, 128, 256, 512], "flow")
    more = prediction.estimate(problem, Fraction(1), 1.0, [64, 128, 256, 512, 1024, 2048], "flow")
    memory, flops = mean_field_terms.bracket_cost(problem, 1.0)
    flops += variance_correction.cost_flops(problem, 1.0)
    assert one.flops == more.flops and flops > 0                 # the widths share one eps
    below = prediction.estimate(problem, Fraction(3, 4), 1.0, [64], "flow")
    assert one.flops == pytest.approx(below.flops + flops, rel=1e-12)     # the flows of one width, and the bracket
    assert one.bytes == max(below.bytes, memory)
    assert (mean_field_terms.bracket_cost(problem, 2.0)[1] + variance_correction.cost_flops(problem, 2.0)
            == pytest.approx(2 * flops, rel=1e-12))
    assert budget.Estimate("x", 0.0, flops).seconds > 60                       # minutes on tanh4.toml, as measured


def test_the_report_prints_no_eps2_coefficient_at_gamma_one():
    """At gamma = 1, eps = 1 at every width: the report names no eps^2 coefficient b1 (it does below gamma = 1)."""
    import json
    from pathlib import Path

    from asymexp.validation.markdown_report import markdown

    runs = Path(__file__).resolve().parents[1] / "docs" / "runs"
    assert "b1 =" not in markdown(json.loads((runs / "validate_tanh4_g1" / "result.json").read_text()))
    assert "b1 =" in markdown(json.loads((runs / "validate_tanh4_toy" / "result.json").read_text()))


# -- the bracket's value, error and cost, by hand ------------------------------------------------------------------

def test_the_mean_term_is_c0_plus_the_bracket_and_its_error_twice_the_rule_change(small):
    """mean_term_at on the rule (3 w-nodes, 2 c-nodes): c_t(1) = c_0 + [c^rule(1) - c^rule(EPS_REF)], each
    c^rule from the particle method directly; the error = c_0's + 2 |bracket - the bracket on (2, 1) nodes| (the
    module's docstring: twice the difference from the rule with one node fewer in each), up to the error rule's
    rounding floor ROUNDING (|v| + max |v|)."""
    from asymexp.numeric.error_control import ROUNDING

    def c_rule(order, c_nodes, eps):
        return inverse_n_mean_term(small, [0.5], quad_order=order, eps=eps, c_nodes=c_nodes)[0][0]

    c0, c0_error = np.array([0.3, -0.2, 0.1]), np.array([1e-3, 2e-3, 3e-3])
    value, error, bracket = mean_field_terms.mean_term_at(small, 0.5, 1.0, c0, c0_error, quad_order=3, c_nodes=2)
    fine = c_rule(3, 2, 1.0) - c_rule(3, 2, mean_field_terms.EPS_REF)
    coarse = c_rule(2, 1, 1.0) - c_rule(2, 1, mean_field_terms.EPS_REF)
    assert np.all(np.abs(fine) > 1e-6) and np.all(np.abs(fine - coarse) > 1e-6)     # both terms can be seen
    np.testing.assert_allclose(bracket, fine, rtol=1e-12, atol=0)
    np.testing.assert_allclose(value, c0 + fine, rtol=1e-12, atol=0)
    floor = ROUNDING * (np.abs(fine) + np.abs(fine).max())
    assert np.all(np.abs(error - c0_error - 2 * np.abs(fine - coarse)) <= floor + 1e-15 * c0_error)


def test_the_bracket_cost_by_hand(small):
    """The small problem: M = 2 training points in d = 2 (d + 1 = 3), the 3 evaluation points span R^2, so a
    rule of q w-nodes per dimension and c c-nodes has q^2 c nodes: K = 144 on (6, 4) and 75 on (5, 3). Work:
    two flows (eps, EPS_REF) on each rule, BRACKET_FLOPS per (pair, point, coordinate, unit time), at least 1/40
    of a unit of time; memory 8 bytes x K^2 (12 (d + 1) + 20 M) on the larger rule."""
    per_unit = mean_field_terms.BRACKET_FLOPS * 2.0 * (144 ** 2 + 75 ** 2) * 2 * 3
    memory, flops = mean_field_terms.bracket_cost(small, 1.0)
    assert memory == 8.0 * 144 ** 2 * (12 * 3 + 20 * 2)
    assert flops == pytest.approx(per_unit, rel=1e-14)
    assert mean_field_terms.bracket_cost(small, 0.01)[1] == pytest.approx(per_unit / 40, rel=1e-14)


@pytest.mark.parametrize("name,measured_s", [("tanh4.toml", 345.0), ("sigmoid4.toml", 350.0)])
def test_the_bracket_cost_reproduces_its_calibration_runs(name, measured_s):
    """BRACKET_FLOPS is calibrated on two measured brackets at t = 1 (345 and 350 s, the module's docstring): the
    estimate at RATE_FLOPS gives each within 6% (one constant for both: their own 1.5% spread, plus the constant's
    rounding to two digits, up to 4%)."""
    from asymexp import budget

    _, flops = mean_field_terms.bracket_cost(load_problem(name), 1.0)
    assert budget.Estimate("x", 0.0, flops).seconds == pytest.approx(measured_s, rel=0.06)
