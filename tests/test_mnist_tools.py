"""tools/mnist_steps.py and tools/fair_scan.py, the summaries docs/mnist.md quotes: paired contrasts and each
selection seed's choice by hand, and both reports end to end on tiny sweeps (widths 4, 100 digits, 2 epochs)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from asymexp.cli import main
from asymexp.mnist.grid_report import load_runs
from asymexp.mnist.lr_choice import scan_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fair_scan  # noqa: E402
import mnist_steps  # noqa: E402


def _row(g, seed, curve):
    return {"gammas": g, "seed": seed, "epoch": curve[-1][0], "curve": curve}


def test_paired_contrast_is_per_seed_at_the_last_common_epoch():
    rows = [_row("1,1,1", 0, [[50, 1.0, 0.5], [100, 0.5, 0.8]]), _row("1,1,1", 1, [[50, 1.0, 0.4], [100, 0.4, 0.9]]),
            _row("1/2,1/2,1/2", 0, [[50, 2.0, 0.2], [100, 1.5, 0.6], [150, 1.0, 0.7]]),
            _row("1/2,1/2,1/2", 1, [[50, 2.0, 0.3], [100, 1.2, 0.6]])]
    p = mnist_steps.paired(rows, "1,1,1", "1/2,1/2,1/2")
    d = np.array([0.8 - 0.6, 0.9 - 0.6])
    assert p["epoch"] == 100 and p["steps"] == 40_000 and p["seeds"] == [0, 1]
    assert p["test_acc"]["per_seed"] == pytest.approx(d.tolist())
    assert p["test_acc"]["mean"] == pytest.approx(d.mean())
    assert p["test_acc"]["se"] == pytest.approx(d.std(ddof=1) / 2 ** 0.5)
    assert p["train_loss"]["mean"] == pytest.approx(np.mean([0.5 - 1.5, 0.4 - 1.2]))
    assert mnist_steps.paired(rows, "1,1,1", "7/10,7/10,7/10") is None


def _scan_run(g, lr, seed, loss):
    return {"gammas": g, "seed": seed, "lr_scale": lr, "loss": "ce", "status": "finished",
            "history": [{"epoch": 10, "train_loss": loss, "train_acc": 0.5, "test_acc": 0.5}]}


def test_each_selection_seed_chooses_alone_and_the_plateau_is_undetermined():
    runs = [_scan_run(("1", "1"), 1.0, 100, 1.0), _scan_run(("1", "1"), 10.0, 100, 0.5),
            _scan_run(("1", "1"), 1.0, 101, 0.4), _scan_run(("1", "1"), 10.0, 101, 0.9),
            _scan_run(("1/2", "1"), 1.0, 100, 2.3), _scan_run(("1/2", "1"), 10.0, 100, 2.25),
            _scan_run(("1/2", "1"), 1.0, 101, 0.3), _scan_run(("1/2", "1"), 10.0, 101, 2.2)]
    assert fair_scan.seed_choices(runs, "train_loss") == {"1,1": {100: 10.0, 101: 1.0}, "1/2,1": {100: None, 101: 1.0}}


BASE = ["--layers", "2", "--widths", "4", "--epochs", "2", "--n-train", "100", "--n-test", "60", "--workers", "0"]


def test_scan_and_grid_reports_end_to_end(tmp_path, capsys):
    scan, grid, to = tmp_path / "scan", tmp_path / "grid", tmp_path / "report"
    to.mkdir()
    assert main(["sweep", "mnist", "--grid", "gammas=1/2,1", "--only", "1,1", "--only", "1/2,1/2", "--only", "1,1/2",
                 "--grid", "lr_scale=1,1000", "--seeds", "7,8", *BASE, "--out", str(scan)]) == 0
    text = fair_scan.scan_report([scan], to)
    doc = json.loads((to / "scan.json").read_text())
    want = {",".join(r["gammas"]): r for r in scan_table(load_runs(scan), "train_loss")}
    assert {",".join(r["gammas"]): r["lr_scale"] for r in doc["by_train_loss"]["scan"]} == {
        g: r["lr_scale"] for g, r in want.items()}
    assert set(doc["seed_choices_by_loss"]) == set(want) and (to / "scan.png").stat().st_size > 1000
    assert all(f"| ({g}) |" in text for g in want) and "(1/2,1) |" not in text

    assert main(["sweep", "mnist", "--grid", "gammas=1/2,1", "--only", "1,1", "--only", "1/2,1/2", "--only", "1,1/2",
                 "--seeds", "0,1", "--lr-scale-from", str(scan), "--lr-choice-by", "train_loss", *BASE,
                 "--out", str(grid)]) == 0
    capsys.readouterr()
    rows = mnist_steps.run_rows(grid)
    steps_json = tmp_path / "runs.json"
    steps_json.write_text(json.dumps(rows))  # the grid against itself: tau 1 at its own epoch
    md = fair_scan.grid_report([grid], steps_json, to, [to / "scan.json"])
    out = json.loads((to / "grid.json").read_text())
    assert out["epoch"] == 2 and out["lr_scale"] == {g: r["lr_scale"] for g, r in want.items()}
    assert out["rank_agreement"]["paper's rates at epoch 2"]["tau"] == pytest.approx(1.0)
    assert out["rank_agreement"]["paper's rates at 4.5M steps (epoch 11250)"] is None
    assert out["undetermined"] == sorted((g for g, r in want.items() if not r["determined"]), key=mnist_steps._order)
    assert "undetermined (fewer than 3" in md
    for g, r in want.items():
        assert f"| ({g}) | {r['lr_scale']:g}{'' if r['determined'] else ' (undetermined)'} |" in md

    again = tmp_path / "again"  # a later grid folder replaces the earlier one's runs of its gamma vectors
    assert main(["sweep", "mnist", "--grid", "gammas=1/2,1", "--only", "1,1", "--lr-scale", "10", "--seeds", "0,1",
                 *BASE, "--out", str(again)]) == 0
    capsys.readouterr()
    rows, lr, source = fair_scan.grid_rows([grid, again])
    assert lr["1,1"] == 10.0 and source == {"1/2,1/2": "grid", "1,1/2": "grid", "1,1": "again"}
    assert len(rows) == 6 and sorted(r["seed"] for r in rows if r["gammas"] == "1,1") == [0, 1]


def test_main_effects_at_gamma1_one_by_hand():
    vals, rows = ("1/2", "7/10", "1"), []
    for s, shift in ((0, 0.0), (1, 0.02), (2, -0.01)):
        for i, g2 in enumerate(vals):
            for j, g3 in enumerate(vals):
                acc = 0.1 + 0.3 * j + 0.1 * i + shift * j  # outer step 0.6 (+2 shift), middle step 0.2
                rows.append(_row(f"1,{g2},{g3}", s, [[11250, 0.1, acc]]))
    m = mnist_steps.main_effects(rows)
    outer = np.array([0.6, 0.64, 0.58])
    assert m["outer"]["per_seed"] == pytest.approx(outer.tolist())
    assert m["middle"]["per_seed"] == pytest.approx([0.2] * 3)
    assert m["outer_minus_middle"]["mean"] == pytest.approx((outer - 0.2).mean())
    assert m["outer"]["t95"] == pytest.approx(4.302653 * outer.std(ddof=1) / 3 ** 0.5, rel=1e-6)
    assert mnist_steps.main_effects(rows[:-1]) is None  # a missing cell: no verdict
