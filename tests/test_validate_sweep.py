"""`asymexp sweep validate` and `asymexp validate`: an interrupted sweep resumes without recomputing finished
tasks; the CLI prints the docs/interfaces.md fields and exits 2 on bad input."""
import json

import pytest

from asymexp.cli import main
from asymexp.validation import worker as worker_module

SWEEP = ["sweep", "validate", "--grid", "gamma=0.6,0.9", "--grid", "width=8,16", "--replicas", "8", "--chunk", "4",
         "--dynamics", "gd", "--workers", "0", "--json",
         "--quad-order", "12"]


def test_interrupted_sweep_resumes_without_recomputing(tmp_path, monkeypatch, capsys):
    real = worker_module.simulate_chunk
    calls = []

    def failing(params):
        calls.append((params["spec"]["gammas"][0], params["spec"]["widths"][0], params["start"]))
        if len(calls) == 5:
            raise RuntimeError("simulated crash of the sweep after 4 finished tasks")
        return real(params)

    monkeypatch.setattr(worker_module, "simulate_chunk", failing)
    out = tmp_path / "sweep"
    with pytest.raises(RuntimeError, match="simulated crash"):
        main(SWEEP + ["--out", str(out)])
    done = sorted((out / "tasks").glob("*.json"))
    assert len(done) == 4
    stamps = {p.name: p.stat().st_mtime_ns for p in done}
    calls.clear()
    monkeypatch.setattr(worker_module, "simulate_chunk", lambda params: (calls.append(1), real(params))[1])
    capsys.readouterr()
    assert main(SWEEP + ["--out", str(out)]) == 0
    assert len(calls) == 8 - 4                      # 2 gammas x 2 widths x 2 chunks, 4 already finished
    assert {p.name: p.stat().st_mtime_ns for p in done} == stamps
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["by_gamma"]) == {"3/5", "9/10"}
    # two widths leave no degree of freedom for a corrected model: the verdict cannot be judged (docs/validation.md)
    assert [v["verdict"] for v in summary["by_gamma"].values()] == ["undetermined", "undetermined"]
    assert all(v["var_slope"]["predicted"] == pytest.approx(1 - 2 * float(g)) for g, v in
               ((0.6, summary["by_gamma"]["3/5"]), (0.9, summary["by_gamma"]["9/10"])))
    assert (out / "gamma-0.6" / "ratio.png").is_file()


def test_validate_cli_json_fields(tmp_path, capsys):
    code = main(["validate", "--problem", "tanh4.toml", "--gamma", "0.75", "--widths", "8,16,32", "--replicas", "16",
                 "--time", "0.5", "--flow-dt", "1/8", "--quad-order", "12", "--out", str(tmp_path), "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("widths", "mean", "mean_se", "var", "var_se", "var_slope", "var_ratio", "mean_residual", "verdict"):
        assert key in doc
    assert set(doc["var_slope"]) >= {"fit", "ci95", "predicted", "model", "raw"}
    assert set(doc["var_ratio"]) >= {"b0", "ci95", "model"}
    assert len(doc["var"]) == 3 and len(doc["var"][0]) == 5
    for name in ("variance", "ratio", "mean_residual"):
        assert (tmp_path / f"{name}.png").is_file() and (tmp_path / f"{name}.pdf").is_file()


def test_validate_cli_reports_the_ends(capsys):
    assert main(["validate", "--problem", "tanh4.toml", "--gamma", "1", "--widths", "8,16", "--replicas", "8",
                 "--dynamics", "gd", "--quad-order", "12", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "mean-field" in doc["end"] and doc["var_ratio"]["b0"] is None and doc["var_slope"]["fit"] is None


def test_validate_cli_deep_with_sensitivity(tmp_path, capsys):
    assert main(["validate", "--problem", "tanh4.toml", "--depth", "2", "--gammas", "0.75,0.75", "--widths", "8,16",
                 "--replicas", "8", "--time", "0", "--sensitivity-width", "8", "--out", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["var_slope"]["predicted_exact"] and len(doc["sensitivity"]["var"]) == 2
    assert (tmp_path / "sensitivity.png").is_file() and (tmp_path / "deep_variance.pdf").is_file()


def test_validate_cli_deep_width_path(tmp_path, capsys):
    """N_1 = N^(1/2), N_2 = N: the tasks run those layer widths and the prediction is sum_l b_l e_l
    = 1/2 (1 - 2 * 0.7) + (1 - 2 * 0.9) = -1 for tanh (the collapse sum of docs/theory/4-deep-networks.md)."""
    assert main(["validate", "--problem", "tanh4.toml", "--depth", "2", "--gammas", "0.7,0.9", "--widths", "16,64",
                 "--width-path", "1:1/2,1:1", "--replicas", "8", "--time", "0", "--sensitivity-width", "0",
                 "--out", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["layer_widths"] == [[4, 16], [8, 64]] and doc["width_path"] == ["1:1/2", "1:1"]
    assert doc["var_slope"]["predicted_exact"] == "-1"
    names = sorted(p.name for p in (tmp_path / "tasks").iterdir())
    assert any("_N4+16_" in n for n in names) and any("_N8+64_" in n for n in names)
    assert "width path" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("argv,needle", [(["--gamma", "0.3"], "outside"), (["--gamma", "x"], "a number in [1/2, 1] is required"),
                                         (["--gamma", "0.75", "--widths", "8,a"], "widths"),
                                         (["--depth", "2", "--gamma", "0.7"], "--gammas"),
                                         (["--depth", "2", "--gammas", "0.7,0.9", "--width-path", "1:1/2"],
                                          "but the depth is 2"),
                                         (["--depth", "2", "--gammas", "0.7,0.9", "--width-path", "1:1/2,2:1"],
                                          "outer layer must be 1:1"),
                                         (["--depth", "2", "--gammas", "0.7,0.9", "--width-path", "x,1:1"],
                                          "not c:beta"),
                                         (["--depth", "2", "--gammas", "0.7,0.9", "--width-path", "1:-1,1:1"],
                                          "beta > 0"),
                                         (["--gamma", "0.7", "--width-path", "1:1"], "deep networks"),
                                         (["--depth", "2", "--gammas", "0.7,0.9", "--width-path", "1:1/2,1:1"],
                                          "width 8: the width path gives N_1 = 1*8^1/2 = 2.82843")])
def test_validate_cli_bad_input_exits_2(argv, needle, capsys):
    base = ["validate", "--problem", "tanh4.toml", "--widths", "8,16", "--replicas", "8"]
    if "--widths" in argv:
        base = base[:3] + base[5:]
    assert main(base + argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
