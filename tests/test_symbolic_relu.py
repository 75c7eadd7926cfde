"""Closed-form order parameters (asymexp.symbolic.closed_order_parameters, `asymexp derive --order-parameters`).

Statistical basis: none needed. The exact expressions are evaluated at 40 significant digits, so their own error
is below 1e-35; they are compared with the numeric layer (asymexp.bn.order_parameters) within the error bound
that layer states (``OrderParameters.error``), plus the float64 rounding of the sums that form kappa.
"""
import json
import math

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from asymexp.cli import main
from asymexp.bn.order_parameters import fim_predictions, order_parameters
from asymexp.symbolic import closed_order_parameters as cop

EPS = 2.0 ** -52


def _exact(x: float):
    return sympy.Rational(x)   # the float's exact binary value, the number the numeric layer uses


def _bound(op, *values) -> float:
    return op.error + 8 * EPS * max(abs(v) for v in values)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["relu", "identity"]), st.floats(0.2, 4.0), st.floats(0.0, 2.0), st.integers(1, 6),
       st.floats(0.25, 3.0), st.floats(-1.0, 1.0))
def test_exact_equals_numeric_within_its_bound(activation, sw2, sb2, layers, qhat0, overlap):
    qhat_st0 = overlap * qhat0
    op = order_parameters(activation, layers, sw2, sb2, qhat0, qhat_st0)
    exact = cop.closed_order_parameters(activation, layers, _exact(sw2), _exact(sb2), _exact(qhat0),
                                        _exact(qhat_st0)).evaluate()
    for name in ("kappa1", "kappa2"):
        assert abs(exact[name] - getattr(op, name)) <= _bound(op, exact[name]), name
    for name in ("q", "qhat", "qtilde", "q_st", "qhat_st", "qtilde_st"):
        got, want = exact[name], getattr(op, name)
        assert len(got) == len(want), name
        for g, w in zip(got, want):
            assert abs(g - w) <= _bound(op, g), (name, g, w)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.2, 4.0), st.floats(0.0, 2.0), st.integers(1, 5), st.integers(2, 512), st.integers(2, 512),
       st.integers(1, 10))
def test_predictions_equal_the_numeric_asymptotic_laws(sw2, sb2, layers, width, samples, outputs):
    op = order_parameters("relu", layers, sw2, sb2)
    exact = cop.closed_order_parameters("relu", layers, _exact(sw2), _exact(sb2)).evaluate()
    num = fim_predictions(op, width, samples, outputs, input_dim=width)   # N(0, I_M) inputs: fan-in M everywhere
    values = {cop.M: width, cop.T: samples, cop.C: outputs, cop.KAPPA1: exact["kappa1"],
              cop.KAPPA2: exact["kappa2"]}
    laws = cop.predictions(layers)
    for name, key in (("lambda_max", "lambda_max_asymptotic"), ("m_lambda", "mean_eig_asymptotic"),
                      ("lower_bound", "lower_bound_asymptotic")):
        got = float(laws[name].evalf(30, subs=values))
        scale = max(width, 1) * layers * max(abs(exact["kappa1"]), abs(exact["kappa2"]), 1.0)
        assert abs(got - num[key]) <= op.error * scale + 16 * EPS * abs(got), name


def test_diagonal_closed_form_in_the_layer_index():
    for activation in ("relu", "identity"):
        general = cop.general_q(activation)
        for sw2 in (sympy.Rational(3, 2), sympy.Integer(2), sympy.Integer(1)):
            r = cop.closed_order_parameters(activation, 4, sw2, None, None)
            for l, q in enumerate(r.q, start=1):
                value = general.subs({cop.ELL: l, cop.SW2: sw2})
                assert sympy.simplify(value - q) == 0, (activation, sw2, l)


def test_contract_example_kappa1_is_the_fim_theory():
    from asymexp.bn.fim.experiment import FimStudy, theory_summary

    r = cop.closed_order_parameters("relu", 2, 2, 0)
    assert r.kappa1 == sympy.Rational(3, 2)            # qhat^l = qtilde^l = 1: kappa1 = L / alpha = 3/2
    fim = theory_summary(FimStudy(layers=2, widths=(64,), samples=64))
    assert abs(fim["kappa1"] - 1.5) <= fim["kappa_error"] + 4 * EPS
    k2 = r.composed(r.kappa2)
    assert k2.free_symbols == set()
    assert abs(float(k2.evalf(30)) - fim["kappa2"]) <= fim["kappa_error"] + 4 * EPS


def test_relu_composition_is_the_arc_cosine_formula():
    # docs/batchnorm.md: at s_w^2 = 2, s_b^2 = 0, qhat_st^1 = (sqrt(1 - c^2) + (pi - arccos c) c) / pi, c = qhat_st^0
    c = sympy.Rational(1, 3)
    r = cop.closed_order_parameters("relu", 1, 2, 0, 1, c)
    want = (sympy.sqrt(1 - c ** 2) + (sympy.pi - sympy.acos(c)) * c) / sympy.pi
    assert sympy.simplify(r.composed(cop.layer_symbol("qhat_st", 1)) - want) == 0
    assert sympy.simplify(r.composed(cop.layer_symbol("qtilde_st", 1)) - (1 - sympy.acos(c) / sympy.pi)) == 0


def _json(capsys, *args):
    assert main(["derive", "--order-parameters", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_json_expressions_parse_back(capsys):
    doc = _json(capsys, "--layers", "3", "--json")
    assert doc["activation"] == "relu" and doc["alpha"] == 3 and doc["values"] is None
    symbols = {s.name: s for s in (cop.SW2, cop.SB2, cop.QHAT0, cop.QHAT_ST0)}
    r = cop.closed_order_parameters("relu", 3)
    assert sympy.sympify(doc["kappa1"]["expression"], locals=symbols) - r.kappa1 == 0
    assert [e["symbol"] for e in doc["off_diagonal"]] == [str(lhs) for lhs, _ in r.equations]
    assert all(e["latex"] for e in doc["off_diagonal"])
    assert set(doc["predictions"]) == {"lambda_max", "m_lambda", "s_lambda", "lower_bound"}


def test_cli_values_with_numbers(capsys):
    doc = _json(capsys, "--layers", "2", "--weight-var", "2", "--bias-var", "0", "--json")
    assert doc["values"]["kappa1"] == 1.5
    op = order_parameters("relu", 2, 2.0, 0.0)
    assert abs(doc["values"]["kappa2"] - op.kappa2) <= _bound(op, op.kappa2)
    assert doc["kappa2"]["composed"] is not None and math.isfinite(doc["values"]["error"])


@pytest.mark.parametrize("fmt, marker", [("md", "## Off-diagonal chain"), ("tex", "\\begin{align*}")])
def test_cli_text_formats(capsys, fmt, marker):
    assert main(["derive", "--order-parameters", "--layers", "2", "--activation", "linear", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert marker in out and "identity" in out


@pytest.mark.parametrize("args, words", [
    (["--order-parameters", "--layers", "2", "--activation", "tanh"], "relu, identity"),
    (["--order-parameters", "--layers", "2", "--activation", "sigmoid"], "closed forms exist for"),
    (["--order-parameters", "--layers", "2", "--activation", "sin"], "'sin'"),
    (["--order-parameters"], "--layers"),
    (["--order-parameters", "--layers", "0"], "0 is not allowed"),
    (["--order-parameters", "--layers", "2", "--gammas", "1"], "--gammas"),
    (["--order-parameters", "--layers", "2", "--weight-var", "0"], "s_w^2 = 0"),
    (["--order-parameters", "--layers", "2", "--bias-var", "-1"], "s_b^2 = -1"),
    (["--order-parameters", "--layers", "2", "--qhat-st0", "3/2"], "qhat_st^0 = 3/2"),
    (["--layers", "2", "--gammas", "1"], "--layers"),
    (["--gammas", "1", "--activation", "relu"], "'relu'"),
    ([], "--gammas is required"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, words):
    try:
        status = main(["derive", *args])
    except SystemExit as exc:         # argparse usage errors (e.g. --layers 0) exit from the parser
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and words in err and "Traceback" not in err


def test_cli_out_writes_the_named_file(tmp_path, capsys):
    assert main(["derive", "--order-parameters", "--layers", "2", "--weight-var", "2", "--bias-var", "1/2",
                 "--format", "md", "--out", str(tmp_path)]) == 0
    path = tmp_path / "order_parameters_relu_H2_sw2_sb1-2.md"
    # by hand: a = s_w^2/2 = 1, qtilde^l = 1; qhat^0 = 1, q^1 = 5/2, qhat^1 = 5/4, q^2 = 3, qhat^2 = 3/2;
    # kappa1 = (1 + 5/4 + 3/2) / 2 = 15/8
    assert path.is_file() and "kappa1 = 15/8" in path.read_text()
    assert str(path) in capsys.readouterr().err
