"""The declared model-selection rule of asymexp.stats.fits: predicted corrections, chi2 selection, coverage."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.stats import fits


def test_correction_terms_follow_the_expansion():
    assert fits.correction_terms(0.9) == [(-0.2, "eps^2"), (-0.4, "eps^4"), (-0.6, "eps^6")]
    assert fits.correction_terms(0.75) == [(-0.5, "eps^2"), (-1.0, "eps^4 = 1/N"), (-1.5, "eps^6")]
    assert fits.correction_terms(0.6) == [(-0.8, "eps^2"), (-1.0, "1/N"), (-1.6, "eps^4")]
    assert fits.correction_terms(1.0) == [(-1.0, "1/N")]
    assert fits.correction_terms(0.9, 2, odd=True) == [(-0.1, "eps^1"), (-0.2, "eps^2")]


@settings(max_examples=200, deadline=None)
@given(st.fractions(min_value="1/2", max_value="1").filter(lambda g: g > 0.5), st.integers(1, 5), st.booleans())
def test_correction_terms_are_negative_distinct_and_slowest_first(gamma, count, odd):
    terms = fits.correction_terms(float(gamma), count, odd)
    powers = [s for s, _ in terms]
    assert 1 <= len(terms) <= count and all(s < 0 for s in powers)
    assert powers == sorted(powers, reverse=True) and len(set(powers)) == len(powers)
    step = float(gamma) - 1 if odd else 2 * float(gamma) - 2
    if round(step, 12) < 0:
        assert abs(powers[0] - step) < 1e-12          # the slowest correction is eps (or eps^2)
    assert any(abs(s + 1) < 1e-12 for s in powers) or len(terms) == count  # 1/N is listed unless crowded out


def _data(rng, N, truth, rel_se):
    se = rel_se * truth
    return truth + se * rng.standard_normal(N.size), se


def test_selection_adds_the_next_order_only_when_the_data_need_it():
    N = 64.0 * 2 ** np.arange(8)
    g = 0.9
    terms = fits.correction_terms(g)
    e2 = N ** (2 * g - 2)
    rng = np.random.default_rng(11)
    # strong eps^4 term, SE 0.1%: the eps^2-only model is rejected, eps^2 + eps^4 is chosen and covers -0.8
    truth = 0.3 * N ** (1 - 2 * g) * (1 + 0.5 * e2 + 2.0 * e2 ** 2)
    var, se = _data(rng, N, truth, 1e-3)
    cands = [fits.exponent_fit(N, var, se, terms[:k], 1 - 2 * g) for k in (1, 2, 3)]
    chosen, why = fits.select_model(cands)
    assert cands[0]["p_value"] < 1e-6
    assert chosen is cands[1] and "p-value" in why
    assert chosen["ci95"][0] <= -0.8 <= chosen["ci95"][1]


def test_selection_reports_when_no_model_fits():
    N = 64.0 * 2 ** np.arange(6)
    var = N ** -0.5 * (1 + 0.3 * np.sin(3 * np.log(N)))       # not of the predicted form
    se = 1e-4 * var
    cands = [fits.exponent_fit(N, var, se, fits.correction_terms(0.75)[:k]) for k in (1, 2, 3)]
    chosen, why = fits.select_model(cands)
    assert chosen is None and "rejected" in why


def test_selected_constant_covers_at_about_the_nominal_rate():
    """Truth b0 = 1 with eps^2 and eps^4 terms at gamma = 0.9, SE 0.2%; seeded, 300 data sets. A data set whose
    every model is rejected (about 5%: the chi2 test of a true model) counts as not covered. Nominal coverage
    is 95%: binomial(300, 0.95) has sd 3.8 and 5 sd below its mean (285) is 266. The issue's one-correction
    model covers almost never here (asserted too, so the test can tell the rule from that model)."""
    N = 64.0 * 2 ** np.arange(8)
    terms = fits.correction_terms(0.9)
    e2 = N ** (-0.2)
    truth = 1.0 - 0.4 * e2 + 0.6 * e2 ** 2
    rng = np.random.default_rng(3)
    covered = covered_one = 0
    for _ in range(300):
        r, se = _data(rng, N, truth, 2e-3)
        cands = [fits.ratio_fit(N, r, se, terms[:k]) for k in (1, 2, 3)]
        chosen, _ = fits.select_model(cands)
        covered += chosen is not None and chosen["ci95"][0] <= 1.0 <= chosen["ci95"][1]
        covered_one += cands[0]["ci95"][0] <= 1.0 <= cands[0]["ci95"][1]
    assert covered >= 266 and covered_one < 30


def test_ratio_fit_needs_enough_widths():
    with pytest.raises(Exception, match="at least 3 widths"):
        fits.ratio_fit([64, 128], [1.0, 1.0], [0.01, 0.01], [-0.5, -1.0])


def test_judged_interval_is_the_union_over_acceptable_models():
    a = {"ci95": [0.9, 1.1], "p_value": 0.5}
    b = {"ci95": [1.05, 1.3], "p_value": 0.2}
    rejected = {"ci95": [-5.0, 5.0], "p_value": 0.001}
    untested = {"ci95": [0.0, 2.0], "p_value": None}
    assert fits.model_interval([a, b, rejected], a) == [0.9, 1.3]
    assert fits.model_interval([rejected, untested], untested) == [0.0, 2.0]
    assert fits.model_interval([rejected], None) is None


def test_union_interval_covers_when_the_simplest_model_is_biased_but_not_rejected():
    """The case met in the acceptance run: an eps^4 = 1/N term too weak for chi2 to reject the eps^2-only model
    but large enough to bias its b0 by about 2 of its own SEs (gamma = 3/4, SE 3e-3 at N = 64 falling like
    N^-1/2, b2 = -0.8). Seeded, 400 data sets. The union contains the true model's interval whenever the true
    model passes its chi2 test (probability 0.95), and that interval covers with probability 0.95, so the union
    covers with probability at least about 0.95^2 = 0.9025: mean 361 of 400, binomial sd 5.9, 5 sd below is
    331. The eps^2-only interval alone covers about a fifth of the time (asserted < 200, so the test can fail)."""
    N = 64.0 * 2 ** np.arange(10)
    terms = fits.correction_terms(0.75, 2)
    truth = 1.0 + 0.15 * N ** -0.5 - 0.8 / N
    se = 3e-3 * np.sqrt(64 / N)
    rng = np.random.default_rng(21)
    union = first = 0
    for _ in range(400):
        r = truth + se * rng.standard_normal(N.size)
        cands = [fits.ratio_fit(N, r, se, terms[:k]) for k in (1, 2)]
        chosen, _ = fits.select_model(cands)
        ci = fits.model_interval(cands, chosen)
        union += ci is not None and ci[0] <= 1.0 <= ci[1]
        first += cands[0]["ci95"][0] <= 1.0 <= cands[0]["ci95"][1]
    assert union >= 331 and first < 200


def test_deep_corrections_come_from_the_collapse_at_t0_and_add_eps_at_t1():
    from asymexp.validation.deep_terms import deep_correction_terms
    from asymexp.validation.deep_validation import parse_width_path

    powers = lambda *a, **k: [s for s, _ in deep_correction_terms(*a, **k)]  # noqa: E731
    # tanh: q_2 = E (Z^2)^2 ~ N^{1 - 2 gamma_1}; every collapsed layer enters alone
    assert powers(["7/10", "9/10"], "tanh", 0) == [-0.4, -0.8]
    assert powers(["3/5", "7/10", "9/10"], "tanh", 0) == [-0.2, -0.4]
    # sigmoid: E sigma(Z^L)^2 = 1/4 + q_L/16 + ..., so every correction contains q_L
    assert powers(["3/5", "7/10", "9/10"], "sigmoid", 0) == [-0.4, -0.6]
    assert powers(["3/5", "7/10", "9/10"], "sigmoid", 1) == [-0.2, -0.4]      # eps_L^2 = N^-0.2 at t > 0
    assert powers(["1/2", "1/2"], "tanh", 0) == []                            # nothing collapses
    # along N_1 = N^(1/2) the collapse is half as fast
    assert powers(["7/10", "9/10"], "tanh", 0, parse_width_path("1:1/2,1:1", 2)) == [-0.2, -0.4]
