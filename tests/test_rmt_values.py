"""Products of Gaussian matrices (asymexp/bn/rmt; docs/rmt.md) against values computed another way: the growth
rate of the exact moments, eigenvalue inequalities, plain sample statistics, and the linearized covariance of a
weighted least-squares fit written out here (docs/architecture.md, "Testing")."""
import math

import numpy as np

from asymexp.bn.rmt.fuss_catalan import edge, moment
from asymexp.bn.rmt.gaussian_products import sample_spectra
from asymexp.bn.rmt.products_check import finite_size_fit, products_report, spectrum_row

ROUND = 1e-12


def test_edge_is_the_growth_rate_of_the_moments():
    """m_k ~ C x_edge^k k^(-3/2): m_{k+1} / m_k = x_edge (1 - 3 / (2 k) + O(1/k^2)); at k = 400 the ratio,
    corrected by that 3 / (2 k), is within 1 / k of the edge (the O(1/k^2) term, times a generous 400)."""
    k = 400
    for L in range(1, 6):
        ratio = float(moment(L, k + 1) / moment(L, k)) / (1 - 3 / (2 * k))
        assert abs(ratio / float(edge(L)) - 1) <= 1 / k


def test_top_eigenvalue_is_bounded_by_the_moments():
    """For the N eigenvalues of P^T P (>= 0): m_k^(1/k) <= lambda_max (a mean of lambda^k is at most the largest)
    and lambda_max^k <= N m_k (the largest is at most the sum), for every sample and k. At k = 12, N = 4 the
    second largest eigenvalue would fail the first unless it were within N^(1/12) = 12% of the largest."""
    draw = sample_spectra(2, 4, 30, 12, seed=4)
    for m, top in zip(draw["moments"], draw["top"]):
        for k in range(1, 13):
            assert m[k - 1] ** (1 / k) <= top * (1 + ROUND) and top ** k <= 4 * m[k - 1] * (1 + ROUND)


def test_second_moment_of_a_product_of_two_at_finite_n():
    """L = 2, P = W2 W1: by Wick's theorem over W2 given B = W1 W1^T, E (1/N) tr (P^T P)^2 = E (tr B / N)^2 +
    (1 + 1/N) E tr B^2 / N = (1 + 2/N^2) + (1 + 1/N)(2 + 1/N) = 3 + 3/N + 3/N^2 exactly; within 4 SE
    (seeded; one factor fewer gives 2 + 1/N)."""
    size = 10
    m = sample_spectra(2, size, 3000, 2, seed=12)["moments"][:, 1]
    exact = 3 + 3 / size + 3 / size ** 2
    assert abs(m.mean() - exact) <= 4 * m.std(ddof=1) / math.sqrt(m.size)


def test_the_smallest_allowed_sizes_are_accepted():
    """N >= 2 and R >= 2 (the docstring): N = R = 2 runs; a 2 x 2 P^T P has m_1 = (l1 + l2) / 2 <= top."""
    draw = sample_spectra(1, 2, 2, 1, seed=0)
    assert draw["moments"].shape == (2, 1) and np.all(draw["moments"][:, 0] <= draw["top"] * (1 + ROUND))


def test_spectrum_row_statistics_are_the_plain_sample_ones():
    draw = sample_spectra(2, 8, 25, 3, seed=9)
    row = spectrum_row(2, 8, 25, 3, seed=9)
    m, top = draw["moments"], draw["top"]
    exact = np.array([1.0, 3.0, 12.0])                          # Fuss-Catalan L = 2
    se = np.array([np.std(m[:, k], ddof=1) for k in range(3)]) / 5.0
    np.testing.assert_allclose(row["moments"], m.mean(axis=0), rtol=ROUND)
    np.testing.assert_allclose(row["moments_se"], se, rtol=ROUND)
    np.testing.assert_allclose(row["predicted_moments"], exact, rtol=0)
    np.testing.assert_allclose(row["relative_error"], (m.mean(axis=0) - exact) / exact, rtol=ROUND, atol=ROUND)
    np.testing.assert_allclose(row["relative_error_se"], se / exact, rtol=ROUND)
    assert abs(row["edge"] - top.mean()) <= ROUND * top.mean()
    assert abs(row["edge_se"] - np.std(top, ddof=1) / 5.0) <= ROUND * row["edge_se"]
    assert row["predicted_edge"] == 6.75


def _synthetic_rows(sizes, amplitude, slope, rel_se):
    rows = []
    for n in sizes:
        e = amplitude * n ** slope
        rows.append({"factors": 1, "size": n, "relative_error": [e], "relative_error_se": [rel_se * abs(e)]})
    return rows


def test_finite_size_fit_of_an_exact_power_law_with_its_linearized_interval():
    """e(N) = 2 N^-1.3 exactly, SE 10% of each value: the fit returns slope -1.3 and amplitude 2 (to the
    optimizer's tolerance, 1e-6), chi2 ~ 0 with 2 degrees of freedom, and the 95% interval slope +- 1.96 sd with
    sd from (J^T W J)^-1, J the model's derivatives in (a, slope) at the reference N_0 = 8 (absolute SEs)."""
    sizes = [8, 16, 32, 64]
    fit = finite_size_fit(_synthetic_rows(sizes, 2.0, -1.3, 0.1), 1)
    assert fit["verdict"] == "fitted" and fit["dof"] == 2 and fit["chi2"] <= 1e-8
    assert abs(fit["slope"] + 1.3) <= 1e-6 and abs(fit["amplitude"] / 2.0 - 1) <= 1e-6
    n = np.array(sizes, dtype=float)
    a = 2.0 * 8.0 ** -1.3                                       # the amplitude at N_0 = 8
    rel = (n / 8.0) ** -1.3
    jac = np.stack([rel, a * rel * np.log(n / 8.0)], axis=1)
    w = 1 / (0.1 * 2.0 * n ** -1.3) ** 2
    sd = math.sqrt(np.linalg.inv(jac.T @ (w[:, None] * jac))[1, 1])
    lo, hi = fit["ci95"]
    assert abs((hi - lo) / 2 - 1.96 * sd) <= 1e-3 * sd and abs((hi + lo) / 2 + 1.3) <= 1e-6


def test_products_report_fits_every_moment_of_every_factor_count():
    doc = products_report([1, 2], [4, 6, 8], 3, 3, seed=1)
    assert [(r["factors"], r["size"]) for r in doc["rows"]] == [(1, 4), (1, 6), (1, 8), (2, 4), (2, 6), (2, 8)]
    assert [(f["factors"], f["moment"]) for f in doc["finite_size"]] == [(L, k) for L in (1, 2) for k in (1, 2, 3)]
    assert "finite_size" not in products_report([1], [4], 3, 2, seed=1)
