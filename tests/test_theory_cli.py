"""`asymexp theory` (docs/interfaces.md): the JSON document, the ends of the gamma range, one-line errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

from asymexp.cli import main
from asymexp.numeric import load_problem, shallow_theory


def run_json(capsys, *args):
    assert main(["theory", *args, "--json"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def test_json_document_has_the_contract_fields_and_matches_the_api(capsys):
    doc, err = run_json(capsys, "--problem", "tanh4.toml", "--gamma", "0.75", "--time", "1", "--nodes", "8")
    for key in ("points", "h", "V", "Q1", "Q2", "kernel_error", "method"):
        assert key in doc
    assert doc["method"] == "quadrature" and doc["gamma"] == "3/4" and doc["regime"] == "expansion"
    assert doc["variance_exponent"] == "-1/2" and doc["eps_exponent"] == "-1/4" and doc["nu"] == 1
    assert len(doc["points"]) == 5 and len(doc["h"]) == 5 and isinstance(doc["kernel_error"], float)
    th = shallow_theory(load_problem("tanh4.toml"), 0.75, [1.0], quad_order=8)
    np.testing.assert_allclose(doc["h"], th.h[0], rtol=1e-15)
    np.testing.assert_allclose(doc["Q2"], th.Q2[0], rtol=1e-15)
    assert doc["q1_vanishes"] is True and err == ""


@pytest.mark.parametrize("gamma,regime,words", [("1/2", "ntk-gaussian", "random"), ("1", "mean-field", "mean-field")])
def test_the_ends_say_what_they_mean(capsys, gamma, regime, words):
    doc, err = run_json(capsys, "--problem", "sigmoid4.toml", "--gamma", gamma, "--time", "1", "--order", "0",
                        "--nodes", "8")
    assert doc["regime"] == regime and "variance_exponent" not in doc and doc["Q1"] is None
    assert words in err and any(words in note for note in doc["notes"])


def test_several_times_and_monte_carlo(capsys):
    doc, _ = run_json(capsys, "--problem", "sigmoid4.toml", "--gamma", "0.7", "--time", "0,1", "--order", "1",
                      "--method", "monte-carlo", "--samples", "2000", "--seed", "3")
    assert doc["method"] == "monte-carlo" and np.shape(doc["h"]) == (2, 5) and doc["time"] == [0.0, 1.0]
    assert doc["h"][0] == [0.0] * 5 and doc["kernel_error"] > 0


@pytest.mark.parametrize("args,word", [(["--gamma", "0.4"], "0.4"), (["--time", "-1"], "-1"),
                                       (["--order", "7"], "7"), (["--problem", "missing.toml"], "missing.toml")])
def test_bad_input_exits_2_with_one_line(args, word):
    base = {"--problem": "tanh4.toml", "--gamma": "0.75", "--time": "1"}
    base.update(dict(zip(args[::2], args[1::2])))
    argv = [sys.executable, "-m", "asymexp", "theory", *[x for kv in base.items() for x in kv], "--json"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and proc.stdout == "" and len(lines) == 1 and word in lines[0]


def test_order_three_adds_q3_which_vanishes_for_a_symmetric_c_law(capsys):
    doc, _ = run_json(capsys, "--problem", "tanh4.toml", "--gamma", "0.8", "--time", "1", "--order", "3",
                      "--nodes", "6")
    assert doc["nu"] == 2 and doc["Q3"] == [0.0] * 5  # every Q3 term is odd in c: pruned by the symbolic layer
