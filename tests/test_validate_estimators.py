"""Estimators and fits of asymexp.validation on synthetic data with known answers.

Statistical basis: every synthetic sample is seeded; a tolerance of 5 standard errors (the SE the estimator
itself reports, or the exact one where known) makes a false failure a < 1e-6 event per check."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.errors import AsymexpError
from asymexp.stats import estimators as est
from asymexp.stats import fits
from asymexp.validation.shallow_validation import verdict


def _pairs(odd, even):
    g = np.empty((2 * odd.shape[0], odd.shape[1]))
    g[0::2], g[1::2] = even + odd, even - odd
    return g


def test_plain_variance_and_its_standard_error():
    rng = np.random.default_rng(1)
    sigma2 = np.array([0.5, 2.0])
    g = rng.standard_normal((20000, 2)) * np.sqrt(sigma2)
    e = est.variance_estimate(g, antithetic=False)
    assert np.all(np.abs(e.value - sigma2) < 5 * e.se)
    # Gaussian: SE of the sample variance = sigma^2 sqrt(2/n); its estimate is within a few % at n = 20000
    np.testing.assert_allclose(e.se, sigma2 * np.sqrt(2 / 20000), rtol=0.05)


def test_antithetic_variance_is_odd_second_moment_plus_even_variance():
    rng = np.random.default_rng(2)
    odd = 0.7 * rng.standard_normal((8000, 3))
    even = 1.5 + 0.2 * rng.standard_normal((8000, 3))
    e = est.variance_estimate(_pairs(odd, even), antithetic=True)
    assert np.all(np.abs(e.value - (0.49 + 0.04)) < 5 * e.se)
    m = est.mean_estimate(_pairs(odd, even), antithetic=True)
    assert np.all(np.abs(m.value - 1.5) < 5 * m.se)
    np.testing.assert_allclose(m.se, 0.2 / np.sqrt(8000), rtol=0.05)


def test_control_variate_is_unbiased_and_much_tighter():
    rng = np.random.default_rng(3)
    n = 4000
    c = rng.standard_normal((n, 2))                 # control with E c^2 = 1 exactly
    odd = c + 0.05 * rng.standard_normal((n, 2))    # E O^2 = 1 + 0.0025
    even = 0.1 * rng.standard_normal((n, 2))
    g = _pairs(odd, even)
    control = np.repeat(c, 2, axis=0)
    plain = est.variance_estimate(g, True)
    cv = est.variance_estimate(g, True, control, np.ones(2))
    truth = 1.0025 + 0.01
    assert np.all(np.abs(cv.value - truth) < 5 * cv.se)
    assert np.all(cv.se < plain.se / 10)
    total, se = cv.total()
    assert abs(total - 2 * truth) < 5 * se


def test_mean_control_removes_a_known_mean_zero_part():
    rng = np.random.default_rng(4)
    k = rng.standard_normal((3000, 1))
    even = 0.25 + k + 0.01 * rng.standard_normal((3000, 1))
    g = _pairs(np.zeros_like(even), even)
    m = est.mean_estimate(g, True, np.repeat(k, 2, axis=0))
    assert abs(m.value[0] - 0.25) < 5 * m.se[0] and m.se[0] < 0.001


def test_rao_blackwell_is_the_exact_conditional_variance():
    hsq = np.array([[4.0, 8.0], [4.0, 8.0], [2.0, 6.0], [2.0, 6.0]])
    e = est.rao_blackwell_t0(hsq, width=16, gamma_last=0.75, c_variance=1 / 3, antithetic=True)
    np.testing.assert_allclose(e.value, 16 ** -1.5 / 3 * np.array([3.0, 7.0]), rtol=1e-14)


def test_estimators_reject_bad_shapes():
    with pytest.raises(AsymexpError, match="shape"):
        est.variance_estimate(np.zeros(5), False)
    with pytest.raises(AsymexpError, match="even"):
        est.variance_estimate(np.zeros((5, 2)), True)


def test_ratio_fit_recovers_exact_line_and_covers_at_nominal_rate():
    N = np.array([64, 128, 256, 512, 1024.0])
    eps2 = N ** (2 * 0.9 - 2)
    se = np.full(5, 0.01)
    f = fits.ratio_fit(N, 1.0 + 0.3 * eps2, se, [(2 * 0.9 - 2, "eps^2")])
    assert abs(f["b0"] - 1) < 1e-12 and abs(f["b1"] - 0.3) < 1e-12 and f["chi2"] < 1e-20
    rng = np.random.default_rng(5)
    covered = 0
    for _ in range(200):
        f = fits.ratio_fit(N, 1.0 + 0.3 * eps2 + se * rng.standard_normal(5), se, [2 * 0.9 - 2])
        covered += f["ci95"][0] <= 1.0 <= f["ci95"][1]
    # binomial(200, 0.95): mean 190, sd 3.1; 5 sd below is 174.6
    assert covered >= 175


def test_exponent_fit_sees_through_the_correction_that_biases_the_raw_slope():
    N = np.array([64, 128, 256, 512, 1024, 2048, 4096, 8192.0])
    g = 0.9
    truth = 0.2 * N ** (1 - 2 * g) * (1 + 0.8 * N ** (2 * g - 2))
    se = 1e-3 * truth
    f = fits.exponent_fit(N, truth, se, 2 * g - 2, 1 - 2 * g)
    assert abs(f["fit"] - (1 - 2 * g)) < 1e-6 and f["ci95"][0] <= -0.8 <= f["ci95"][1]
    raw = fits.raw_slope(N, truth, se)
    assert raw["slope"] < -0.81 and not raw["ci95"][0] <= -0.8 <= raw["ci95"][1]


def test_fits_refuse_degenerate_input():
    with pytest.raises(AsymexpError):
        fits.ratio_fit([64], [1.0], [0.01], [-0.5])
    with pytest.raises(AsymexpError):
        fits.raw_slope([1, 2], [1.0, 2.0], [0.0, 0.1])


def test_verdict_is_honest_about_width_of_the_intervals():
    slope = {"fit": -0.5, "ci95": [-0.52, -0.48]}
    assert verdict(slope, {"b0": 1.0, "ci95": [0.99, 1.01]}, -0.5)[0] == "agree"
    assert verdict(slope, {"b0": 1.05, "ci95": [1.03, 1.07]}, -0.5)[0] == "disagree"
    assert verdict(slope, {"b0": 1.0, "ci95": [0.9, 1.1]}, -0.5)[0] == "undetermined"
    assert verdict({"fit": -0.4, "ci95": [-0.42, -0.38]}, {"b0": 1.0, "ci95": [0.99, 1.01]}, -0.5)[0] == "disagree"
    assert verdict(None, None, -0.5)[0] == "undetermined"


def test_mean_residuals_with_inverse_n_term_removes_exactly_that_term():
    from asymexp.validation.shallow_validation import mean_residuals

    rng = np.random.default_rng(3)
    h, Q2, c = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    widths, gamma = [64, 256, 1024], 0.75
    rows = [{"mean": h + n ** (2 * gamma - 2) * Q2 + c / n, "mean_se": np.full(5, 1e-9)} for n in widths]
    out = mean_residuals(rows, widths, gamma, h, None, Q2, c)
    np.testing.assert_allclose(out["corrected"], [np.sqrt(np.mean(c ** 2)) / n for n in widths], rtol=1e-9)
    assert max(out["inverse_n"]["corrected"]) < 1e-12 and out["inverse_n"]["corrected_within_3se"]
    assert "inverse_n" not in mean_residuals(rows, widths, gamma, h, None, Q2)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 40), p=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_standard_error_is_the_sample_standard_deviation_over_root_n(n, p, seed):
    """Estimate.se and total()'s SE by hand: sqrt(sum (u - mean)^2 / (n - 1) / n), column by column."""
    from asymexp.stats.estimators import Estimate

    u = np.random.default_rng(seed).normal(size=(n, p))
    e = Estimate(u, np.zeros(p))
    for j in range(p):
        col = [float(v) for v in u[:, j]]
        mean = sum(col) / n
        want = (sum((v - mean) ** 2 for v in col) / (n - 1) / n) ** 0.5
        assert abs(float(e.se[j]) - want) <= 1e-12 * max(want, 1e-300)
    rows = [float(v) for v in u.sum(axis=1)]
    mean = sum(rows) / n
    want = (sum((v - mean) ** 2 for v in rows) / (n - 1) / n) ** 0.5
    assert abs(e.total()[1] - want) <= 1e-12 * max(want, 1e-300)
