"""The public Python surface: asymexp.derive / theory / simulate / validate / train and their typed results.

Everything is reached through ``import asymexp``; the underlying entry points are imported only to check that
the verbs return their numbers unchanged. Sizes are tiny (quadrature order 8, widths <= 32, <= 8 replicas).
"""
import json
import re
import subprocess
import sys
from fractions import Fraction

import matplotlib
import numpy as np
import pytest
import sympy
from matplotlib.figure import Figure

import asymexp
from asymexp.errors import AsymexpError, SpecError

PROBLEM = "tanh4.toml"
X = np.array([[0.1, -0.3, 1.0], [0.8, 0.4, 1.0]])
Y = np.array([0.5, -0.2])
TRAIN = dict(n_train=400, n_test=200, lr_scale=20.0)


def roundtrip(result):
    """to_json is json.dumps(to_dict) and to_dict is strict JSON (no NaN, no objects)."""
    doc = result.to_dict()
    assert json.loads(result.to_json()) == doc
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    return doc


@pytest.fixture(scope="module")
def shallow_theory_result():
    return asymexp.theory(PROBLEM, 0.75, [0.5, 1.0], quad_order=8)


@pytest.fixture(scope="module")
def shallow_validation():
    return asymexp.validate(PROBLEM, 0.9, widths=[8, 16, 32], replicas=8, quad_order=8, dynamics="gd")


@pytest.fixture(scope="module")
def deep_validation():
    return asymexp.validate(PROBLEM, [0.75, 1], widths=[8, 16], replicas=8, sensitivity_width=None)


@pytest.fixture(scope="module")
def training():
    return asymexp.train([0.7, 1], widths=[8, 6], epochs=2, **TRAIN)


def test_import_is_light_and_names_are_public():
    code = ("import sys, asymexp; heavy = [m for m in ('numpy', 'numba', 'sympy', 'matplotlib') if m in sys.modules];"
            "print(heavy, all(callable(getattr(asymexp, v)) for v in "
            "('derive', 'theory', 'simulate', 'validate', 'train')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] True"
    for name in ("DerivationResult", "TheoryResult", "SimulationResult", "ValidationResult", "TrainingResult"):
        assert name in asymexp.__all__ and isinstance(getattr(asymexp, name), type)


def test_verbs_stay_functions_after_the_layers_are_imported():
    import asymexp.numeric.deep_theory  # noqa: F401
    import asymexp.validation.shallow_validation  # noqa: F401
    from asymexp.api import verbs

    for name in ("derive", "theory", "simulate", "validate", "train"):
        assert getattr(asymexp, name) is getattr(verbs, name)
    assert "problem" in str(__import__("inspect").signature(asymexp.theory))


def test_derive_symbolic_learning_rate_exponents():
    g1, g2 = sympy.symbols("g1 g2")
    r = asymexp.derive("g1,g2")
    assert isinstance(r, asymexp.DerivationResult)
    assert r.learning_rates["W1"] == {"N1": 2 * g1 - 1, "N2": 2 * g2 - 3}
    assert r.document["learning_rates"]["W1"] == {"N1": "2*g1 - 1", "N2": "2*g2 - 3"}
    doc = roundtrip(r)
    assert doc["spec"]["gammas"] == ["g1", "g2"] and doc["order"] == 2 and "derivation" not in doc


def test_derive_numeric_equals_symbolic_substituted():
    sym = asymexp.derive("g1,g2,g3")
    num = asymexp.derive(np.linspace(0.5, 1, 3))
    values = dict(zip(sympy.symbols("g1 g2 g3"), [Fraction(1, 2), Fraction(3, 4), Fraction(1)]))
    assert num.gammas == (Fraction(1, 2), Fraction(3, 4), Fraction(1))
    assert roundtrip(num)["spec"]["gammas"] == ["1/2", "3/4", "1"]
    for group, exps in sym.learning_rates.items():
        expected = {n: str(sympy.nsimplify(e.subs(values))) for n, e in exps.items()}
        assert num.document["learning_rates"][group] == expected
    assert num.document["learning_rates"]["W1"] == {"N1": "0", "N2": "-1/2", "N3": "-1"}


@pytest.mark.parametrize("gamma", [0.9, "0.9", "9/10", Fraction(9, 10), np.float64(0.9), np.float32(0.9),
                                   [np.float64(0.9)], np.array([0.9])])
def test_gammas_in_any_form_are_exact(gamma):
    r = asymexp.derive(gamma, order=1)
    assert r.gammas == (Fraction(9, 10),)
    assert r.to_dict()["spec"]["gammas"] == ["9/10"]


def test_theory_shallow_matches_shallow_theory(shallow_theory_result):
    from asymexp.inputs.problems import load_problem
    from asymexp.numeric.shallow_theory import shallow_theory

    th = shallow_theory(load_problem(PROBLEM), gamma=Fraction(3, 4), times=[0.5, 1.0], quad_order=8)
    r = shallow_theory_result
    assert isinstance(r, asymexp.TheoryResult) and r.gammas == (Fraction(3, 4),) and r.depth == 1
    for name in ("h", "V", "Q1", "Q2", "A", "S"):
        assert np.array_equal(getattr(r, name), getattr(th, name)), name
    assert r.h.shape == (2, 5) and r.n_train == 4 and r.details["q1_vanishes"] == th.q1_vanishes
    assert np.allclose(r.mean(64), th.mean(64)) and np.allclose(r.variance(64), th.variance(64))
    doc = roundtrip(r)
    assert doc["gammas"] == ["3/4"] and doc["h"] == th.h.tolist() and doc["Q3"] is None


def test_theory_deep_matches_deep_theory_and_has_the_same_type(shallow_theory_result):
    from asymexp.inputs.problems import load_problem
    from asymexp.numeric.deep_theory import deep_theory

    d = deep_theory(load_problem(PROBLEM), [Fraction(3, 4), Fraction(1)], [16, 16], times=[1.0])
    r = asymexp.theory(PROBLEM, ["3/4", 1], 1.0, widths=(16, np.int64(16)))
    assert type(r) is type(shallow_theory_result)
    assert r.regime == d["regime"] == "finite-width" and r.widths == (16, 16) and r.Q1 is None
    for name in ("h", "V", "A", "S"):
        assert np.array_equal(getattr(r, name), d[name]), name
    limit = asymexp.theory(PROBLEM, np.array([0.75, 1.0]), 1.0)
    assert limit.regime == "sequential-limit" and limit.widths is None
    doc = roundtrip(r)
    assert doc["gammas"] == ["3/4", "1"] and doc["widths"] == [16, 16] and doc["V"] == d["V"].tolist()


def test_simulate_matches_sim_and_accepts_plain_values():
    from asymexp.sim import simulate

    spec = asymexp.NetworkSpec.from_strings("3/4", "16", activation="tanh")
    r = asymexp.simulate(spec, X, Y, times=[0.5, 1.0], replicas=4, dynamics="gd", seed=3)
    ref = simulate(spec, X, Y, X, [0.5, 1.0], replicas=4, seed=3, dynamics="gd")
    assert isinstance(r, asymexp.SimulationResult) and r.outputs.shape == (4, 2, 2)
    assert np.array_equal(r.outputs, ref.outputs) and np.array_equal(r.g0, ref.g0)
    plain = asymexp.simulate(np.float64(0.75), X, Y, times=[0.5, 1.0], replicas=4, widths=16, activation="tanh",
                             dynamics="gd", seed=3)
    assert np.array_equal(plain.outputs, r.outputs)
    doc = roundtrip(r)
    assert doc["spec"]["gammas"] == ["3/4"] and doc["outputs"] == ref.outputs.tolist() and doc["times"] == [0.5, 1.0]
    assert np.allclose(r.mean, ref.outputs.mean(axis=0))


def test_validate_shallow_reports_exact_gamma_and_matches(shallow_validation):
    from asymexp.inputs.problems import load_problem
    from asymexp.validation import validate_shallow

    ref = validate_shallow(load_problem(PROBLEM), Fraction(9, 10), [8, 16, 32], replicas=8, progress=False,
                           dynamics="gd", quad_order=8)
    v = shallow_validation
    assert isinstance(v, asymexp.ValidationResult) and v.depth == 1 and v.widths == (8, 16, 32)
    assert v.gammas == (Fraction(9, 10),) and v.document["gamma"] == "9/10"
    assert v.document["var"] == ref["var"] and v.verdict == ref["verdict"]
    assert v.verdict in ("agree", "disagree", "undetermined")
    text = v.to_json()
    assert "8106479329266893" not in text
    doc = roundtrip(v)
    assert doc["gammas"] == ["9/10"] and doc["replicas"] == 8 and doc["document"]["gamma"] == "9/10"


def test_validate_deep_matches_validate_deep(deep_validation):
    from asymexp.inputs.problems import load_problem
    from asymexp.validation import validate_deep

    ref = validate_deep(load_problem(PROBLEM), [Fraction(3, 4), Fraction(1)], [8, 16], replicas=8, progress=False,
                        sensitivity_width=None)
    v = deep_validation
    assert v.depth == 2 and v.gammas == (Fraction(3, 4), Fraction(1))
    assert v.document["var_total"] == ref["var_total"] and v.document["depth"] == 2
    assert roundtrip(v)["gammas"] == ["3/4", "1"]


def test_train_matches_trainer_and_takes_a_spec(training):
    from asymexp.mnist.train import TrainConfig, train

    ref = list(train(TrainConfig(gammas="7/10,1", widths="8,6", epochs=2, **TRAIN)))
    r = training
    assert isinstance(r, asymexp.TrainingResult) and len(r.history) == 2
    assert [h["test_acc"] for h in r.history] == [h["test_acc"] for h in ref]
    assert [h["train_loss"] for h in r.history] == [h["train_loss"] for h in ref]
    assert r.final_test_acc == ref[-1]["test_acc"] == r.summary["final_test_acc"]
    spec = asymexp.NetworkSpec.from_strings("7/10,1", "8,6", preset="paper-mnist")
    again = asymexp.train(spec, epochs=2, **TRAIN)
    assert [h["test_acc"] for h in again.history] == [h["test_acc"] for h in ref]
    doc = roundtrip(r)
    assert doc["spec"]["gammas"] == ["7/10", "1"] and doc["config"]["gammas"] == "7/10,1"


def test_plot_returns_figures_and_leaves_the_backend(tmp_path, shallow_theory_result, shallow_validation,
                                                     deep_validation, training):
    sim = asymexp.simulate("3/4", X, Y, times=[1.0], replicas=4, widths=16, activation="tanh", dynamics="gd")
    deep_th = asymexp.theory(PROBLEM, [0.75, 1], [0.5, 1.0], quad_order=8)
    results = [asymexp.derive("7/10,1"), asymexp.derive("g1,g2"), shallow_theory_result, deep_th, sim,
               shallow_validation, deep_validation, training]
    before = matplotlib.get_backend()
    matplotlib.use("pdf")  # a backend the old code (matplotlib.use("Agg")) would have replaced
    try:
        figs = [r.plot() for r in results] + [shallow_validation.plot(panel="ratio")]
        assert matplotlib.get_backend().lower() == "pdf"
    finally:
        matplotlib.use(before)
    assert all(isinstance(f, Figure) for f in figs)
    assert len(figs[5].axes) == 4 and len(figs[-1].axes) == 1     # variance, ratio, mean_residual, prediction
    figs[5].savefig(tmp_path / "validation.png")
    assert (tmp_path / "validation.png").stat().st_size > 1000
    with pytest.raises(AsymexpError, match="'bogus'"):
        shallow_validation.plot(panel="bogus")


def test_plot_does_not_import_pyplot():
    code = ("import sys, asymexp; asymexp.derive('7/10,1').plot().savefig(sys.argv[1]);"
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, "/dev/null"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("call, named", [
    (lambda: asymexp.derive("0.3"), "0.3"),
    (lambda: asymexp.derive(np.float64("nan")), "nan"),
    (lambda: asymexp.derive([0.7, 1], order=9), "9"),
    (lambda: asymexp.theory(PROBLEM, 1.5), "1.5"),
    (lambda: asymexp.theory(PROBLEM, "g1"), "g1"),
    (lambda: asymexp.theory("no-such-problem.toml", 0.75), "no-such-problem.toml"),
    (lambda: asymexp.theory(PROBLEM, 0.75, times=-1), "-1"),
    (lambda: asymexp.theory(PROBLEM, [0.75, 1], 1.0, method="monte-carlo"), "monte-carlo"),
    (lambda: asymexp.simulate(0.75, X, Y), "widths"),
    (lambda: asymexp.simulate([0.75], X, Y, widths=[16, 16]), "widths has 2 entries"),
    (lambda: asymexp.validate(PROBLEM, 0.75, widths=[16, 8], replicas=8), "[16, 8]"),
    (lambda: asymexp.validate(PROBLEM, 0.75, widths=[8, 16], replicas=3), "replicas = 3"),
    (lambda: asymexp.validate(PROBLEM, 0.75, widths=[8, 16], replicas=8, time=-2.0), "-2.0"),
    (lambda: asymexp.train([0.7, 1], widths=[8, 6], loss="hinge", **TRAIN), "hinge"),
    (lambda: asymexp.train([0.7, 1], widths=[8, 6], speed=3), "speed"),
    (lambda: asymexp.train([0.7, 1]), "widths"),
])
def test_bad_input_raises_asymexp_error_naming_the_value(call, named):
    with pytest.raises(AsymexpError, match=re.escape(named)):
        call()


def test_spec_errors_are_value_errors_too():
    with pytest.raises(SpecError, match="outside"):
        asymexp.validate(PROBLEM, [0.75, 0.2], widths=[8, 16], replicas=8)


def test_theory_results_carry_the_error_of_every_array():
    """asymexp.theory forwards the theory layer's per-entry errors (one hidden layer and deep) and the target."""
    import asymexp
    from asymexp.inputs.problems import load_problem
    from asymexp.numeric.shallow_theory import shallow_theory

    res = asymexp.theory("tanh4.toml", "3/4", times=[0.5, 1.0], order=2, quad_order=8, tol="1e-3")
    ref = shallow_theory(load_problem("tanh4.toml"), "3/4", [0.5, 1.0], order=2, quad_order=8)
    for name in ("h", "V", "Q1", "Q2", "A", "S"):
        assert res.errors[name].shape == getattr(res, name).shape
        np.testing.assert_array_equal(res.errors[name], ref.errors[name])
    within = all(np.all(res.errors[k] <= 1e-3) for k in ("h", "V", "Q1", "Q2", "A", "S"))
    assert res.tolerance["abs"] == 1e-3 and res.tolerance["met"] is within
    assert set(res.to_dict()["errors"]) >= {"h", "V", "Q1", "Q2"}
    deep = asymexp.theory("tanh4.toml", ["1/2", "3/4"], times=[1.0], order=0, quad_order=8)
    assert deep.errors["V"].shape == deep.V.shape and np.all(deep.errors["V"] > 0)
    with pytest.raises(SpecError, match="tol"):
        asymexp.theory("tanh4.toml", ["1/2", "3/4"], times=[1.0], order=0, quad_order=8, tol="1e-3")
