"""``asymexp sweep mnist`` and ``asymexp plot``: grid size, resumable run, analysis and figure (tiny nets)."""
import argparse
import json

import pytest

from asymexp.cli import main
from asymexp.mnist import mnist_grid as S
from asymexp.mnist.grid_report import analyse
from asymexp.executor import SweepError


def _args(tmp_path, grid, layers, **kw):
    parser = argparse.ArgumentParser()
    S.add_arguments(parser)
    args = parser.parse_args(["--layers", str(layers)])
    args.grid, args.out = grid, str(tmp_path)
    for k, v in kw.items():
        setattr(args, k, v)
    return args


def test_grid_has_27_configurations_for_three_layers_and_9_for_two(tmp_path):
    tasks, worker = S.build_tasks(_args(tmp_path, ["gammas=0.5,0.7,1.0"], 3))
    assert len(tasks) == 27 and worker is S.train_worker
    assert {t.params["config"]["gammas"] for t in tasks} >= {"0.5,0.5,0.5", "1.0,0.7,0.5", "1.0,1.0,1.0"}
    assert all(t.params["config"]["threads"] == 1 for t in tasks)
    tasks2, _ = S.build_tasks(_args(tmp_path, ["gammas=0.5,0.7,1.0", "seed=0,1"], 2))
    assert len(tasks2) == 18 and len({t.key for t in tasks2}) == 18


def test_only_keeps_the_listed_vectors_in_grid_order_and_spelling(tmp_path):
    args = _args(tmp_path, ["gammas=1/2,7/10,1"], 3, only=["1,1,1", "0.5,0.5,0.5", "1, 0.7, 1/2"])
    tasks, _ = S.build_tasks(args)
    assert [t.params["config"]["gammas"] for t in tasks] == ["1/2,1/2,1/2", "1,7/10,1/2", "1,1,1"]
    params, _ = S.folder_identity(args)
    assert params["only"] == ["1/2,1/2,1/2", "1,7/10,1/2", "1,1,1"]
    assert "only" not in S.folder_identity(_args(tmp_path, ["gammas=1/2,7/10,1"], 3))[0]  # old folders match
    full = S.grid_vectors(["1/2", "7/10", "1"], 3)
    assert len(full) == 27 and S.grid_vectors(["1/2", "7/10", "1"], 3, ["1,1,1"] * 2) == [("1", "1", "1")]


@pytest.mark.parametrize("only", ["1,1", "1,1,0.6", "1,1,x", "1,1,1/0", "1,1,1,1", "1," * 5000])
def test_only_off_the_grid_is_refused_with_what_is_allowed(tmp_path, only):
    with pytest.raises(SweepError, match=r"--only .* is not a vector of the grid; allowed: 3 .*\(1/2, 7/10, 1\)") as e:
        S.build_tasks(_args(tmp_path, ["gammas=1/2,7/10,1"], 3, only=[only]))
    assert len(str(e.value)) < 200


def test_unknown_axis_is_refused(tmp_path):
    with pytest.raises(SweepError, match="widths"):
        S.build_tasks(_args(tmp_path, ["gammas=0.5", "widths=3"], 2))


def test_sweep_runs_resumes_and_plots(tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "mnist", "--grid", "gammas=0.5,1", "--layers", "2", "--widths", "4", "--epochs", "2",
            "--n-train", "100", "--n-test", "60", "--seeds", "0,1", "--workers", "0", "--out", str(out), "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["configurations"] == 4 and all(r["seeds"] == 2 and r["epochs"] == 2 for r in first["table"])
    files = sorted((out / "tasks").glob("*.json"))
    stamps = [f.stat().st_mtime_ns for f in files]
    assert len(files) == 8
    assert main(argv) == 0  # rerun: every task is skipped, nothing rewritten
    assert json.loads(capsys.readouterr().out)["table"] == first["table"]
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert main(["plot", "--sweep", str(out), "--out", str(tmp_path / "fig.png")]) == 0
    text = capsys.readouterr().out
    assert "accuracy rises with gamma_2" in text and (tmp_path / "fig.png").stat().st_size > 1000


def _run(gammas, seed, accs):
    return {"gammas": gammas, "seed": seed, "lr_scale": 1.0, "loss": "ce", "status": "finished",
            "history": [{"epoch": i + 1, "test_acc": a, "train_loss": 2.5 - a} for i, a in enumerate(accs)]}


def test_analysis_states_trends_with_seed_errors():
    # synthetic results: accuracy rises with gamma_2 at inner 0.5 (clearly: seeds agree), falls at inner 1
    runs = [_run(("0.5", "0.5"), s, [0.1, 0.50 + 0.01 * s]) for s in range(3)]
    runs += [_run(("0.5", "1"), s, [0.1, 0.80 + 0.01 * s]) for s in range(3)]
    runs += [_run(("1", "0.5"), s, [0.1, 0.70 + 0.01 * s]) for s in range(3)]
    runs += [_run(("1", "1"), s, [0.1, 0.60 + 0.01 * s]) for s in range(3)]
    a = analyse(runs)
    inner = {tuple(t["inner"]): t for t in a["rises_with_last_gamma"]}
    assert inner[("0.5",)]["rises"] and inner[("0.5",)]["clear"]
    assert not inner[("1",)]["rises"] and not inner[("1",)]["clear"] and not inner[("1",)]["flat"]
    assert a["rises_with_all_gammas"]["rises"] and a["rises_with_all_gammas"]["first_to_last"] == pytest.approx(0.1)
    assert "in 1 of 2 inner tuples" in a["statement"]
    row = next(r for r in a["table"] if r["gammas"] == ["0.5", "1"])  # losses 2.5 - (0.80, 0.81, 0.82)
    assert row["final_train_loss"] == pytest.approx(1.69) and row["final_train_loss_sd"] == pytest.approx(0.01)


def test_analysis_calls_equal_accuracies_flat_not_rising():
    runs = [_run((g1, g2), s, [0.1265, 0.1265]) for g1 in ("0.5", "1") for g2 in ("0.5", "1") for s in range(2)]
    a = analyse(runs)
    assert all(t["flat"] and not t["rises"] for t in a["rises_with_last_gamma"])
    assert "rises with gamma_2 at fixed inner gammas in 0 of 2" in a["statement"] and "is flat" in a["statement"]


def test_a_clear_rise_is_a_rise():
    # first to last up by far more than 2 SE, but not monotone: neither "rises" nor "clear"
    runs = [_run(("0.5", g), s, [0.1, a + 0.001 * s]) for g, a in (("0.5", 0.858), ("0.7", 0.871), ("1", 0.867))
            for s in range(3)]
    t = analyse(runs)["rises_with_last_gamma"][0]
    assert not t["rises"] and not t["clear"] and t["first_to_last"] > 2 * t["first_to_last_se"]


def test_only_off_the_grid_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "mnist", "--grid", "gammas=1/2,1", "--layers", "2", "--only", "1,7/10", "--epochs", "1",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'1,7/10'" in err[0] and not out.exists()
