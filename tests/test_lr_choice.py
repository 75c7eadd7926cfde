"""lr-scale scans and ``sweep mnist --lr-scale-from``: the choice rule, the scan's summary, and the grid that
takes its choices (tiny nets, a few images)."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from asymexp.cli import main
from asymexp.mnist.grid_report import analyse
from asymexp.mnist.grid_runs import load_runs
from asymexp.mnist.lr_choice import PLATEAU_LOSS, is_scan, scan_summary, scan_table


def _run(gammas, lr, seed, train_acc, status="finished"):
    hist = [] if status != "finished" else [{"epoch": 1, "train_acc": 0.1, "test_acc": 0.1, "train_loss": 2.3},
                                            {"epoch": 5, "train_acc": train_acc, "test_acc": 0.5, "train_loss": 2.0}]
    return {"gammas": gammas, "seed": seed, "lr_scale": lr, "loss": "ce", "status": status, "history": hist}


def test_choice_is_the_best_final_training_accuracy_ties_to_the_smaller_lr():
    g = ("1/2", "1")
    runs = [_run(g, 1.0, 0, 0.30), _run(g, 10.0, 0, 0.70), _run(g, 100.0, 0, 0.70), _run(g, 1000.0, 0, 0, "diverged")]
    runs += [_run(("1", "1"), lr, 0, 0, "diverged") for lr in (1.0, 10.0)]
    runs += [_run(("1", "1/2"), 1.0, s, 0.2 + 0.1 * s) for s in range(2)] + [_run(("1", "1/2"), 10.0, 0, 0.24)]
    table = {tuple(r["gammas"]): r for r in scan_table(runs)}
    assert table[g]["lr_scale"] == 10.0 and table[g]["open_side"] is None
    assert [c["diverged"] for c in table[g]["candidates"]] == [0, 0, 0, 1]
    assert table[("1", "1")]["lr_scale"] is None
    # the mean over seeds decides: (0.2 + 0.3) / 2 = 0.25 > 0.24, at the smallest lr-scale: open below
    assert table[("1", "1/2")]["lr_scale"] == 1.0 and table[("1", "1/2")]["open_side"] == "below"
    summary = analyse(runs)
    assert summary["kind"] == "lr-scale scan" and "every lr-scale diverged for 1,1" in summary["statement"]


def test_a_scan_at_chance_everywhere_is_undetermined_and_falls_back_to_the_papers_rates():
    runs = [_run(("1",), lr, 0, acc) for lr, acc in ((0.1, 0.09), (1.0, 0.11), (10.0, 0.19), (100.0, 0.12))]
    row = scan_table(runs)[0]
    assert row["lr_scale"] == 1.0 and not row["determined"] and row["open_side"] is None
    assert "undetermined" in analyse(runs)["statement"]
    row = scan_table([r for r in runs if r["lr_scale"] != 1.0])[0]
    assert row["lr_scale"] == 0.1 and not row["determined"]


def _loss_run(lr, seed, acc, loss):
    return {"gammas": ("1",), "seed": seed, "lr_scale": lr, "loss": "ce", "status": "finished",
            "history": [{"epoch": 5, "train_acc": acc, "test_acc": acc, "train_loss": loss}]}


def test_choice_by_training_loss_takes_the_lowest_loss_ties_to_the_smaller_lr():
    # lr 10 has the best accuracy, lr 100 and 300 the (equal) lowest mean loss over two seeds
    runs = [_loss_run(1.0, 0, 0.3, 2.2), _loss_run(10.0, 0, 0.8, 1.0), _loss_run(100.0, 0, 0.7, 0.7),
            _loss_run(100.0, 1, 0.7, 0.9), _loss_run(300.0, 0, 0.7, 0.8)]
    assert scan_table(runs)[0]["lr_scale"] == 10.0
    row = scan_table(runs, "train_loss")[0]
    assert row["lr_scale"] == 100.0 and row["train_loss"] == pytest.approx(0.8) and row["determined"]
    assert row["criterion"] == "train_loss" and row["open_side"] is None


def test_exactly_chance_exit_has_not_left_chance():
    runs = [_run(("1",), lr, 0, acc) for lr, acc in ((1.0, 0.2), (10.0, 0.15))]
    assert not scan_table(runs)[0]["determined"]


def test_a_loss_scan_on_the_plateau_is_undetermined():
    near = PLATEAU_LOSS - 0.099  # not 0.1 below ln 10
    runs = [_loss_run(lr, 0, 0.5, near + 0.001 * i) for i, lr in enumerate((0.3, 1.0, 3.0))]
    row = scan_table(runs, "train_loss")[0]
    assert not row["determined"] and row["lr_scale"] == 1.0
    assert "0.1 below ln 10 in training loss" in scan_summary(runs, "train_loss")["statement"]
    with pytest.raises(ValueError, match="allowed: train_acc, train_loss"):
        scan_table(runs, "test_acc")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.1, 1.0, 3.0, 10.0, 30.0]), st.integers(0, 4),
                          st.one_of(st.none(), st.sampled_from([0.1, 0.5, 0.9]))), min_size=1, max_size=12))
def test_choice_property_over_random_scans(cells):
    runs = [_run(("1",), lr, s, 0 if acc is None else acc, "diverged" if acc is None else "finished")
            for lr, s, acc in cells]
    row = scan_table(runs)[0]
    scores = {c["lr_scale"]: c["train_acc"] for c in row["candidates"]}
    ok = {lr: v for lr, v in scores.items() if v is not None}
    if not ok:
        assert row["lr_scale"] is None
        return
    best = max(ok.values())
    assert row["determined"] == (best > 0.2)
    if not row["determined"]:
        assert row["lr_scale"] == (1.0 if 1.0 in ok else min(ok))
        return
    assert row["train_acc"] == best and ok[row["lr_scale"]] == best
    assert all(lr >= row["lr_scale"] for lr, v in ok.items() if v == best)


def test_one_lr_per_configuration_is_not_a_scan():
    runs = [_run(("1",), 1.0, s, 0.5) for s in range(3)]
    assert not is_scan(runs) and "rises_with_last_gamma" in analyse(runs)
    bare = [{k: v for k, v in r.items() if k != "lr_scale"} for r in runs]   # as the tutorials build them
    assert analyse(bare)["table"][0]["lr_scale"] == 1.0


BASE = ["--layers", "2", "--widths", "4", "--epochs", "2", "--n-train", "100", "--n-test", "60", "--workers", "0"]


def test_grid_takes_each_configurations_choice_from_a_scan(tmp_path, capsys):
    scan, grid = tmp_path / "scan", tmp_path / "grid"
    assert main(["sweep", "mnist", "--grid", "gammas=1/2,1", "--grid", "lr_scale=1,1000", "--seeds", "7",
                 *BASE, "--out", str(scan), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "lr-scale scan" and summary["configurations"] == 4
    chosen = {",".join(r["gammas"]): r["lr_scale"] for r in summary["scan"]}
    assert main(["plot", "--sweep", str(scan), "--out", str(tmp_path / "scan.png")]) == 0
    assert "chosen" in capsys.readouterr().out and (tmp_path / "scan.png").stat().st_size > 1000

    assert main(["sweep", "mnist", "--grid", "gammas=1/2,1", "--seeds", "0,1", "--lr-scale-from", str(scan),
                 *BASE, "--out", str(grid), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["table"]
    assert {",".join(r["gammas"]): r["lr_scale"] for r in rows} == chosen
    tasks = [json.loads(p.read_text()) for p in (grid / "tasks").glob("*.json")]
    assert len(tasks) == 8 and all(t["params"]["config"]["lr_scale"] == chosen[t["params"]["config"]["gammas"]]
                                   for t in tasks)
    manifest = json.loads((grid / "manifest.json").read_text())
    assert manifest["parameters"]["lr_scale"]["chosen"] == chosen and "by" not in manifest["parameters"]["lr_scale"]

    by_loss = tmp_path / "grid-by-loss"
    assert main(["sweep", "mnist", "--grid", "gammas=1/2,1", "--seeds", "0", "--lr-scale-from", str(scan),
                 "--lr-choice-by", "train_loss", *BASE, "--out", str(by_loss), "--json"]) == 0
    capsys.readouterr()
    want = {",".join(r["gammas"]): r["lr_scale"] for r in scan_table(load_runs(scan), "train_loss")}
    manifest = json.loads((by_loss / "manifest.json").read_text())
    assert manifest["parameters"]["lr_scale"] == {"from": str(scan.resolve()), "chosen": want, "by": "train_loss"}
    assert main(["sweep", "mnist", "--grid", "gammas=1/2,1", "--lr-choice-by", "train_loss", *BASE,
                 "--out", str(tmp_path / "g4")]) == 2
    assert "needs --lr-scale-from" in capsys.readouterr().err

    fig = tmp_path / "scan-loss.png"
    assert main(["plot", "--sweep", str(scan), "--lr-choice-by", "train_loss", "--out", str(fig), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["criterion"] == "train_loss" and fig.stat().st_size > 1000
    assert {",".join(r["gammas"]): r["lr_scale"] for r in doc["scan"]} == want
    assert main(["plot", "--sweep", str(by_loss), "--lr-choice-by", "train_loss", "--out", str(fig)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "one lr-scale per configuration" in err[0]


def test_a_scan_that_differs_or_is_unfinished_is_refused(tmp_path, capsys):
    scan = tmp_path / "scan"
    assert main(["sweep", "mnist", "--grid", "gammas=1/2,1", "--grid", "lr_scale=1,10", *BASE,
                 "--out", str(scan)]) == 0
    capsys.readouterr()
    argv = ["sweep", "mnist", "--grid", "gammas=1/2,1", "--lr-scale-from", str(scan), *BASE]
    assert main([*argv, "--norm", "mean-last", "--out", str(tmp_path / "g1")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "norm" in err and "scan with the grid's settings" in err
    assert main([*argv, "--lr-scale", "3", "--out", str(tmp_path / "g2")]) == 2
    assert "drop --lr-scale" in capsys.readouterr().err
    next((scan / "tasks").glob("*.json")).unlink()
    assert main([*argv, "--out", str(tmp_path / "g3")]) == 2
    assert "unfinished" in capsys.readouterr().err
    assert not (tmp_path / "g3").exists() or not any((tmp_path / "g3" / "tasks").glob("*.json"))


def _hist(accs, every=10):
    return [{"epoch": 1 + every * i, "train_acc": a, "test_acc": a, "train_loss": 2.3 - a} for i, a in enumerate(accs)]


def test_runs_cut_at_an_epoch_and_the_first_epoch_above_chance():
    from asymexp.executor import SweepError
    from asymexp.mnist.grid_compare import at_epoch, left_chance

    run = {"gammas": ("1",), "seed": 0, "lr_scale": 1.0, "status": "diverged", "history": _hist([0.1, 0.3, 0.5])}
    cut = at_epoch([run], 11)[0]
    assert cut["status"] == "finished" and [h["epoch"] for h in cut["history"]] == [1, 11]
    assert left_chance(cut["history"]) == 11 and left_chance(_hist([0.1, 0.2])) is None  # 0.2 is not above 0.2
    with pytest.raises(SweepError, match="did not evaluate epoch 12"):
        at_epoch([run], 12)
    early = dict(run, history=_hist([0.1]))
    assert at_epoch([early], 21)[0]["status"] == "diverged"


def test_compare_reports_accuracy_exits_and_rank_agreement():
    from asymexp.mnist.grid_compare import compare

    gs = [(a, b) for a in ("1/2", "1") for b in ("1/2", "7/10", "1")]
    acc = dict(zip(gs, (0.3, 0.5, 0.7, 0.15, 0.4, 0.6)))
    mk = lambda shift, lr: [{"gammas": g, "seed": s, "lr_scale": lr, "status": "finished",
                              "history": _hist([0.1, acc[g] + shift + 0.01 * s])} for g in gs for s in range(2)]
    out = compare({"paper": mk(0.0, 1.0), "tuned": mk(0.1, 10.0)}, 11)
    row = next(r for r in out["table"] if r["gammas"] == ["1", "1/2"])
    assert row["paper"]["test_acc"] == pytest.approx(0.155) and row["paper"]["left_chance"] == 0
    assert row["tuned"]["left_chance"] == 2 and row["tuned"]["left_chance_epoch"] == 11
    assert row["tuned"]["lr_scale"] == 10.0
    assert row["tuned"]["train_loss"] == pytest.approx(2.3 - 0.255) and row["tuned"]["train_loss_sd"] == pytest.approx(
        0.01 / 2 ** 0.5)
    assert out["rank_agreement"][0]["tau"] == pytest.approx(1.0)


def test_plot_compares_sweeps_at_an_epoch(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, lr in ((a, "1"), (b, "30")):
        assert main(["sweep", "mnist", "--grid", "gammas=1/2,1", "--lr-scale", lr, "--seeds", "0,1", *BASE,
                     "--out", str(folder)]) == 0
    capsys.readouterr()
    fig = tmp_path / "cmp.png"
    assert main(["plot", "--sweep", str(a), "--sweep", str(b), "--epoch", "2", "--out", str(fig), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["grids"] == ["a", "b"] and len(out["table"]) == 4 and fig.stat().st_size > 1000
    assert all(r["b"]["lr_scale"] == 30.0 and r["a"]["seeds"] == 2 for r in out["table"])
    assert main(["plot", "--sweep", str(a), "--sweep", str(b), "--epoch", "1", "--epoch", "2", "--out", str(fig),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["epochs"] == {"a": 1, "b": 2} and all(r["a"]["seeds"] == 2 for r in out["table"])
    assert main(["plot", "--sweep", str(a), "--sweep", str(b), "--epoch", "1", "--epoch", "2", "--epoch", "2",
                 "--out", str(fig)]) == 2
    assert "one per folder" in capsys.readouterr().err
    assert main(["plot", "--sweep", str(a), "--sweep", str(b), "--out", str(fig)]) == 2
    assert "add --epoch" in capsys.readouterr().err
    assert main(["plot", "--sweep", str(a), "--epoch", "5", "--out", str(fig)]) == 2
    assert "did not evaluate epoch 5" in capsys.readouterr().err


def test_a_second_scan_extends_the_first_and_must_share_its_seeds(tmp_path, capsys):
    scan, more, other, dup = (tmp_path / n for n in ("scan", "more", "other", "dup"))
    common = ["--grid", "gammas=1/2,1", "--only", "1,1", "--only", "1/2,1/2", *BASE]
    assert main(["sweep", "mnist", *common, "--grid", "lr_scale=1,1000", "--seeds", "7,8", "--out", str(scan)]) == 0
    assert main(["sweep", "mnist", *common[:4], "--grid", "lr_scale=10,100", "--seeds", "7,8", *BASE,
                 "--out", str(more)]) == 0
    capsys.readouterr()
    pooled = load_runs(scan) + load_runs(more)
    want = {",".join(r["gammas"]): r["lr_scale"] for r in scan_table(pooled, "train_loss")}
    grid = tmp_path / "grid"
    assert main(["sweep", "mnist", *common, "--seeds", "0", "--lr-scale-from", str(scan), "--lr-scale-from",
                 str(more), "--lr-choice-by", "train_loss", "--out", str(grid)]) == 0
    manifest = json.loads((grid / "manifest.json").read_text())
    assert manifest["parameters"]["lr_scale"] == {"from": [str(scan.resolve()), str(more.resolve())],
                                                  "chosen": want, "by": "train_loss"}
    assert {t["params"]["config"]["lr_scale"] for t in map(lambda p: json.loads(p.read_text()),
                                                             (grid / "tasks").glob("*.json"))} <= set(want.values())
    capsys.readouterr()
    assert main(["sweep", "mnist", *common, "--grid", "lr_scale=10", "--seeds", "9", "--out", str(other)]) == 0
    assert main(["sweep", "mnist", *common, "--grid", "lr_scale=1", "--seeds", "7,8", "--out", str(dup)]) == 0
    capsys.readouterr()
    longer = tmp_path / "longer"
    assert main(["sweep", "mnist", *common[:4], "--grid", "lr_scale=3,30", "--seeds", "7,8", *BASE[:4], "--epochs", "3",
                 *BASE[6:], "--out", str(longer)]) == 0
    capsys.readouterr()
    for extra, message in ((other, "the scans ran other seeds"), (dup, "is in more than one scan"),
                           (longer, "gammas 1,1 ran to different epochs in the scans (2, 3)")):
        assert main(["sweep", "mnist", *common, "--seeds", "0", "--lr-scale-from", str(scan), "--lr-scale-from",
                     str(extra), "--out", str(tmp_path / "refused")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0] and not (tmp_path / "refused").exists()


def test_heat_map_tells_an_unscanned_cell_from_a_diverged_one():
    from asymexp.mnist.grid_report import scan_figure

    runs = [_loss_run(1.0, 0, 0.5, 1.2), _loss_run(10.0, 0, 0.6, 0.9),
            {**_loss_run(1.0, 0, 0.5, 1.1), "gammas": ("1", "1")},
            {**_loss_run(100.0, 0, 0.5, 1.1), "gammas": ("1", "1"), "status": "diverged"}]
    texts = [t.get_text() for t in scan_figure(runs, "train_loss").axes[0].texts]
    assert texts.count("-") == 2 and texts.count("div") == 1 and "0.90" in texts


def test_rank_agreement_needs_three_shared_configurations():
    from asymexp.mnist.grid_compare import rank_agreement

    a, b = {"x": 0.1, "y": 0.5, "z": 0.9, "w": 0.3}, {"x": 0.2, "y": 0.4, "z": 0.8}
    three = rank_agreement(a, b)  # w is not in b: 3 shared, perfectly concordant
    assert three["configurations"] == 3 and three["tau"] == pytest.approx(1.0) and 0 < three["p_value"] <= 1
    two = rank_agreement(a, {"x": 0.2, "y": 0.4})
    assert two == {"tau": None, "p_value": None, "configurations": 2}
