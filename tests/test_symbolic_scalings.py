"""Learning rates, time scale, nu and term orders (docs/theory/2-learning-rates.md to 3-shallow-expansion.md). Exact
arithmetic: no tolerances."""
from fractions import Fraction

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from asymexp.spec import NetworkSpec
from asymexp.symbolic import derive, learning_rate_exponents
from asymexp.symbolic import scalings
from asymexp.symbolic.scalings import closed_form_rates, gamma_symbols, group_scalings

gamma_values = st.fractions(min_value=Fraction(1, 2), max_value=Fraction(1), max_denominator=40)
gamma_vectors = st.integers(1, 8).flatmap(lambda L: st.lists(gamma_values, min_size=L, max_size=L))


def _oracle_gradient(m, g):
    """|dg/dW^m| written out by hand: N_m^{-gamma_m} prod_{k>m} N_k^{1-gamma_k} (times N_{m-1}^{-gamma_{m-1}})."""
    L = len(g)
    e = [sympy.Integer(0)] * L
    if m == L + 1:
        e[L - 1] = -g[L - 1]
        return e
    e[m - 1] -= g[m - 1]
    for k in range(m + 1, L + 1):
        e[k - 1] += 1 - g[k - 1]
    if m >= 2:
        e[m - 2] -= g[m - 2]
    return e


@settings(max_examples=40, deadline=None)
@given(gamma_vectors)
def test_every_group_changes_g_by_one_over_NL(gs):
    g = gamma_symbols(gs)
    L = len(g)
    for m, group in enumerate(group_scalings(g), start=1):
        count = [0] * L
        if m <= L:
            count[m - 1] += 1
        if m >= 2:
            count[m - 2] += 1
        total = [sympy.expand(a + c + 2 * d) for a, c, d in zip(group.learning_rate, count, _oracle_gradient(m, g))]
        assert total == [0] * (L - 1) + [-1], (m, total)


@settings(max_examples=40, deadline=None)
@given(gamma_vectors)
def test_rates_reproduce_closed_formula(gs):
    g = gamma_symbols(gs)
    closed = closed_form_rates(g)
    for group in group_scalings(g):
        assert group.learning_rate == closed[group.name]


def test_published_formulas_L1_L2_L3():
    g1, g2, g3 = sympy.symbols("g1 g2 g3")
    r1 = learning_rate_exponents(NetworkSpec.from_strings("g1"))
    assert r1 == {"W1": {"N1": 2 * g1 - 2}, "C": {"N1": 2 * g1 - 2}}
    r2 = learning_rate_exponents(NetworkSpec.from_strings("g1,g2"))
    assert r2["C"] == {"N1": 0, "N2": 2 * g2 - 2}
    assert r2["W2"] == {"N1": 2 * g1 - 1, "N2": 2 * g2 - 2}
    assert r2["W1"] == {"N1": 2 * g1 - 1, "N2": 2 * g2 - 3}
    r3 = learning_rate_exponents(NetworkSpec.from_strings("g1,g2,g3"))
    assert r3["C"] == {"N1": 0, "N2": 0, "N3": 2 * g3 - 2}
    assert r3["W3"] == {"N1": 0, "N2": 2 * g2 - 1, "N3": 2 * g3 - 2}
    assert r3["W2"] == {"N1": 2 * g1 - 1, "N2": 2 * g2 - 1, "N3": 2 * g3 - 3}
    assert r3["W1"] == {"N1": 2 * g1 - 1, "N2": 2 * g2 - 2, "N3": 2 * g3 - 3}


def _nu_interval(g: Fraction):
    """nu from its definition: smallest a >= 1 with a (1 - g) >= g - 1/2, for 1/2 < g < 1."""
    if g in (Fraction(1, 2), Fraction(1)):
        return None
    import math

    return max(1, math.ceil((2 * g - 1) / (2 * (1 - g))))


@settings(max_examples=50, deadline=None)
@given(gamma_values)
def test_nu_matches_interval_definition(g):
    d = derive(NetworkSpec(gammas=[g]), order=1)
    assert d.nu == _nu_interval(g)


def test_nu_intervals():
    assert [scalings.nu(sympy.Rational(x)) for x in ("3/5", "3/4", "4/5", "5/6", "6/7", "7/8")] == [1, 1, 2, 2, 3, 3]
    assert scalings.nu(sympy.Rational(1, 2)) is None and scalings.nu(sympy.Integer(1)) is None


@settings(max_examples=25, deadline=None)
@given(gamma_vectors)
def test_symbolic_equals_numeric_after_substitution(gs):
    L = len(gs)
    names = [f"g{i}" for i in range(1, L + 1)]
    sym = derive(NetworkSpec(gammas=names), order=2)
    num = derive(NetworkSpec(gammas=gs), order=2)
    subs = {sympy.Symbol(n): sympy.Rational(g.numerator, g.denominator) for n, g in zip(names, gs)}

    def sub(e):
        return tuple(sympy.expand(v.subs(subs)) for v in e)

    for a, b in zip(sym.groups, num.groups):
        assert sub(a.learning_rate) == b.learning_rate and sub(a.kernel_at_init) == b.kernel_at_init
    assert sub(sym.time_scale) == num.time_scale
    assert sub(sym.variance_exponent) == num.variance_exponent
    assert [sub(v) for v in sym.collapse] == list(num.collapse)
    by_name = {t.name: t for t in num.terms}
    assert {t.name for t in sym.terms} == set(by_name)
    for t in sym.terms:
        assert sub(t.order) == by_name[t.name].order
    nu_sub = sym.nu.subs(subs)
    expected = num.nu
    if expected is None:
        assert nu_sub is sympy.nan or not nu_sub.is_Integer
    else:
        assert nu_sub == expected
    may_hold = {f.kind for f in sym.degeneracies if f.holds is not False}
    assert {f.kind for f in num.degeneracies if f.holds} <= may_hold


@settings(max_examples=30, deadline=None)
@given(gamma_values, gamma_values)
def test_orders_are_monotone_in_gamma(g, h):
    lo, hi = sorted((g, h))
    d_lo, d_hi = (derive(NetworkSpec(gammas=[x]), order=2) for x in (lo, hi))
    o_lo = {t.name: t.order[0] for t in d_lo.terms}
    o_hi = {t.name: t.order[0] for t in d_hi.terms}
    assert o_lo["Q_{1,0}"] <= o_hi["Q_{1,0}"]          # eps = N^{gamma-1} grows with gamma
    assert o_lo["Q_{0,1}"] >= o_hi["Q_{0,1}"]          # eta = N^{1/2-gamma} shrinks with gamma
    assert d_lo.variance_exponent[0] >= d_hi.variance_exponent[0]
    assert d_lo.groups[-1].learning_rate[0] <= d_hi.groups[-1].learning_rate[0]
    assert (d_lo.nu or 0) <= (d_hi.nu or 10**9)


def test_terms_largest_first_and_width_path():
    d = derive(NetworkSpec.from_strings("4/5"), order=2)
    assert [t.name for t in d.terms] == ["h", "Q_{1,0}", "Q_{0,1}", "Q_{2,0}", "Q_{1,1}", "Q_{0,2}"]
    sizes = [scalings.path_exponent(t.order, d.betas) for t in d.terms]
    assert sizes == sorted(sizes, reverse=True)
    deep = derive(NetworkSpec.from_strings("7/10,7/10"), order=2, betas=["1", "2"])
    assert deep.to_json()["width_path"] == {"N1": "1", "N2": "2"}
    assert [t.name for t in deep.terms] == ["h", "Q_{0,1}"]
    assert scalings.path_exponent(deep.terms[1].order, deep.betas) == sympy.Rational(-2, 5)


def test_depth_twelve_symbolic():
    spec = NetworkSpec(gammas=[f"g{i}" for i in range(1, 13)])
    d = derive(spec, order=2)
    assert len(d.groups) == 13
    assert d.learning_rates["W1"][11] == 2 * sympy.Symbol("g12") - 3


def test_gamma_names_do_not_clash_with_internal_unknowns():
    a1, a = sympy.symbols("a1 a")
    r = learning_rate_exponents(NetworkSpec.from_strings("a1,a"))
    assert r["W1"] == {"N1": 2 * a1 - 1, "N2": 2 * a - 3}
    nu = derive(NetworkSpec.from_strings("a")).nu
    assert nu.subs(a, sympy.Rational(4, 5)) == 2
