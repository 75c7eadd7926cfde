"""`asymexp derive` against docs/interfaces.md (JSON contract, md/tex output, bad input)."""
import json
import subprocess
import sys

import pytest

from asymexp.cli import main


def _json(capsys, *args):
    assert main(["derive", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_acceptance_exact_exponents(capsys):
    doc = _json(capsys, "--gammas", "7/10,4/5,9/10,1", "--json")
    assert doc["depth"] == 4 and doc["gammas"] == ["7/10", "4/5", "9/10", "1"]
    # docs/theory/2-learning-rates.md's closed formula, worked by hand for this vector
    assert doc["learning_rates"] == {
        "W1": {"N1": "2/5", "N2": "-2/5", "N3": "-1/5", "N4": "-1"},
        "W2": {"N1": "2/5", "N2": "3/5", "N3": "-1/5", "N4": "-1"},
        "W3": {"N1": "0", "N2": "3/5", "N3": "4/5", "N4": "-1"},
        "W4": {"N1": "0", "N2": "0", "N3": "4/5", "N4": "0"},
        "C": {"N1": "0", "N2": "0", "N3": "0", "N4": "0"}}
    assert doc["time_scale"] == {"N1": "0", "N2": "0", "N3": "0", "N4": "1"}
    assert doc["variance_exponent"] == {"N1": "0", "N2": "0", "N3": "0", "N4": "-1"}
    assert doc["nu"] is None
    for term in doc["terms"]:
        assert set(term) == {"name", "a", "b", "order", "random", "vanishes"}
        assert list(term["order"]) == ["N1", "N2", "N3", "N4"]


def test_shallow_json_terms_and_nu(capsys):
    doc = _json(capsys, "--gammas", "0.8", "--order", "2", "--format", "json")
    assert doc["nu"] == 2 and doc["variance_exponent"] == {"N1": "-3/5"}
    names = [t["name"] for t in doc["terms"]]
    assert names[:4] == ["h", "Q_{1,0}", "Q_{0,1}", "Q_{2,0}"]
    q1 = doc["terms"][1]
    assert q1 == {"name": "Q_{1,0}", "a": 1, "b": 0, "order": {"N1": "-1/5"}, "random": False, "vanishes": True}
    assert doc["terms"][2]["random"] is True


def test_symbolic_gammas(capsys):
    doc = _json(capsys, "--gammas", "g1,g2", "--json")
    assert doc["learning_rates"]["W1"] == {"N1": "2*g1 - 1", "N2": "2*g2 - 3"}
    assert doc["nu"].startswith("Piecewise(") and "g2" in doc["nu"]


def test_tanh_variance_in_json(capsys):
    doc = _json(capsys, "--gammas", "7/10,9/10", "--activation", "tanh", "--json")
    assert doc["variance_exponent"] == {"N1": "-2/5", "N2": "-4/5"}


def test_markdown_shows_hierarchy(capsys):
    assert main(["derive", "--gammas", "0.8", "--order", "2", "--format", "md"]) == 0
    text = capsys.readouterr().out
    assert "### Q_{1,0}" in text and "Q_{1,0} vanishes identically" in text
    assert "### Q_{2,0}" in text and "Source S_2 (9 terms)" in text


def test_out_folder_and_tex(tmp_path, capsys):
    assert main(["derive", "--gammas", "3/5", "--format", "tex", "--out", str(tmp_path)]) == 0
    tex = (tmp_path / "L1_g3-5.tex").read_text()
    assert tex.startswith("\\documentclass{article}") and tex.rstrip().endswith("\\end{document}")
    assert tex.count("{") == tex.count("}")
    assert "\\usepackage{amsmath}" in tex and tex.count("\\usepackage") == 1


@pytest.mark.parametrize("args,needle", [
    (["--gammas", "0.4"], "0.4"),
    (["--gammas", "0.8", "--order", "0"], "order"),
    (["--gammas", "0.8,0.9", "--width-path", "1"], "width path"),
    (["--gammas", "0.8", "--json", "--format", "md"], "--json"),
])
def test_bad_input_one_line_exit_2(args, needle):
    proc = subprocess.run([sys.executable, "-m", "asymexp", "derive", *args], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr
