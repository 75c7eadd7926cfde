"""NetworkSpec validation and parsing."""
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from asymexp import Law, NetworkSpec, SpecError

rational_gamma = st.fractions(min_value=Fraction(1, 2), max_value=1, max_denominator=50)


@settings(max_examples=50, deadline=None)
@given(st.lists(rational_gamma, min_size=1, max_size=8), st.data())
def test_valid_gammas_round_trip_exactly(gammas, data):
    widths = data.draw(st.lists(st.integers(1, 10_000), min_size=len(gammas), max_size=len(gammas)))
    spec = NetworkSpec.from_strings(",".join(map(str, gammas)), ",".join(map(str, widths)))
    assert spec.gammas == tuple(gammas) and spec.widths == tuple(widths)
    again = NetworkSpec.from_mapping(spec.to_dict() | {"weight_laws": list(spec.to_dict()["weight_laws"].values())})
    assert again == spec


@settings(max_examples=50, deadline=None)
@given(st.one_of(st.floats(-10, 0.4999), st.floats(1.0001, 10)).filter(lambda g: repr(g) != "0.5"))
def test_gamma_outside_range_is_named(g):
    with pytest.raises(SpecError) as err:
        NetworkSpec.from_strings(f"0.7,{g!r}", "10,10")
    assert repr(g) in str(err.value) and "gamma_2" in str(err.value) and "[1/2, 1]" in str(err.value)


def test_float_gammas_are_exact_decimals():
    assert NetworkSpec.from_strings("0.7,0.75,1", "1,2,3").gammas == (Fraction(7, 10), Fraction(3, 4), 1)
    assert NetworkSpec(gammas=(0.6,)).gammas == (Fraction(3, 5),)


@pytest.mark.parametrize("gammas,widths,fragment", [
    ("0.7,0.8", "10", "widths has 1 entries"),
    ("0.7", "0", "N_1 = 0"),
    ("0.7", "12.5", "N_1 = 12.5"),
    ("nan", "10", "'nan'"),
    ("inf", "10", "'inf'"),
    ("0.7,,1", "1,2,3", "comma-separated"),
    ("abc-1", "10", "'abc-1'"),
])
def test_bad_input_names_the_value(gammas, widths, fragment):
    with pytest.raises(SpecError, match=None) as err:
        NetworkSpec.from_strings(gammas, widths)
    assert fragment in str(err.value)


def test_unknown_activation_and_preset():
    with pytest.raises(SpecError, match="relu"):
        NetworkSpec.from_strings("0.7", "10", activation="relu")
    with pytest.raises(SpecError, match="nope"):
        NetworkSpec.from_strings("0.7", "10", preset="nope")


def test_symbolic_gammas_are_kept_as_names():
    spec = NetworkSpec.from_strings("g1,3/4", None)
    assert spec.gammas == ("g1", Fraction(3, 4)) and spec.is_symbolic and spec.widths is None


def test_presets():
    paper = NetworkSpec.from_strings("1,1,1", "100,100,100", preset="paper-mnist")
    assert [str(w) for w in paper.weight_laws] == ["normal(0,1)"] * 3 + ["uniform(0,1)"]
    assert paper.bias and str(paper.bias_law) == "torch-default" and paper.output_dim == 10
    assert paper.input_dim == 784 and paper.activation == "sigmoid"
    theory = NetworkSpec.from_strings("0.7", "10")
    assert theory.c_law.is_symmetric and not theory.bias and theory.layer_names == ("W1", "C")


@pytest.mark.parametrize("text,ok", [("normal(0,1)", True), ("uniform(-1, 1)", True), ("torch-default", True),
                                     ("uniform(1,-1)", False), ("normal(0,-1)", False), ("cauchy(0,1)", False),
                                     ("normal(0)", False), ("normal(a,1)", False)])
def test_law_parsing(text, ok):
    if ok:
        assert Law.parse(text) == Law.parse(str(Law.parse(text)))
    else:
        with pytest.raises(SpecError):
            Law.parse(text)


@settings(max_examples=30, deadline=None)
@given(st.fractions(-3, 3, max_denominator=10), st.fractions(Fraction(1, 10), 3, max_denominator=10),
       st.integers(0, 6))
def test_law_moments_match_quadrature(a, width, k):
    import numpy as np

    b = a + width
    uni = Law("uniform", a, b)
    x, w = np.polynomial.legendre.leggauss(10)  # exact for polynomials of degree <= 19
    xs = float(a) + (x + 1) * float(width) / 2
    assert float(uni.moment(k)) == pytest.approx(float(np.sum(w * xs**k) / 2), rel=1e-12, abs=1e-12)
    nor = Law("normal", a, width)
    xh, wh = np.polynomial.hermite_e.hermegauss(10)
    assert float(nor.moment(k)) == pytest.approx(
        float(np.sum(wh * (float(a) + float(width) * xh) ** k) / np.sqrt(2 * np.pi)), rel=1e-10, abs=1e-10)


def test_toml(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('[spec]\ngammas = ["3/4", 1]\nwidths = [10, 20]\nactivation = "tanh"\n'
                 '[spec.weight_laws]\nC = "uniform(0,1)"\n')
    spec = NetworkSpec.from_toml(p)
    assert spec.gammas == (Fraction(3, 4), 1) and spec.activation == "tanh"
    assert str(spec.c_law) == "uniform(0,1)" and str(spec.weight_laws[0]) == "normal(0,1)"
    p.write_text("gammas = [0.3]\n")
    with pytest.raises(SpecError, match="0.3"):
        NetworkSpec.from_toml(p)
    p.write_text("gammas = [")
    with pytest.raises(SpecError, match="not valid TOML"):
        NetworkSpec.from_toml(p)


def test_the_one_gamma_parser_accepts_numpy_and_keeps_decimals_exact():
    import numpy as np

    from asymexp.spec import parse_gammas

    assert parse_gammas(np.linspace(0.5, 1, 3)) == (Fraction(1, 2), Fraction(3, 4), Fraction(1))
    assert parse_gammas([0.9, np.float64(0.9), np.float32(0.9), "9/10", Fraction(9, 10)]) == (Fraction(9, 10),) * 5
    assert parse_gammas([np.int64(1), 1]) == (Fraction(1), Fraction(1))
    with pytest.raises(SpecError, match="gamma_2 = 'g' is a symbol"):
        parse_gammas([0.7, "g"], numeric=True)
    with pytest.raises(SpecError, match="gamma_1 = True"):
        parse_gammas([True])




@settings(max_examples=60, deadline=None, derandomize=True)
@given(gammas=st.lists(st.fractions(min_value=Fraction(1, 2), max_value=1, max_denominator=10**9), min_size=1,
                       max_size=5),
       act=st.sampled_from(["sigmoid", "tanh"]), preset=st.sampled_from(["theory", "paper-mnist"]),
       width=st.integers(1, 10**6))
def test_spec_round_trips_exactly_through_to_dict(gammas, act, preset, width):
    spec = NetworkSpec.from_strings(",".join(map(str, gammas)), ",".join([str(width)] * len(gammas)),
                                    activation=act, preset=preset)
    back = NetworkSpec.from_dict(spec.to_dict())
    assert back == spec and back.gammas == tuple(gammas)
