"""Inputs that used to pass silently and change the science: antithetic pairs outside the law of C, typos in a
problem file's tables, targets that do not match the training points."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.cli import main
from asymexp.inputs.problems import ProblemError, problem_from_mapping
from asymexp.sim import SimError, simulate
from asymexp.spec import NetworkSpec

X = np.array([[0.1, -0.3, 1.0], [0.8, 0.4, 1.0], [-0.6, 0.7, 1.0]])
Y = np.array([0.5, -0.2, 0.3])
TABLE = {"activation": "tanh", "init": {"c": "uniform(0,1)", "w": "normal(0,1)"},
         "data": {"x": X.tolist(), "y": Y.tolist()}}


def _spec(c_law):
    return NetworkSpec.from_strings("3/4", "8", activation="tanh", input_dim=3,
                                    weight_laws=("normal(0,1)", c_law))


def test_antithetic_pairs_are_refused_for_an_asymmetric_law_of_c():
    with pytest.raises(SimError, match=r"C ~ uniform\(0,1\) is not .*antithetic=False"):
        simulate(_spec("uniform(0,1)"), X, Y, X, [0.5], 4, dynamics="gd")
    res = simulate(_spec("uniform(0,1)"), X, Y, X, [0.5], 4, dynamics="gd", antithetic=False)
    assert res.g0.shape == (4, 3)
    simulate(_spec("uniform(-1,1)"), X, Y, X, [0.5], 4, dynamics="gd")      # symmetric: pairs stay in the law


def test_validate_cli_refuses_pairs_for_an_asymmetric_law(tmp_path, capsys):
    path = tmp_path / "asym.toml"
    path.write_text('activation = "tanh"\n[init]\nc = "uniform(0,1)"\n[data]\nx = [[0.1, 1.0], [0.5, 1.0]]\n'
                    'y = [0.2, -0.1]\n')
    assert main(["validate", "--problem", str(path), "--gamma", "3/4", "--widths", "8,16", "--replicas", "8",
                 "--time", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "--no-antithetic" in err and err.count("\n") == 1


@pytest.mark.parametrize("table,needle", [
    ({"init": {"C": "uniform(0,1)"}}, r"\[init\] has unknown key\(s\) C"),
    ({"data": {"x": X.tolist(), "y": Y.tolist(), "probes": [[0.0, 0.0, 1.0]]}}, r"\[data\] has unknown key\(s\) probes"),
    ({"data": 5}, "data = 5 is not a table"),
    ({"init": "x"}, "init = 'x' is not a table"),
])
def test_problem_tables_refuse_typos_and_wrong_types(table, needle):
    with pytest.raises(ProblemError, match=needle):
        problem_from_mapping({**TABLE, **table})


def test_simulate_refuses_targets_that_do_not_match_the_points():
    with pytest.raises(SimError, match="one target per training point"):
        simulate(_spec("uniform(-1,1)"), X, Y[:2], X, [0.5], 4, dynamics="gd")
    with pytest.raises(SimError, match="finite"):
        simulate(_spec("uniform(-1,1)"), X, np.array([0.5, np.nan, 0.3]), X, [0.5], 4, dynamics="gd")


def test_negative_seeds_and_workers_are_one_line_errors(capsys):
    from asymexp.mnist.train import TrainConfig, build_spec

    with pytest.raises(SimError, match="seed = -1"):
        simulate(_spec("uniform(-1,1)"), X, Y, X, [0.5], 4, dynamics="gd", seed=-1)
    with pytest.raises(Exception, match="--seed -1"):
        build_spec(TrainConfig(seed=-1))
    for argv in (["validate", "--problem", "tanh4.toml", "--gamma", "0.75", "--widths", "8,16", "--seed", "-1"],
                 ["validate", "--problem", "tanh4.toml", "--gamma", "0.75", "--widths", "8,16", "--workers", "-2"],
                 ["theory", "--problem", "tanh4.toml", "--gamma", "0.75", "--seed", "x"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "integer >=" in err and err.count("\n") == 1


def test_derive_json_with_out_prints_the_document_and_writes_it(tmp_path, capsys):
    import json

    assert main(["derive", "--gammas", "3/4", "--json", "--out", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["gammas"] == ["3/4"] and json.loads((tmp_path / "L1_g3-4.json").read_text()) == doc


def test_text_output_has_no_python_reprs(capsys):
    assert main(["info"]) in (0, None)
    out = capsys.readouterr().out
    assert "{" not in out and "'" not in out and "numba_threads" in out and "kernel_cache" in out


def test_sweep_mnist_takes_the_activation(tmp_path):
    import argparse

    from asymexp.mnist import mnist_grid

    parser = argparse.ArgumentParser()
    mnist_grid.add_arguments(parser)
    args = parser.parse_args(["--layers", "2", "--activation", "tanh"])
    args.grid, args.out = ["gammas=1/2,1"], str(tmp_path)
    tasks, _ = mnist_grid.build_tasks(args)
    assert len(tasks) == 4 and {t.params["config"]["activation"] for t in tasks} == {"tanh"}


def _problem(**change):
    from asymexp.inputs.problems import Problem
    from asymexp.spec import Law

    fields = dict(activation="tanh", alpha=1.0, c_law=Law.parse("uniform(-1,1)"), w_law=Law.parse("normal(0,1)"),
                  x=X, y=Y, probe=np.zeros((0, 3)))
    return Problem(**{**fields, **change})


@pytest.mark.parametrize("change,needle", [
    ({"alpha": -1.0}, r"alpha = -1.0; a finite number > 0"),
    ({"alpha": 0}, r"alpha = 0; a finite number > 0"),
    ({"alpha": float("inf")}, r"alpha = inf"),
    ({"alpha": True}, r"alpha = True"),
    ({"activation": "relu"}, r"activation = 'relu'; allowed"),
    ({"x": X[:, :, None]}, r"x has shape \(3, 3, 1\); a 2-D array"),
    ({"x": np.zeros((0, 3))}, r"x has shape \(0, 3\)"),
    ({"y": Y[:2]}, r"y has shape \(2,\); \(3,\) is required"),
    ({"y": Y[:, None]}, r"y has shape \(3, 1\); a 1-D array"),
    ({"probe": np.ones((1, 2))}, r"probe has shape \(1, 2\); \(Q, 3\)"),
    ({"x": [["a", 1.0, 1.0]] * 3}, r"x = .* is not an array of numbers"),
    ({"c_law": "torch-default"}, r"c_law = torch-default needs a fan-in"),
    ({"w_law": "cauchy(0,1)"}, r"w_law: law 'cauchy\(0,1\)'"),
])
def test_a_problem_built_from_arrays_checks_its_fields(change, needle):
    with pytest.raises(ProblemError, match=needle):
        _problem(**change)


def test_a_problem_from_arrays_refuses_nan_before_any_linear_algebra():
    """NaN used to reach the theory layer and end in a raw LinAlgError; now the constructor names the entry."""
    bad = X.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ProblemError, match=r"x\[1, 2\] = nan; every entry must be a finite number"):
        _problem(x=bad)
    good = _problem(c_law="uniform(-1,1)", x=X.tolist(), y=tuple(Y))        # lists and law strings are accepted
    assert good.x.dtype == np.float64 and good.x.shape == (3, 3) and good.c_law.kind == "uniform"
    assert good.x is not X and good.points.shape == (3, 3)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(row=st.integers(0, 2), col=st.integers(0, 2), value=st.sampled_from([np.nan, np.inf, -np.inf]),
       field=st.sampled_from(["x", "y", "probe"]))
def test_any_non_finite_entry_is_refused_and_named(row, col, value, field):
    arrays = {"x": X.copy(), "y": Y.copy(), "probe": X.copy()}
    index = (row,) if field == "y" else (row, col)
    arrays[field][index] = value
    with pytest.raises(ProblemError, match=rf"{field}\[{', '.join(map(str, index))}\] = {value}"):
        _problem(**arrays)


def test_deep_validate_refuses_a_flow_step_it_would_ignore(capsys):
    """Deep nets train by GD unless --dynamics flow is given; a flow step without flow would be ignored."""
    assert main(["validate", "--problem", "tanh4.toml", "--depth", "2", "--gammas", "0.7,0.9", "--widths", "8,16",
                 "--flow-dt", "1/8"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--flow-dt 1/8" in err and "--dynamics flow" in err
