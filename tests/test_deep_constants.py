"""Deep constants (issue 10, item 4): b0 = lim Var g N_L^{2 gamma_L - 1} / V_t and the deep mean E g - h_t
(docs/validation.md, "Deep constants"; asymexp.validation.deep_constants, asymexp.stats.fits.judge_constant).

Reference values here do not come from the code under test:
- V_t and h_t in the input-independent sigmoid case (L = 3, gammas 3/5, 7/10, 9/10) are closed forms: the
  sequential-limit kernel is the constant a = sigma(0)^2 + E[C^2] sigma'(0)^2 sigma(0)^2 and S = Var(C) sigma(0)^2,
  so V_t = Var(C) sigma(0)^2 exp(-2 alpha a t) and h_t = mean(y) (1 - exp(-alpha a t)) (docs/theory/4-deep-networks.md);
- the Rao-Blackwell variance at t = 0 is recomputed by a plain NumPy forward pass of freshly drawn networks.
Statistical tolerances are multiples of the Monte Carlo standard errors stated at each assertion.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from asymexp.inputs.problems import load_problem
from asymexp.stats import estimators as est
from asymexp.validation.deep_constants import constant_terms, deep_mean_check, limit_theory
from asymexp.validation.deep_validation import validate_deep
from asymexp.stats.fits import B0_TARGET, judge_constant

PROBLEM = "sigmoid4.toml"
SIG0 = 0.5                      # sigma(0) of the logistic sigmoid
DSIG0 = 0.25                    # sigma'(0)
C_VAR = 1.0 / 3.0               # c ~ uniform(-1, 1): E C = 0, E C^2 = 1/3
A_CONST = SIG0 ** 2 + C_VAR * DSIG0 ** 2 * SIG0 ** 2     # 0.2552083..., the docs' "A = 0.2552 at every pair"


def _closed_form(t: float, problem):
    """(V_t, h_t) per point of the input-independent case, from the constant kernel (see the module docstring)."""
    v = C_VAR * SIG0 ** 2 * math.exp(-2 * problem.alpha * A_CONST * t)
    h = float(np.mean(problem.y)) * (1 - math.exp(-problem.alpha * A_CONST * t))
    return v, h


@pytest.mark.parametrize("t", [0.0, 1.0, 2.5])
def test_limit_theory_matches_the_closed_form_of_the_input_independent_case(t):
    prob = load_problem(PROBLEM)
    lt = limit_theory(prob, [Fraction(3, 5), Fraction(7, 10), Fraction(9, 10)], t)
    v, h = _closed_form(t, prob)
    P = prob.points.shape[0]
    assert lt["V"].shape == (P,) and lt["h"].shape == (P,)
    # quadrature is exact here up to rounding (every layer collapses to sigma(0)): 1e-10 absolute
    assert np.allclose(lt["V"], v, rtol=0, atol=1e-10) and np.allclose(lt["h"], h, rtol=0, atol=1e-10)
    assert np.all(lt["V_error"] < 1e-10)


def _numpy_rb_ratio(n: int, reps: int, seed: int, gammas=(0.7, 0.9)) -> tuple[float, float]:
    """r(N) at t = 0 by a plain NumPy forward pass: Var(g_0 | W1, W2) = N^{-2 g2} Var(C) sum_i sigma(Z2_i)^2,
    summed over the 5 points, times N^{2 g2 - 1}, over sum V_0 = 5 Var(C) sigma(0)^2. Returns (mean, SE)."""
    prob = load_problem(PROBLEM)
    x = prob.points                                           # (5, 3)
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((reps, n, x.shape[1]))
    w2 = rng.standard_normal((reps, n, n))
    h1 = 1 / (1 + np.exp(-(w1 @ x.T)))                       # (R, N, 5)
    h2 = 1 / (1 + np.exp(-(n ** -gammas[0]) * (w2 @ h1)))    # (R, N, 5)
    vals = n ** (-2 * gammas[1]) * C_VAR * np.sum(h2 ** 2, axis=(1, 2))
    ratio = vals * n ** (2 * gammas[1] - 1) / (x.shape[0] * C_VAR * SIG0 ** 2)
    return float(ratio.mean()), float(ratio.std(ddof=1) / math.sqrt(reps))


def test_ratio_uses_the_outer_power_and_v_t_against_plain_numpy():
    widths = [8, 32]
    doc = validate_deep(load_problem(PROBLEM), ["7/10", "9/10"], widths, 256, t=0.0, seed=3, sensitivity_width=None,
                        progress=False)
    vr = doc["var_ratio"]
    assert vr["applicable"] and vr["power"] == "4/5"
    for i, n in enumerate(widths):
        ref, ref_se = _numpy_rb_ratio(n, 2000, 100 + n)
        se = math.hypot(vr["per_width_se"][i], ref_se)
        # independent samples: |difference| <= 4 combined SEs. A wrong power (N^{2 gamma_1 - 1}) is off by
        # N^{0.4} >= 2.3, a wrong V_t by its own factor; the combined SE is about 1% of r here.
        assert se < 0.02
        assert abs(vr["per_width"][i] - ref) <= 4 * se, (n, vr["per_width"][i], ref, se)


def test_ratio_at_t1_is_var_times_outer_power_over_closed_form_v_t_and_too_few_widths_are_undetermined():
    prob = load_problem(PROBLEM)
    widths = [8, 16]
    doc = validate_deep(prob, ["3/5", "7/10", "9/10"], widths, 8, t=1.0, seed=4, sensitivity_width=None,
                        progress=False)
    vr = doc["var_ratio"]
    v, h = _closed_form(1.0, prob)
    P = prob.points.shape[0]
    for i, n in enumerate(widths):
        # exact arithmetic on the document's own numbers: only rounding separates the two
        assert vr["per_width"][i] == pytest.approx(doc["var_total"][i] * n ** 0.8 / (P * v), rel=1e-9)
        assert vr["per_width_se"][i] == pytest.approx(doc["var_total_se"][i] * n ** 0.8 / (P * v), rel=1e-9)
        assert np.allclose(doc["mean_residual"]["residual_points"][i], np.asarray(doc["mean"][i]) - h, atol=1e-10)
    assert vr["verdict"] == "undetermined" and vr["b0"] is None and vr["ci95_judged"] is None
    need = vr["widths_needed"]
    assert need["have"] == 2 and need["minimum"] == 3 and not need["enough"]
    assert "too few" in vr["verdict_reason"] and "--widths 8,16," in vr["verdict_reason"]


def test_not_applicable_where_collapse_enters_the_exponent_and_applicable_without_collapse():
    prob = load_problem("tanh4.toml")
    kw = dict(t=0.0, seed=5, sensitivity_width=None, progress=False)
    doc = validate_deep(prob, ["7/10", "9/10"], [8, 16, 32], 8, **kw)
    vr = doc["var_ratio"]
    assert not vr["applicable"] and vr["verdict"] == "not applicable" and vr["b0"] is None
    assert "-6/5" in vr["verdict_reason"] and "1 - 2 gamma_L = -4/5" in vr["verdict_reason"]
    doc = validate_deep(prob, ["1/2", "9/10"], [8, 16, 32], 8, **kw)
    assert doc["var_ratio"]["applicable"] and doc["var_ratio"]["verdict"] in ("agree", "disagree", "undetermined")
    # t = 0 with antithetic pairs: E g_0 = h_0 = 0 exactly; said, not judged
    assert doc["mean_residual"]["goes_to_zero"] == "trivial"


def test_constant_terms_follow_the_collapse_orders():
    # sigmoid L = 2, gammas (7/10, 9/10): q2 = N^{-2/5}, q2^2 at t = 0; eps_L^2 = N^{-1/5} first at t > 0
    assert [round(s, 6) for s, _ in constant_terms(["7/10", "9/10"], "sigmoid", 0.0)] == [-0.4, -0.8]
    assert [round(s, 6) for s, _ in constant_terms(["7/10", "9/10"], "sigmoid", 1.0)] == [-0.2, -0.4]
    # no collapse (gamma_1 = 1/2): the conditional-variance fluctuation 1/N_1 is the only t = 0 correction
    assert [round(s, 6) for s, _ in constant_terms(["1/2", "9/10"], "tanh", 0.0)] == [-1.0]


def _synthetic(b0, coef, se, seed=0, widths=(16, 32, 64, 128, 256, 512)):
    N = np.asarray(widths, dtype=float)
    rng = np.random.default_rng(seed)
    return N, b0 + coef * N ** -0.4 + se * rng.standard_normal(N.size), np.full(N.size, se)


TERMS = [(-0.4, "q2"), (-0.8, "q2^2")]


def test_judge_constant_agrees_disagrees_and_says_what_would_settle_it():
    # noise SE 0.001 on each r(N): the K = 1 interval is a few times that, far inside B0_TARGET
    N, r, se = _synthetic(1.0, 0.3, 0.001)
    out = judge_constant(N, r, se, TERMS, 0.0, [1024] * N.size)
    assert out["verdict"] == "agree" and out["ci95_judged"][0] <= 1 <= out["ci95_judged"][1]
    # a 5% offset is 50 SEs of r and about 10 half-widths of b0: excluded
    N, r, se = _synthetic(1.05, 0.3, 0.001)
    assert judge_constant(N, r, se, TERMS)["verdict"] == "disagree"
    # SE 0.05: the interval is too wide; the suggestion scales the replicas by (half-width / target)^2
    N, r, se = _synthetic(1.0, 0.3, 0.05, seed=1)
    out = judge_constant(N, r, se, TERMS, 0.0, [256] * N.size)
    assert out["verdict"] == "undetermined"
    own = (out["ci95"][1] - out["ci95"][0]) / 2
    assert own > B0_TARGET and f"{(own / B0_TARGET) ** 2:.1f}x the replicas" in out["verdict_reason"]
    # the theory error scales every r(N) together: it widens the judged interval by |b0| * rel on each side
    N, r, se = _synthetic(1.0, 0.3, 0.001)
    a, b = judge_constant(N, r, se, TERMS, 0.0), judge_constant(N, r, se, TERMS, 0.01)
    assert b["ci95_judged"][0] == pytest.approx(a["ci95_models"][0] - 0.01 * a["b0"])
    assert b["ci95_judged"][1] == pytest.approx(a["ci95_models"][1] + 0.01 * a["b0"])


def test_judge_constant_needs_three_widths():
    N, r, se = _synthetic(1.0, 0.3, 0.001, widths=(16, 32))
    out = judge_constant(N, r, se, TERMS)
    assert out["verdict"] == "undetermined" and out["b0"] is None
    assert out["widths_needed"]["minimum"] == 3 and "--widths 16,32,64,128" in out["verdict_reason"]
    N, r, se = _synthetic(1.0, 0.3, 0.001, widths=(16, 32, 64))
    assert judge_constant(N, r, se, TERMS)["b0"] is not None


def _means(offsets, sd, n=400, P=3, seed=0):
    """Estimates of E g (P,) per width: n samples each, true mean h + offsets[k] at every point."""
    rng = np.random.default_rng(seed)
    return [est.Estimate(off + sd * rng.standard_normal((n, P)), np.zeros(P)) for off in offsets]


def test_deep_mean_check_reads_decay_no_decay_and_zero():
    widths = [16, 32, 64, 128, 256, 512]
    lt = {"h": np.zeros(3), "h_error": np.zeros(3)}
    # per-sample sd 0.01 at 3 points over 400 samples: SE of the summed residual = 0.01 sqrt(3) / 20 = 8.7e-4
    decaying = [0.5 * n ** -0.5 for n in widths]              # 0.125 .. 0.022 per point: z >= 75
    out = deep_mean_check(widths, _means(decaying, 0.01), lt, 1.0, True)
    assert out["goes_to_zero"] == "decaying"
    assert out["decay"]["ci95"][0] <= -0.5 <= out["decay"]["ci95"][1]
    assert out["sum_se"][-1] == pytest.approx(0.01 * math.sqrt(3) / 20, rel=0.15)
    out = deep_mean_check(widths, _means([0.05] * 6, 0.01), lt, 1.0, True)
    assert out["goes_to_zero"] == "no decay seen"
    out = deep_mean_check(widths, _means([0.0] * 6, 0.01, seed=2), lt, 1.0, True)
    assert out["goes_to_zero"] == "consistent" and abs(out["z"][-1]) < 3


def test_seeded_sigmoid_run_b0_interval_contains_one():
    # 512 replicas, widths 16..128: the b0 SE is a few 1e-3 (Rao-Blackwell at t = 0); the judged interval is the
    # union over the acceptable predicted models (K = 1, 2), which carries their 95% coverage
    doc = validate_deep(load_problem(PROBLEM), ["7/10", "9/10"], [16, 32, 64, 128], 512, t=0.0, seed=7,
                        sensitivity_width=None, progress=False)
    vr = doc["var_ratio"]
    assert vr["b0"] is not None and vr["ci95_judged"][0] <= 1.0 <= vr["ci95_judged"][1]
    assert vr["verdict"] in ("agree", "undetermined")


def test_mean_field_end_at_t1_is_not_applicable_and_the_mean_says_why():
    prob = load_problem(PROBLEM)
    kw = dict(seed=6, sensitivity_width=None, progress=False)
    doc = validate_deep(prob, ["3/4", "1"], [8, 16, 32], 8, t=1.0, **kw)
    assert doc["var_ratio"]["verdict"] == "not applicable" and "mean-field" in doc["var_ratio"]["verdict_reason"]
    assert doc["mean_residual"]["note"] and "mean-field" in doc["mean_residual"]["summary"]
    # at t = 0 the exact formula Var g_0 = N_L^{1 - 2 gamma_L} Var(C) E sigma(Z^L)^2 holds at gamma_L = 1 too
    doc = validate_deep(prob, ["3/4", "1"], [8, 16, 32], 8, t=0.0, **kw)
    assert doc["var_ratio"]["applicable"] and doc["mean_residual"]["note"] is None
