"""Full-batch GD's step terms (asymexp/numeric/gd_terms.py; docs/theory/7-random-terms.md, "Full-batch GD") and the
GD and SGD prediction blocks (asymexp/validation/prediction.py).

The step terms are deterministic, so the checks are exact relations between independent computations: the Euler
map of random_terms' node field against the particle method of finite_n (a second implementation of the same
velocity, with sensitivities), the sensitivities against central differences of the map, and the shift's O(h)
scaling."""
from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.inputs.problems import load_problem
from asymexp.numeric import finite_n, gd_terms
from asymexp.numeric.quadrature import SampleSet, quadrature_samples
from asymexp.numeric.random_terms import deterministic_flow, euler_map
from asymexp.numeric.trapezoid_rule import trapezoid_samples
from asymexp.validation import prediction


@pytest.fixture(scope="module")
def problem():
    return load_problem("tanh4.toml")


@pytest.fixture(scope="module")
def small_rule(problem):
    return quadrature_samples(problem.c_law, problem.w_law, problem.points, 3, c_nodes=3)


def test_the_simulators_step_count_is_round_t_n():
    assert [gd_terms.gd_steps(1.0, n) for n in (64, 128)] == [64, 128]
    assert gd_terms.gd_steps(0.5, 3) == 2 and gd_terms.gd_steps(0.0, 512) == 0


def test_the_euler_shift_is_first_order_in_the_step(problem):
    # D^h - D = a h + b h^2 + ...: the shift per unit step at h and h/2 differs by the h^2 term, relatively about
    # h times the kernel's largest rate alpha lambda_max (< 1 on tanh4.toml); 3 h bounds it with room, while a
    # map of the wrong order (h^2, or O(1)) misses by a factor 2 or more.
    rule = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, problem.points, 20.0)
    eps, h = 64 ** -0.25, 1.0 / 64
    flow = deterministic_flow(problem, rule, eps, [1.0])[0]
    per_step = [(euler_map(problem, rule, eps, round(1 / s), s) - flow) / s for s in (h, h / 2)]
    assert np.all(np.abs(per_step[0]) > 1e-4)                        # the term is there to be measured
    np.testing.assert_allclose(per_step[0], per_step[1], rtol=3 * h)


def test_zero_steps_are_the_initial_output_and_folding_changes_nothing(problem, small_rule):
    eps = 0.5
    at0 = euler_map(problem, small_rule, eps, 0, 0.1)
    np.testing.assert_allclose(at0, deterministic_flow(problem, small_rule, eps, [0.0])[0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(euler_map(problem, small_rule, eps, 7, 0.1, fold=True),
                               euler_map(problem, small_rule, eps, 7, 0.1, fold=False), rtol=1e-11, atol=1e-14)


def _with_weights(rule: SampleSet, weight: np.ndarray) -> SampleSet:
    return dataclasses.replace(rule, weight=weight)


@settings(max_examples=6, deadline=None)
@given(j=st.integers(0, 80), eps=st.floats(0.2, 1.0), n=st.integers(2, 12))
def test_the_particle_sensitivities_of_the_euler_map_are_its_weight_derivatives(problem, small_rule, j, eps, n):
    # finite_n's Euler step of (theta, T1) against central differences of random_terms' Euler map in the weight
    # direction e_j - w: two implementations of the velocity; the difference step 1e-4 leaves an O(1e-8) error
    j = j % len(small_rule.weight)
    flow = finite_n._Flow(problem, small_rule, eps)
    for _ in range(n):
        flow.euler_step(1.0 / n)
    g, g1, _ = flow.outputs(flow.theta, flow.T1, flow.T2, problem.points)
    np.testing.assert_allclose(g, euler_map(problem, small_rule, eps, n, 1.0 / n, fold=False), rtol=1e-10,
                               atol=1e-12)
    om = small_rule.weight
    direction = -om.copy()
    direction[j] += 1.0
    delta = 1e-4
    up, down = (euler_map(problem, _with_weights(small_rule, om + s * delta * direction), eps, n, 1.0 / n, fold=False)
                for s in (1.0, -1.0))
    np.testing.assert_allclose(g1[j], (up - down) / (2 * delta), rtol=1e-6, atol=1e-8)


def test_the_particle_rule_and_the_refined_rule_give_the_same_mean_shift(problem):
    # two rules, two integrators of the flow (RK4 / DOP853): the shifts agree within the particle rule's error
    # estimate (difference_errors over 4, 3 and 2 nodes per dimension); the refined rule's own error is 100 times
    # smaller (kappa 20 against 25 agree to 1e-7, measured)
    eps = [64 ** -0.25]
    rule = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, problem.points, 20.0)
    fine = euler_map(problem, rule, eps[0], 64, 1 / 64) - deterministic_flow(problem, rule, eps[0], [1.0])[0]
    part = gd_terms.particle_steps(problem, eps, [64], 1.0, nodes=4)
    assert np.all(np.abs(part["dD"][0] - fine) <= part["dD_error"][0])
    assert np.all(part["dD_error"][0] < 0.5 * np.abs(fine))                          # an estimate, not a shrug
    assert np.all(part["dV_error"][0] > 0) and np.all(part["dc_error"][0] > 0)
    with pytest.raises(ValueError, match="at least 3"):
        gd_terms.particle_steps(problem, eps, [64], 1.0, nodes=2)


def test_step_shift_is_the_euler_map_minus_the_flow_on_the_terms_rule(problem):
    # step_shift against its definition on the same rule, and its error against the coarser rule's shift
    from types import SimpleNamespace

    from asymexp.numeric.error_control import STEP

    kappa = 20.0
    rule = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, problem.points, kappa)
    coarse = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, problem.points, kappa / STEP)
    widths, t = [16, 32], 0.75
    eps = [n ** -0.25 for n in widths]
    shift, err = gd_terms.step_shift(problem, SimpleNamespace(samples=rule, kappa=kappa), eps, widths, t)
    for i, (e, n) in enumerate(zip(eps, widths)):
        steps = round(t * n)
        want = euler_map(problem, rule, e, steps, 1 / n) - deterministic_flow(problem, rule, e, [t])[0]
        rough = euler_map(problem, coarse, e, steps, 1 / n) - deterministic_flow(problem, coarse, e, [t])[0]
        np.testing.assert_allclose(shift[i], want, rtol=1e-12, atol=1e-15)
        assert np.all(err[i] >= 2 * np.abs(want - rough))


def test_the_step_terms_of_one_rule_match_central_differences_of_the_map_and_the_flow(problem, small_rule):
    # dV = eps^2 (Var DG^h - Var DG) and dc = c^h - c from the particle method against sums over the rule's nodes
    # of first and second central differences in the weight directions e_j - w of random_terms' Euler map and
    # DOP853 flow: independent code for both. Differences of step 1e-3 (second) and 1e-4 (first): truncation
    # about 1e-6 and 1e-8 relative; the flow's RK4 (40 steps per unit time) against DOP853: below 1e-7
    eps, t, n = 0.6, 0.5, 8
    got = gd_terms.rule_steps(problem, small_rule, eps, t, n)
    om = small_rule.weight

    def outputs(weight, gd):
        rule = _with_weights(small_rule, weight)
        return (euler_map(problem, rule, eps, round(t * n), 1 / n, fold=False) if gd
                else deterministic_flow(problem, rule, eps, [t], fold=False)[0])

    want = {}
    for gd in (True, False):
        base = outputs(om, gd)
        var, c = 0.0, 0.0
        for j in range(len(om)):
            direction = -om.copy()
            direction[j] += 1.0
            up1, down1 = outputs(om + 1e-4 * direction, gd), outputs(om - 1e-4 * direction, gd)
            up2, down2 = outputs(om + 1e-3 * direction, gd), outputs(om - 1e-3 * direction, gd)
            var = var + om[j] * ((up1 - down1) / 2e-4) ** 2
            c = c + 0.5 * om[j] * (up2 - 2 * base + down2) / 1e-6
        want[gd] = (base, c, var)
    np.testing.assert_allclose(got["dD"], want[True][0] - want[False][0], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(got["dV"], eps ** 2 * (want[True][2] - want[False][2]), rtol=1e-3, atol=1e-9)
    np.testing.assert_allclose(got["dc"], want[True][1] - want[False][1], rtol=1e-2, atol=1e-7)
    assert np.all(np.abs(got["dV"]) > 1e-7)                          # a term to compare, not two zeros


# -- the blocks' assembly, with fixed numbers -----------------------------------------------------------------------

def _numbers(P: int, widths):
    rng = np.random.default_rng(3)
    E = len(widths)
    out = {k: rng.standard_normal(P).tolist() for k in ("c", "B", "BN")}
    out["V"] = (np.abs(rng.standard_normal(P)) + 0.5).tolist()
    out.update({k: np.abs(rng.standard_normal(P)).tolist() for k in ("c_error", "B_error", "BN_error", "slope")})
    out.update({"parts": {}, "kappa": 25.0, "w_nodes": 1000, "tolerance_met": True})
    for k in ("deterministic", "V_eps", "gd_shift", "gd_dV", "gd_dc"):
        out[k] = rng.standard_normal((E, P)).tolist()
    out["gd_sgd_W"] = np.abs(rng.standard_normal(P)).tolist()
    out["gd_sgd_W_error"] = (np.abs(rng.standard_normal(P)) * 1e-9).tolist()
    for k in ("deterministic_error", "V_eps_error", "variance_remainder", "gd_shift_error", "gd_dV_error",
              "gd_dc_error"):
        out[k] = (np.abs(rng.standard_normal((E, P))) * 1e-3).tolist()
    return out


def test_the_gd_block_adds_the_step_terms_and_sgd_is_measured_not_judged(problem, monkeypatch):
    widths = [64, 256]
    P = problem.points.shape[0]
    nums = _numbers(P, widths)
    monkeypatch.setattr(prediction, "cached_numbers", lambda *a, **k: nums)
    rows = [{"mean": np.zeros(P), "mean_se": np.full(P, 0.5), "var": np.ones(P), "var_se": np.full(P, 0.5)}
            for _ in widths]
    gamma = Fraction(3, 4)
    flow = prediction.predict(problem, gamma, 1.0, widths, rows, "flow")
    gd = prediction.predict(problem, gamma, 1.0, widths, rows, "gd")
    a = {k: np.asarray(v, dtype=float) for k, v in nums.items() if k not in ("parts", "kappa", "w_nodes",
                                                                                "tolerance_met")}
    for i, n in enumerate(widths):
        scale = n ** (1 - 2 * 0.75)
        np.testing.assert_allclose(gd["mean"][i], np.array(flow["mean"][i]) + a["gd_shift"][i], rtol=1e-13)
        np.testing.assert_allclose(gd["var"][i], np.array(flow["var"][i]) + scale * a["gd_dV"][i], rtol=1e-12)
        np.testing.assert_allclose(gd["omitted_mean"][i], np.array(flow["omitted_mean"][i])
                                   + (np.abs(a["gd_dc"][i]) + a["gd_dc_error"][i]) / n, rtol=1e-13)
        np.testing.assert_allclose(gd["mean_error"][i], np.array(flow["mean_error"][i]) + a["gd_shift_error"][i],
                                   rtol=1e-13)
    assert any("Euler map" in term for term in gd["terms"]["mean"])
    assert not any("Euler map" in term for term in flow["terms"]["mean"])
    sgd = prediction.predict(problem, gamma, 1.0, widths, rows, "sgd")
    assert sgd["applicable"] is False and "alone is derived" in sgd["reason"] and "verdict" not in sgd
    assert sgd["against_gd"]["z_mean"] == gd["z_mean"] and sgd["against_gd"]["z_var"] == gd["z_var"]
    assert sgd["against_gd"]["gd_shift"] == gd["gd_shift"] and sgd["against_gd"]["gd_dV"] == gd["gd_dV"]
    worst = np.max(np.abs(np.array(gd["z_mean"]))[np.array(gd["holds_mean"])], initial=0.0)
    if np.array(gd["holds_mean"]).any():
        assert sgd["against_gd"]["max_abs_z_mean"] == pytest.approx(worst)
    else:
        assert sgd["against_gd"]["max_abs_z_mean"] is None
    for i, n in enumerate(widths):                       # SGD's noise adds W/N to the variance, nothing to the mean
        want = np.array(gd["var"][i]) + a["gd_sgd_W"] / n
        np.testing.assert_allclose(sgd["with_noise"]["var"][i], want, rtol=1e-13)
        np.testing.assert_allclose(sgd["with_noise"]["z_var"][i], (rows[i]["var"] - want) / rows[i]["var_se"],
                                   rtol=1e-12)


def test_the_sgd_noise_variance_matches_a_simulated_linear_model():
    # the frozen-kernel dynamics with SGD kicks, simulated: outputs g (P,) with dg = h alpha A[:, m] (y_m - g_m),
    # m uniform, from g_0 = 0; the variance over runs times N is W_t. 20000 runs give a relative SE of
    # sqrt(2/20000) = 1%, so 5 SE is 5%; the Gauss-Legendre error is below 1e-12
    rng = np.random.default_rng(11)
    P, M, alpha, t, n = 5, 4, 1.3, 0.7, 200
    B = rng.standard_normal((P, 6))
    A = B @ B.T / 6
    y = rng.standard_normal(M)
    W, err = gd_terms.sgd_noise_variance(A, y, alpha, t)
    runs = 20000
    g = np.zeros((runs, P))
    for _ in range(int(t * n)):
        m = rng.integers(0, M, size=runs)
        r = y[m] - g[np.arange(runs), m]
        g += (alpha / n) * A[:, m].T * r[:, None]
    measured = g.var(axis=0) * n
    assert np.all(err < 1e-10 * np.abs(W) + 1e-14)
    np.testing.assert_allclose(measured, W, rtol=5 * np.sqrt(2 / runs))
    assert gd_terms.sgd_noise_variance(A, y, alpha, 0.0)[0].max() == 0.0


def test_the_cache_keys_of_flow_and_gd_differ_and_sgd_shares_gd(problem):
    keys = {d: prediction.cache_key(problem, Fraction(3, 4), 1.0, [64], d) for d in ("flow", "gd", "sgd")}
    assert keys["flow"] != keys["gd"] and keys["sgd"] == keys["gd"]


def test_an_sgd_run_draws_its_measurement_not_a_blank_panel(problem, monkeypatch):
    from asymexp.validation.figures import shallow_figure

    widths = [64, 256]
    P = problem.points.shape[0]
    monkeypatch.setattr(prediction, "cached_numbers", lambda *a, **k: _numbers(P, widths))
    rows = [{"mean": np.zeros(P), "mean_se": np.full(P, 0.5), "var": np.ones(P), "var_se": np.full(P, 0.5)}
            for _ in widths]
    block = prediction.predict(problem, Fraction(3, 4), 1.0, widths, rows, "sgd")
    doc = {"gamma": "3/4", "time": 1.0, "dynamics": "sgd", "widths": widths, "prediction": block}
    fig = shallow_figure(doc, "prediction")
    ax = fig.axes[0]
    assert len(ax.collections) == 3                                  # mean vs GD, var vs GD, var vs GD + W/N
    np.testing.assert_allclose(ax.collections[2].get_offsets()[:, 1],
                               np.array(block["with_noise"]["z_var"]).ravel(), rtol=1e-12)
