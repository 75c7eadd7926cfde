"""Deep networks (docs/theory/4-deep-networks.md): variance exponent by activation, trained groups, degeneracy flags.
Exact arithmetic on exponents; no tolerances."""
from fractions import Fraction

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from asymexp.spec import NetworkSpec
from asymexp.symbolic import derive
from asymexp.symbolic.collapse import theory_tanh_rule

gamma_values = st.fractions(min_value=Fraction(1, 2), max_value=Fraction(1), max_denominator=30)
deep_vectors = st.integers(2, 8).flatmap(lambda L: st.lists(gamma_values, min_size=L, max_size=L))
HALF = Fraction(1, 2)


def _spec(gs, activation):
    return NetworkSpec(gammas=gs, activation=activation)


@settings(max_examples=30, deadline=None)
@given(deep_vectors)
def test_sigmoid_variance_is_outer_layer_only(gs):
    d = derive(_spec(gs, "sigmoid"), order=1)
    L = len(gs)
    expected = [0] * (L - 1) + [1 - 2 * sympy.Rational(gs[-1].numerator, gs[-1].denominator)]
    assert list(d.variance_exponent) == expected


@settings(max_examples=30, deadline=None)
@given(deep_vectors)
def test_tanh_variance_is_collapse_sum(gs):
    d = derive(_spec(gs, "tanh"), order=1)
    expected = [1 - 2 * sympy.Rational(g.numerator, g.denominator) for g in gs]
    assert list(d.variance_exponent) == expected
    # docs/theory/index.md's wording agrees whenever no inner gamma = 1/2 follows an inner gamma > 1/2
    inner = gs[:-1]
    ordered = all(not (inner[i] > HALF and inner[j] == HALF) for i in range(len(inner))
                  for j in range(i + 1, len(inner)))
    literal = theory_tanh_rule(tuple(sympy.Rational(g.numerator, g.denominator) for g in gs))
    if ordered:
        assert tuple(literal) == tuple(d.variance_exponent)


def test_tanh_theory_wording_differs_and_is_reported():
    d = derive(NetworkSpec.from_strings("7/10,1/2,7/10", activation="tanh"))
    assert [str(v) for v in d.variance_exponent] == ["-2/5", "0", "-2/5"]
    assert any("docs/theory/4-deep-networks.md's wording" in n for n in d.notes)


@settings(max_examples=25, deadline=None)
@given(deep_vectors, st.sampled_from(["sigmoid", "tanh"]))
def test_only_outer_groups_train(gs, activation):
    tk = derive(_spec(gs, activation), order=1).to_json()["tangent_kernel"]
    L = len(gs)
    assert {k for k, v in tk.items() if v["trains"]} == {f"W{L}", "C"}
    # W^l (l < L) is suppressed by prod_{k > l} N_k^{-1}
    for l in range(1, L):
        order = tk[f"W{l}"]["order_at_init"]
        assert [order[f"N{k}"] for k in range(1, L + 1)] == ["0"] * l + ["-1"] * (L - l)


def test_shallow_both_groups_train():
    tk = derive(NetworkSpec.from_strings("3/5")).to_json()["tangent_kernel"]
    assert tk["W1"]["trains"] and tk["C"]["trains"]


def _kinds(gammas, activation):
    return {f.kind: f for f in derive(NetworkSpec.from_strings(gammas, activation=activation)).degeneracies}


def test_degeneracy_cases_of_theory_section4():
    # sigmoid, L = 3, gamma_1 > 1/2: input-independent
    assert _kinds("7/10,1/2,1/2", "sigmoid")["input-independent"].holds is True
    assert _kinds("1,1,1", "sigmoid")["input-independent"].holds is True
    # sigmoid, L = 2, gamma_1 > 1/2: input enters only weakly
    assert _kinds("7/10,1", "sigmoid")["weak-input"].holds is True
    # tanh, L = 3, gamma_1, gamma_2 > 1/2: the kernel vanishes like N^{1 - 2 gamma_1}
    flag = _kinds("7/10,9/10,1/2", "tanh")["vanishing-kernel"]
    assert flag.holds is True and "N_1^(-2/5)" in flag.reason
    # no degeneracy with all gammas 1/2, or with gamma_1 = 1/2 at L = 2
    assert _kinds("1/2,1/2,1/2", "sigmoid") == {} and _kinds("1/2,1/2,1/2", "tanh") == {}
    assert _kinds("1/2,1", "sigmoid") == {}
    assert "input-independent" not in _kinds("1/2,7/10,1", "sigmoid")


def test_symbolic_flags_are_conditional():
    flags = _kinds("g1,g2,g3", "sigmoid")
    assert flags["input-independent"].holds is None and "gamma_1 > 1/2" in flags["input-independent"].condition


def test_nonzero_mean_output_law_is_flagged():
    kinds = _kinds("7/10", "sigmoid") | {f.kind: f for f in derive(
        NetworkSpec.from_strings("7/10", preset="paper-mnist")).degeneracies}
    assert kinds["diverging-initial-output"].holds is True
