"""One validate manifest (asymexp.validation.validate_options.folder_parameters, docs/interfaces.md "Output
folders"): a folder started by ``asymexp validate`` is continued by ``asymexp.validate(...)`` with the same
settings and refused with others, and the other way round."""
import json

import pytest

import asymexp
from asymexp.cli import main
from asymexp.errors import AsymexpError

ARGS = ["--problem", "tanh4.toml", "--gamma", "0.75", "--widths", "4,8", "--replicas", "4", "--time", "0.05",
        "--sensitivity-width", "0"]
SAME = dict(widths=[4, 8], replicas=4, time=0.05)


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def test_a_folder_started_from_the_shell_is_continued_from_python(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["validate", *ARGS, "--out", str(out), "--json"]) == 0
    cli_doc = json.loads(capsys.readouterr().out)
    before = _manifest(out)
    res = asymexp.validate("tanh4.toml", 0.75, out=out, **SAME)
    assert _manifest(out)["parameters"] == before["parameters"]
    assert _manifest(out)["created"] == before["created"]
    assert res.document["var_slope"] == cli_doc["var_slope"]      # the finished tasks were read back, not rerun
    with pytest.raises(AsymexpError, match=r"holds another `asymexp validate` run \(seed 0 there, 1 here\)"):
        asymexp.validate("tanh4.toml", 0.75, out=out, seed=1, **SAME)


def test_a_folder_started_from_python_is_continued_from_the_shell(tmp_path, capsys):
    out = tmp_path / "run"
    asymexp.validate("tanh4.toml", 0.75, out=out, **SAME)
    before = _manifest(out)
    assert main(["validate", *ARGS, "--out", str(out)]) == 0
    assert _manifest(out)["parameters"] == before["parameters"]
    capsys.readouterr()
    assert main(["validate", *ARGS, "--replicas", "6", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds another `asymexp validate` run (replicas 4 there, 6 here)" in err and err.count("\n") == 1


def test_a_folder_with_the_python_verb_s_earlier_manifest_is_adopted(tmp_path):
    from asymexp.api.verbs import _legacy_validate_parameters
    from asymexp.inputs.problems import load_problem
    from asymexp.run_folder import canonical

    out = tmp_path / "run"
    asymexp.validate("tanh4.toml", 0.75, out=out, **SAME)
    doc = _manifest(out)
    current = doc["parameters"]
    kw = dict(replicas=4, seed=0, progress=False, t=0.05)
    doc["parameters"] = canonical(_legacy_validate_parameters(load_problem("tanh4.toml"), ["3/4"], [4, 8], kw))
    assert doc["parameters"] != current
    (out / "manifest.json").write_text(json.dumps(doc))
    asymexp.validate("tanh4.toml", 0.75, out=out, **SAME)
    assert _manifest(out)["parameters"] == current
