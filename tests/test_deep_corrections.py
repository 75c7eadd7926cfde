"""The deep network's finite-width corrections (asymexp.symbolic.deep_corrections; docs/theory/4-deep-networks.md):
exact properties of the exponent maps over random depths and gamma vectors, agreement with what the deep
prediction computes (asymexp.validation.deep_training_prediction), and one order held against the numeric layer."""
import importlib
import inspect
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from asymexp.errors import SpecError
from asymexp.spec import NetworkSpec
from asymexp.symbolic import derive
from asymexp.symbolic.collapse import collapse_orders
from asymexp.symbolic.deep_corrections import STATUSES, deep_correction_terms

gamma_values = st.fractions(min_value=Fraction(1, 2), max_value=Fraction(1), max_denominator=20)
deep_vectors = st.integers(2, 5).flatmap(lambda L: st.lists(gamma_values, min_size=L, max_size=L))
activations = st.sampled_from(["sigmoid", "tanh"])
HALF = Fraction(1, 2)


def _rational(g):
    return sympy.Rational(g.numerator, g.denominator)


def _map(L, entries):
    """The exponent map with ``entries`` {layer (1-based): exponent}."""
    return tuple(sympy.sympify(entries.get(l, 0)) for l in range(1, L + 1))


def _by_name(terms):
    return {(t.quantity, t.name): t for t in terms}


@settings(max_examples=40, deadline=None)
@given(deep_vectors, activations)
def test_every_present_correction_decays_or_is_a_spread_at_gamma_L_one(gs, activation):
    """Along equal widths a present correction decays; the one exception is the variance's spread over the Gram
    matrix at gamma_L = 1, which (relative to the leading N_L^-1) is of leading order N_L / N_l."""
    L = len(gs)
    for t in deep_correction_terms(gs, activation):
        assert t.status in STATUSES and t.quantity in ("mean", "variance")
        assert t.path_exponent == sum(t.order)          # betas all 1
        if t.present and not t.decays:
            assert gs[-1] == 1 and t.quantity == "variance" and t.order[L - 1] == 1, t.name
            assert t.path_exponent == 0


@settings(max_examples=40, deadline=None)
@given(deep_vectors, activations)
def test_orders_of_the_named_terms(gs, activation):
    L = len(gs)
    g = [_rational(x) for x in gs]
    terms = _by_name(deep_correction_terms(gs, activation))
    assert terms[("variance", "gram_spread")].order == _map(L, {L: 2 * g[-1] - 1, L - 1: -1})
    eps2 = _map(L, {L: 2 * g[-1] - 2})
    assert terms[("mean", "node_flow_eps")].order == eps2 and terms[("variance", "V_eps")].order == eps2
    assert terms[("mean", "node_flow_eps")].present is (gs[-1] != 1)
    assert terms[("mean", "inner_training")].order == _map(L, {L: -1})
    assert terms[("mean", "gram_curvature")].order == _map(L, {L - 1: -1})
    v = collapse_orders(tuple(g), activation)
    for l in range(1, L):
        for quantity in ("mean", "variance"):
            q = terms[(quantity, f"collapse_q{l + 1}")]
            assert q.present is (gs[l - 1] > HALF)
            assert q.order == v[l]
            if activation == "sigmoid":
                assert q.order == _map(L, {l: 1 - 2 * g[l - 1]})
    for l in range(1, L - 1):
        for quantity, name in (("mean", f"inner_fluctuation_{l}"), ("variance", f"inner_fluctuation_{l}_spread")):
            f = terms[(quantity, name)]
            assert f.present is (gs[l - 1] == HALF) and f.order[l - 1] == -1
    assert not any(n.startswith("inner_fluctuation") for _, n in terms) or L >= 3
    exps = [t.path_exponent for t in deep_correction_terms(gs, activation)]
    assert exps == sorted(exps, reverse=True)


def test_a_hand_computed_case():
    """L = 2, gamma = (7/10, 9/10), sigmoid: q_2 ~ N_1^(-2/5), spread ~ N_2^(4/5) / N_1, eps_2^2 = N_2^(-1/5)."""
    terms = _by_name(deep_correction_terms(["7/10", "9/10"], "sigmoid"))
    assert terms[("mean", "collapse_q2")].order == (sympy.Rational(-2, 5), 0)
    assert terms[("variance", "gram_spread")].order == (-1, sympy.Rational(4, 5))
    assert terms[("variance", "V_eps")].path_exponent == sympy.Rational(-1, 5)
    widths = _by_name(deep_correction_terms(["7/10", "9/10"], "sigmoid", betas=["1/2", "1"]))
    assert widths[("variance", "gram_spread")].path_exponent == sympy.Rational(3, 10)   # -1/2 + 4/5


@settings(max_examples=20, deadline=None)
@given(deep_vectors, activations)
def test_symbolic_gammas_substitute_to_the_numeric_case(gs, activation):
    L = len(gs)
    names = [f"g{l}" for l in range(1, L + 1)]
    symbolic = _by_name(deep_correction_terms(names, activation))
    numeric = _by_name(deep_correction_terms(gs, activation))
    assert symbolic.keys() == numeric.keys()
    values = {sympy.Symbol(n): _rational(g) for n, g in zip(names, gs)}
    for key, t in symbolic.items():
        assert tuple(sympy.expand(e.subs(values)) for e in t.order) == numeric[key].order, key
        assert sympy.expand(t.path_exponent.subs(values)) == numeric[key].path_exponent, key
        if t.present is not None:
            assert t.present == numeric[key].present, key
    assert symbolic[("mean", "collapse_q2")].present is None and "depends on gamma" in \
        symbolic[("mean", "collapse_q2")].reason


def _function(reference: str):
    module, name = reference.partition(":")[0].strip().rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def test_every_referenced_numeric_function_exists():
    from asymexp.numeric import deep_conditional

    seen = set()
    for gs in (["7/10", "9/10"], ["1/2", "9/10"], ["3/5", "7/10", "9/10"], ["1/2", "1/2", "1/2", "1"]):
        for t in deep_correction_terms(gs, "sigmoid"):
            if not t.numeric:
                assert t.status == "omitted", t.name
                continue
            fn = _function(t.numeric)
            assert callable(fn), t.numeric
            key = t.numeric.partition(":")[2].strip()
            if fn is deep_conditional.conditional_terms:
                assert key in deep_conditional.TERMS, t.numeric
            elif key:
                assert f'"{key}"' in inspect.getsource(fn), t.numeric
            seen.add(t.numeric)
    assert len(seen) >= 8


@pytest.mark.parametrize("gammas", [["7/10", "9/10"], ["1/2", "9/10"], ["3/5", "7/10", "9/10"],
                                    ["1/2", "1/2", "1/2", "1"]])
def test_the_list_agrees_with_the_deep_prediction(gammas):
    """Computed terms fall in every entry of deep_training_prediction.TERMS and in no other; together they read
    every part of conditional_terms; the L >= 3 clause of OMITTED has its estimated terms, and only at L >= 3."""
    from asymexp.numeric.deep_conditional import TERMS as PARTS
    from asymexp.validation.deep_training_prediction import OMITTED, TERMS

    terms = deep_correction_terms(gammas, "sigmoid")
    keys = set()
    for quantity, key in (("mean", "mean"), ("variance", "var")):
        computed = [t for t in terms if t.quantity == quantity and t.status == "computed"]
        assert sorted({t.part for t in computed}) == list(range(len(TERMS[key])))
        keys |= {t.numeric.partition(":")[2].strip() for t in computed if "conditional_terms" in t.numeric}
        estimated = [t for t in terms if t.quantity == quantity and t.status == "estimated"]
        assert estimated and all(f"omitted_{key}" in t.numeric for t in estimated)
        inner = [t for t in estimated if t.name.startswith("inner_fluctuation")]
        assert ("L >= 3" in OMITTED[key]) and (bool(inner) == (len(gammas) >= 3))
    assert keys == set(PARTS) - {"mean", "var"}


def test_equations_render():
    for t in deep_correction_terms(["1/2", "7/10", "9/10"], "tanh"):
        assert t.latex and "\n" not in t.text and t.text
        assert all(isinstance(e, sympy.Basic) for e in t.equation)
    inner = _by_name(deep_correction_terms(["7/10", "9/10"], "sigmoid"))[("mean", "inner_training")]
    ode = inner.equation[0]
    assert isinstance(ode, sympy.Eq) and isinstance(ode.lhs, sympy.Derivative)
    assert r"\circ" in inner.latex and "N_{2}" in inner.latex


@pytest.mark.parametrize("bad", [["7/10"], ["2/5", "9/10"], ["7/10", "3/2"]])
def test_bad_gammas_are_refused(bad):
    with pytest.raises(SpecError):
        deep_correction_terms(bad, "sigmoid")


def test_derive_carries_the_corrections():
    d = derive(NetworkSpec.from_strings("7/10,9/10"))
    doc = d.to_json()["deep_corrections"]
    assert [c["name"] for c in doc] == [c.name for c in d.corrections] and doc[0]["order"].keys() == {"N1", "N2"}
    assert "deep_corrections" not in derive(NetworkSpec.from_strings("3/5")).to_json()


def test_collapse_moment_slope_against_the_finite_width_recursion():
    """Sigmoid, L = 2, gamma_1 = 7/10: the symbolic order of q_2 is N_1^(1 - 2 gamma_1) = N_1^(-2/5). The numeric
    recursion's E sigma(Z^2)^2 (initial_cumulants.initial_variance, over s_c^2) exceeds its sequential limit
    sigma(0)^2 = 1/4 by d = F_2(q_2) - 1/4 with q_2 = nu_1 E M_1 <= nu_1 = N_1^(1 - 2 gamma_1) (sigma < 1).

    Basis of the tolerance: sigma - 1/2 is odd with sigma'(0) = 1/4 and sigma'''(0) = -1/8, so
    F_2(q) = 1/4 + q/16 - q^2/32 + O(q^3) and d = (q/16)(1 - q/2 + O(q^2)); the secant slope of log d between
    N_a and N_b then differs from the exponent by (q_a - q_b) / (2 ln(N_b/N_a)) + O(q^2), bounded by
    (nu_a - nu_b) / ln(N_b/N_a) (twice the first term); the fluctuation of q (order nu^2 / N_1) is smaller by a
    factor nu / N_1. The quadrature's error estimate is added, relative to d, over ln(N_b/N_a)."""
    from asymexp.numeric.initial_cumulants import Layers, initial_variance
    from asymexp.spec import Law

    gammas = ("7/10", "9/10")
    q2 = _by_name(deep_correction_terms(gammas, "sigmoid"))[("mean", "collapse_q2")]
    exponent = float(q2.order[0])
    laws = (Law("normal", 0, 1), Law("normal", 0, 1), Law("uniform", -1, 1))
    sc2 = 1.0 / 3.0
    x = np.array([[0.3, -0.5, 1.0], [1.0, 0.2, 1.0]])
    widths = (10_000, 100_000)
    runs = [initial_variance(Layers("sigmoid", (0.7, 0.9), (n, 64), laws), x) for n in widths]
    d = [r.value / sc2 - 0.25 for r in runs]
    err = [np.maximum(r.error / sc2, 1e-13) for r in runs]
    span = math.log(widths[1] / widths[0])
    slope = (np.log(d[1]) - np.log(d[0])) / span
    nu = [n ** exponent for n in widths]
    tolerance = (nu[0] - nu[1]) / span + (err[0] / d[0] + err[1] / d[1]) / span
    assert np.all(np.abs(slope - exponent) <= tolerance), (slope, exponent, tolerance)
