"""Values inside the t = 0 fourth cumulant (asymexp.numeric.initial_cumulants, docs/theory/8-initial-cumulants.md)
and the sample k4 estimator (asymexp.stats.cumulants) against closed forms: sigma = sin, whose Gaussian moments
F_k(q) = E sin(sqrt(q) z)^k are sums of exponentials, exact moments of known laws, and the documented error rule."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import asymexp.numeric.initial_cumulants as ic
from asymexp.numeric.initial_cumulants import Layers, initial_cumulant4
from asymexp.spec import Law

HALF = Fraction(1, 2)


#: sigma = sin: sin^2 = 1/2 - cos(2u) / 2 and sin^4 = 3/8 - cos(2u) / 2 + cos(4u) / 8, with E cos(b sqrt(q) z) =
#: exp(-b^2 q / 2), so F_k(q) = constant + the sum of c exp(-a q) over these (c, a) terms.
_SIN_TERMS = {2: (0.5, ((-0.5, 2.0),)), 4: (3 / 8, ((-0.5, 2.0), (1 / 8, 8.0)))}


def _sin_derivative(k, order, q):
    """d^order F_k / dq^order of sigma = sin at q (closed form)."""
    const, terms = _SIN_TERMS[k]
    return (const if order == 0 else 0.0) + sum(c * (-a) ** order * np.exp(-a * q) for c, a in terms)


def _fit_bound(k, order, q):
    """What a cubic fit of F_k' over q .. q + 5h (h = q / 100) drops in its order-th derivative: the next Taylor
    term, (5h)^2 times the derivative two orders up (for each exponential a^2 (5h)^2 of its own size)."""
    span = 5 * 1e-2 * max(q, 1e-2)
    _, terms = _SIN_TERMS[k]
    return span ** 2 * sum(abs(c) * a ** (order + 2) * np.exp(-a * q) for c, a in terms)


@pytest.mark.parametrize("q", [0.05, 0.7, 2.5])
def test_gaussian_moments_of_sin_and_their_slopes_match_the_closed_form(q):
    """[F_2, F_4, F_2', F_4'] by the trapezoid z-rule: sin is entire and the rule's step 0.05 is far below the
    spacing where its error shows (exp(-2 pi a / step) for any strip half-width a), so only rounding is left."""
    got = ic._f_and_slope("sin", q, ic._trapezoid(ic.STEP))
    exact = [_sin_derivative(2, 0, q), _sin_derivative(4, 0, q), _sin_derivative(2, 1, q), _sin_derivative(4, 1, q)]
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("q", [0.05, 0.7, 2.5])
def test_higher_derivatives_of_the_moments_of_sin(q):
    """``_moments``: F, F', F'', F''' of F_2 and F_4; the first two exact up to rounding, the last two from the
    cubic fit, within the size of the Taylor term the fit drops (:func:`_fit_bound`)."""
    for k, got in zip((2, 4), ic._moments("sin", q, ic._trapezoid(ic.STEP))):
        assert got[0] == pytest.approx(_sin_derivative(k, 0, q), rel=1e-12)
        assert got[1] == pytest.approx(_sin_derivative(k, 1, q), rel=1e-12)
        for order in (2, 3):
            assert abs(got[order] - _sin_derivative(k, order, q)) <= _fit_bound(k, order, q)


def test_higher_derivatives_of_the_moments_of_the_identity_are_exact():
    """sigma = identity: F_2 = q, F_4 = 3 q^2, so the slopes 1 and 6 q are linear in q and the cubic fit returns
    F_2'' = F_2''' = F_4''' = 0 and F_4'' = 6 up to rounding (eps |F'| / (5h)^3, about 1e-11 at q = 0.7)."""
    q = 0.7
    (f2, d2, dd2, ddd2), (f4, d4, dd4, ddd4) = ic._moments("identity", q, ic._trapezoid(ic.STEP))
    np.testing.assert_allclose([f2, d2, f4, d4], [q, 1.0, 3 * q * q, 6 * q], rtol=1e-13)
    np.testing.assert_allclose([dd2, ddd2, dd4, ddd4], [0.0, 0.0, 6.0, 0.0], atol=1e-9)


def test_the_error_estimate_is_the_closure_gap_plus_the_change_under_a_four_thirds_coarser_rule(monkeypatch):
    """``error`` = |closure - linear| + |closure at step - closure at 4 step / 3| (the first-layer product rule
    with 3/4 of its nodes), recomputed here from two public calls at a coarse step 0.6, where the tanh rule's error
    (about exp(-pi^2 / step)) is well above rounding; W1 uniform, so the first layer's node count matters."""
    x = np.array([[0.7, -0.4], [0.2, 0.9]])
    laws = (Law("uniform", -1, 1), Law("normal", 0, 1.3), Law("uniform", -1, 1))
    net = Layers("tanh", (HALF, Fraction(3, 4)), (4, 6), laws)
    step = 0.6
    fine = initial_cumulant4(net, x, step)
    monkeypatch.setattr(ic, "FIRST_LAYER_ORDER", 3 * ic.FIRST_LAYER_ORDER // 4)
    coarse = initial_cumulant4(net, x, 4 * step / 3)
    quadrature_part = np.abs(fine.scaled - coarse.scaled)
    assert np.all(quadrature_part > 1e-6 * np.abs(fine.scaled))          # the check below can see the rule
    expected = np.abs(fine.scaled - fine.leading) + quadrature_part
    np.testing.assert_allclose(fine.scaled_error, expected, rtol=1e-12)
    np.testing.assert_allclose(fine.error, expected / 6, rtol=1e-12)           # N_L^(2 - 4 gamma_L) = 1/6


@pytest.mark.parametrize("n,ones", [(10, 3), (13, 9)])
def test_fourth_cumulant_and_its_se_of_a_two_point_sample_by_hand(n, ones):
    """g = 1 at ``ones`` of n draws, 0 elsewhere (p = ones / n): the deviations are 1 - p and -p, so the sample
    central moments are m_r = p (1 - p)^r + (1 - p) (-p)^r exactly, k4 follows from them, and the influence values
    psi = d^4 - 4 m3 d - 6 m2 d^2 take two values: std(psi, ddof=1) = sqrt(n p (1 - p) / (n - 1)) |psi(1 - p) -
    psi(-p)|. Computed in exact fractions; the module's float result to rounding (1e-12 relative). Skewed
    (p != 1/2) so that the m3 term of psi counts."""
    from asymexp.stats.cumulants import fourth_cumulant

    p = Fraction(ones, n)
    m2, m3, m4 = (p * (1 - p) ** r + (1 - p) * (-p) ** r for r in (2, 3, 4))
    k4 = Fraction(n * n) * ((n + 1) * m4 - 3 * (n - 1) * m2 * m2) / ((n - 1) * (n - 2) * (n - 3))
    psi = [d ** 4 - 4 * m3 * d - 6 * m2 * d * d for d in (1 - p, -p)]
    se = np.sqrt(float(p * (1 - p) / (n - 1))) * float(abs(psi[0] - psi[1]))
    g = np.zeros(n)
    g[:ones] = 1.0
    got_k4, got_se = fourth_cumulant(g)
    assert got_k4.shape == (1,) and got_se.shape == (1,)
    assert got_k4[0] == pytest.approx(float(k4), rel=1e-12)
    assert got_se[0] == pytest.approx(se, rel=1e-12)
    # the same draws at a second point, shifted and scaled by 2: k4 scales by 2^4, SE too, the shift drops out
    both_k4, both_se = fourth_cumulant(np.stack([g, 5.0 + 2.0 * g], axis=1))
    np.testing.assert_allclose(both_k4, [float(k4), 16 * float(k4)], rtol=1e-12)
    np.testing.assert_allclose(both_se, [se, 16 * se], rtol=1e-12)


def test_two_layer_sin_closure_is_the_gaussian_q_expansion_of_the_closed_forms():
    """sigma = sin, L = 2, W1 and W2 normal, gammas 1/2: layer 1 is exact (q_1 = s1^2 |x|^2, M_1's mean F_2(q_1)
    and variance (F_4 - F_2^2)(q_1) / N_1); layer 2's q = s2^2 M_1 has mean m and variance v. With the closed forms
    F_k = const + sum c exp(-a q) and E exp(-a q) = exp(-a m + a^2 v / 2) for Gaussian q, the closure is the
    expansion of each moment in v: E F_2, E F_4, E F_2^2 to first order, Var F_2 = (1/4) e^{-4m} (e^{8v} - e^{4v}) to
    second (docs/theory/8-initial-cumulants.md). The module takes F'' and F''' from its cubic fit: the tolerance
    carries the fit's bound (:func:`_fit_bound`) through each term."""
    s1, s2, n1, n2 = 1.2, 1.5, 3, 5
    x = np.array([[0.6, -0.5]])
    k = float(x[0] @ x[0])
    sc2, m4 = 1 / 3, 1 / 5                                          # C ~ U(-1, 1)
    net = Layers("sin", (HALF, HALF), (n1, n2), (Law("normal", 0, s1), Law("normal", 0, s2), Law("uniform", -1, 1)))
    r = initial_cumulant4(net, x)

    def f(kk, order, q):
        return _sin_derivative(kk, order, q)

    q1 = s1 * s1 * k
    mu1, v1 = f(2, 0, q1), (f(4, 0, q1) - f(2, 0, q1) ** 2) / n1
    a = s2 * s2
    m, v = a * mu1, a * a * v1
    e = np.exp(-2 * m)
    mean_f2 = 0.5 - 0.5 * e * (1 + 2 * v)
    mean_f4 = 3 / 8 - 0.5 * e * (1 + 2 * v) + np.exp(-8 * m) * (1 + 32 * v) / 8
    mean_f2sq = 0.25 - 0.5 * e * (1 + 2 * v) + 0.25 * e * e * (1 + 8 * v)
    var_f2 = 0.25 * e * e * (4 * v + 24 * v * v)
    var_m2 = var_f2 + (mean_f4 - mean_f2sq) / n2
    law_c = (m4 - 3 * sc2 * sc2) / n2
    closure = law_c * mean_f4 + 3 * sc2 * sc2 * var_m2
    # the linear closure: Var q to first order, every mean at its limit
    parts = 3 * sc2 * sc2 * np.array([v1 * (a * f(2, 1, m)) ** 2, (f(4, 0, m) - f(2, 0, m) ** 2) / n2])
    parts[1] += law_c * f(4, 0, m)

    d2, d3, d4 = _fit_bound(2, 2, m), _fit_bound(2, 3, m), _fit_bound(4, 2, m)
    tol_v = (abs(f(2, 2, m)) * d2 + f(2, 1, m) * d3) * v * v + (0.5 * d4 + abs(f(2, 0, m)) * d2) * v / n2
    tol = abs(law_c) * 0.5 * d4 * v + 3 * sc2 * sc2 * tol_v + 1e-13 * abs(closure)
    assert abs(r.scaled[0] - closure) <= tol
    assert tol < 0.05 * abs(closure - parts.sum())                     # its second-order part is resolved
    np.testing.assert_allclose(r.per_layer[0], parts, rtol=1e-12)
    assert r.leading[0] == pytest.approx(parts.sum(), rel=1e-12)
    assert abs(r.variance[0] - sc2 * mean_f2) <= sc2 * 0.5 * d2 * v + 1e-15
