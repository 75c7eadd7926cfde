"""Products of Gaussian matrices (docs/rmt.md): exact Fuss-Catalan numbers, the sampler's exact finite-N moments
for L = 1, the finite-size fit, and the command's bad input.

Statistical basis: seeded draws; every Monte Carlo comparison allows 4 standard errors of the mean over the
samples (a two-sided 4-sigma band: a correct sampler fails it with probability 6e-5 per comparison).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.cli import main
from asymexp.bn.rmt.fuss_catalan import edge, moment
from asymexp.bn.rmt.gaussian_products import sample_spectra
from asymexp.bn.rmt.products_check import finite_size_fit, spectrum_row


@given(st.integers(1, 6), st.integers(0, 7))
@settings(max_examples=60)
def test_moments_solve_the_generating_equation(L, k):
    """B(z) = sum_k m_k z^k satisfies B = 1 + z B^(L+1): coefficients by fixed-point iteration on a power series."""
    order = k + 1
    b = [Fraction(1)] + [Fraction(0)] * k
    for _ in range(order):
        power = [Fraction(1)] + [Fraction(0)] * k
        for _ in range(L + 1):
            power = [sum(power[i] * b[j - i] for i in range(j + 1)) for j in range(order)]
        b = [Fraction(1)] + power[:k]
    assert moment(L, k) == b[k]


def test_known_values():
    assert [moment(1, k) for k in range(6)] == [1, 1, 2, 5, 14, 42]          # Catalan numbers
    assert [moment(2, k) for k in range(5)] == [1, 1, 3, 12, 55]
    assert edge(1) == 4 and edge(2) == Fraction(27, 4)


@pytest.mark.parametrize("size", [12, 30])
def test_square_wishart_moments_at_finite_n(size):
    """L = 1 is a real square Wishart matrix: E m1 = 1, E m2 = 2 + 1/N, E m3 = 5 + 6/N + 4/N^2 exactly."""
    m = sample_spectra(1, size, 4000, 3, seed=7)["moments"]
    exact = [1.0, 2 + 1 / size, 5 + 6 / size + 4 / size ** 2]
    se = m.std(axis=0, ddof=1) / math.sqrt(m.shape[0])
    assert np.all(np.abs(m.mean(axis=0) - exact) <= 4 * se), (m.mean(axis=0), exact, se)


def test_first_moment_is_one_for_deeper_products():
    """E (1/N) tr P^T P = 1 for any L (each factor preserves the mean squared norm)."""
    m = sample_spectra(3, 16, 3000, 1, seed=3)["moments"][:, 0]
    assert abs(m.mean() - 1.0) <= 4 * m.std(ddof=1) / math.sqrt(m.size)


def test_rows_do_not_depend_on_other_rows():
    a = spectrum_row(2, 10, 5, 2, seed=1)
    b = spectrum_row(2, 10, 5, 2, seed=1)
    assert a == b
    assert spectrum_row(2, 10, 5, 2, seed=2)["moments"] != a["moments"]


def test_finite_size_slope_of_the_third_moment():
    """L = 1, k = 3: relative error (6/N + 4/N^2)/5. The fitted slope's 95% CI must contain the least-squares
    slope of the exact relative error over the same sizes."""
    sizes = [8, 16, 32, 64]
    rows = [spectrum_row(1, n, 800, 3, seed=11) for n in sizes]
    fit = finite_size_fit(rows, 3)
    assert fit["verdict"] == "fitted", fit
    n = np.array(sizes, dtype=float)
    exact_slope = np.polyfit(np.log(n), np.log((6 / n + 4 / n ** 2) / 5), 1)[0]
    lo, hi = fit["ci95"]
    assert lo <= exact_slope <= hi, (fit["slope"], fit["ci95"], exact_slope)
    assert hi - lo < 0.5          # the data resolve the slope (not an interval that contains everything)


def test_unresolved_errors_leave_the_slope_undetermined():
    rows = [spectrum_row(1, n, 20, 1, seed=0) for n in (4, 8, 16)]   # E m1 = 1 exactly: no error to resolve
    fit = finite_size_fit(rows, 1)
    assert fit["slope"] is None and fit["verdict"] == "undetermined" and "not resolved" in fit["why"], fit
    assert finite_size_fit(rows[:2], 1)["why"] == "2 sizes; three are needed"


@pytest.mark.parametrize("argv", [["--factors", "0"], ["--factors", "1,x"], ["--size", "1"],
                                  ["--samples", "1"], ["--orders", "0"], ["--seed", "-3"],
                                  ["--size", "100000", "--samples", "1000"]])
def test_bad_input_is_one_line(argv, capsys):
    try:
        status = main(["rmt", *argv])
    except SystemExit as exc:          # argparse errors exit; AsymexpError returns 2
        status = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "Traceback" not in err[0], err


def test_json_document(capsys):
    assert main(["rmt", "--factors", "2", "--sizes", "6,8", "--samples", "4", "--orders", "2", "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert [r["size"] for r in doc["rows"]] == [6, 8]
    assert doc["rows"][0]["predicted_moments"] == [1.0, 3.0] and doc["rows"][0]["predicted_edge"] == 6.75
    assert {f["moment"] for f in doc["finite_size"]} == {1, 2}
