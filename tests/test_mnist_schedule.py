"""The MNIST trainer's schedule options (docs/mnist.md, "Throughput"): --eval-every records epochs 1, K+1, ...
and the last, --checkpoint-every writes the checkpoint every C epochs; neither changes the trained parameters,
resume stays bit-identical, and the sweep passes both through (tiny nets, small data)."""
import json

import numpy as np
import pytest

from asymexp.cli import main
from asymexp.errors import SpecError
from asymexp.mnist import mnist_grid as S
from asymexp.mnist.train import CHECKPOINT, TrainConfig, build_spec, is_evaluated, load_checkpoint, train

SMALL = dict(widths="8,6", gammas="0.7,1", n_train=400, n_test=200, lr_scale=20.0, shuffle=True, seed=4)
TINY = ["--widths", "4", "--n-train", "100", "--n-test", "60"]


def _strip(history):
    return [{k: v for k, v in h.items() if k not in ("seconds", "cpu_seconds")} for h in history]


@pytest.mark.parametrize("epochs,k,expected", [(7, 3, [1, 4, 7]), (7, 2, [1, 3, 5, 7]), (5, 10, [1, 5]),
                                               (1, 4, [1])])
def test_evaluated_epochs_are_1_k_plus_1_and_the_last(epochs, k, expected):
    assert [e for e in range(1, epochs + 1) if is_evaluated(e, epochs, k)] == expected


def test_eval_every_records_those_epochs_and_trains_the_same_parameters(tmp_path):
    every = list(train(TrainConfig(epochs=7, **SMALL), tmp_path / "a"))
    sparse = list(train(TrainConfig(epochs=7, eval_every=3, **SMALL), tmp_path / "b"))
    assert [r["epoch"] for r in sparse] == [1, 4, 7]
    assert _strip(sparse) == [h for h in _strip(every) if h["epoch"] in (1, 4, 7)]
    theta_a, meta_a = load_checkpoint(tmp_path / "a" / CHECKPOINT)
    theta_b, meta_b = load_checkpoint(tmp_path / "b" / CHECKPOINT)
    assert np.array_equal(theta_a, theta_b) and meta_a["rng_state"] == meta_b["rng_state"]
    assert [h["epoch"] for h in meta_b["history"]] == [1, 4, 7]


@pytest.mark.parametrize("eval_every", [1, 2])
def test_checkpoint_every_resumes_bit_identically_from_the_last_checkpoint(tmp_path, eval_every):
    cfg = TrainConfig(epochs=7, checkpoint_every=3, eval_every=eval_every, **SMALL)
    full = list(train(cfg, tmp_path / "a"))
    assert load_checkpoint(tmp_path / "a" / CHECKPOINT)[1]["epoch"] == 7  # the last epoch is always written
    runner = train(cfg, tmp_path / "b")
    for record in runner:
        if record["epoch"] >= 5:
            break               # interrupted after epoch 5: the checkpoint on disk is epoch 3's
    runner.close()
    _, meta = load_checkpoint(tmp_path / "b" / CHECKPOINT)
    assert meta["epoch"] == 3 and [h["epoch"] for h in meta["history"]] == [e for e in (1, 2, 3)
                                                                            if is_evaluated(e, 7, eval_every)]
    resumed: list = []
    rest = list(train(cfg, tmp_path / "b", resumed=resumed))
    assert rest[0]["epoch"] == 4 if eval_every == 1 else rest[0]["epoch"] == 5
    assert _strip(resumed + rest) == _strip(full)
    theta_a, meta_a = load_checkpoint(tmp_path / "a" / CHECKPOINT)
    theta_b, meta_b = load_checkpoint(tmp_path / "b" / CHECKPOINT)
    assert np.array_equal(theta_a, theta_b) and meta_a["rng_state"] == meta_b["rng_state"]


def test_a_run_continues_with_another_eval_every(tmp_path):
    list(train(TrainConfig(epochs=3, eval_every=2, **SMALL), tmp_path))
    resumed: list = []
    rest = list(train(TrainConfig(epochs=5, eval_every=1, checkpoint_every=2, **SMALL), tmp_path, resumed=resumed))
    assert [r["epoch"] for r in resumed + rest] == [1, 3, 4, 5]
    ref = list(train(TrainConfig(epochs=5, **SMALL), tmp_path / "ref"))
    assert np.array_equal(load_checkpoint(tmp_path / CHECKPOINT)[0], load_checkpoint(tmp_path / "ref" / CHECKPOINT)[0])
    assert _strip(rest) == _strip(ref[3:])


@pytest.mark.parametrize("field,value", [("eval_every", 0), ("checkpoint_every", -2), ("eval_every", 1.5),
                                         ("checkpoint_every", True)])
def test_bad_schedule_values_are_named(field, value):
    flag = "--" + field.replace("_", "-")
    with pytest.raises(SpecError, match=f"{flag} {value!r} is not allowed; an integer >= 1"):
        build_spec(TrainConfig(**{field: value}))


@pytest.mark.parametrize("argv", [["mnist", "--gammas", "1", "--eval-every", "0"],
                                  ["mnist", "--gammas", "1", "--checkpoint-every", "x"],
                                  ["sweep", "mnist", "--grid", "gammas=1", "--layers", "1", "--eval-every", "0"]])
def test_cli_bad_schedule_values_exit_2_with_one_line(argv, capsys, tmp_path):
    if argv[0] == "sweep":
        argv = argv + ["--out", str(tmp_path / "sweep")]
    try:
        code = main(argv + ["--no-progress"] if argv[0] == "mnist" else argv)
    except SystemExit as exc:  # argparse's refusal of a malformed value
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("--eval-every" in err or "--checkpoint-every" in err)


def test_cli_prints_evaluated_epochs_and_manifest_records_the_schedule(tmp_path, capsys):
    argv = ["mnist", "--gammas", "1", "--layers", "2", *TINY, "--epochs", "5", "--eval-every", "2",
            "--checkpoint-every", "2", "--json", "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["epoch"] for r in lines[:-1]] == [1, 3, 5] and lines[-1]["epochs"] == 5
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["continuable"] == {"epochs": 5, "eval_every": 2, "checkpoint_every": 2}
    assert "eval_every" not in manifest["parameters"]
    more = argv[:argv.index("--epochs")] + ["--epochs", "6", "--json", "--no-progress", "--out", str(tmp_path)]
    assert main(more) == 0  # the defaults (every epoch) continue the same run
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["epoch"] for r in again[:-1]] == [1, 3, 5, 6] and again[-1]["epochs"] == 6
    assert json.loads((tmp_path / "manifest.json").read_text())["continuable"] == {"epochs": 6}


def test_sweep_passes_the_schedule_and_reports_recorded_epochs(tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "mnist", "--grid", "gammas=0.5,1", "--layers", "1", *TINY, "--epochs", "3", "--seeds", "0,1",
            "--workers", "0", "--out", str(out), "--json"]
    assert main(argv + ["--eval-every", "2", "--checkpoint-every", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert all(r["epochs"] == 3 and r["seeds"] == 2 for r in summary["table"])
    docs = [json.loads(p.read_text()) for p in sorted((out / "tasks").glob("*.json"))]
    assert all([h["epoch"] for h in d["result"]["history"]] == [1, 3] for d in docs)
    assert all(d["params"]["config"]["eval_every"] == 2 for d in docs)
    assert main(argv[:argv.index("--epochs")] + ["--epochs", "4"] + argv[argv.index("--epochs") + 2:]) == 0
    capsys.readouterr()
    docs = [json.loads(p.read_text()) for p in sorted((out / "tasks").glob("*.json"))]
    assert all([h["epoch"] for h in d["result"]["history"]] == [1, 3, 4] for d in docs)
    assert all("eval_every" not in d["params"]["config"] for d in docs)  # defaults stay out of a task's params


def test_sweep_submits_longest_remaining_work_first(tmp_path, capsys):
    import argparse

    out = tmp_path / "sweep"
    assert main(["sweep", "mnist", "--grid", "gammas=0.5,1", "--layers", "1", *TINY, "--epochs", "1",
                 "--workers", "0", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    parser = argparse.ArgumentParser()
    S.add_arguments(parser)
    args = parser.parse_args(["--layers", "1", *TINY, "--epochs", "3"])
    args.grid, args.out = ["gammas=0.5,1"], str(out)
    tasks, _ = S.build_tasks(args)
    assert [t.key for t in tasks] == ["g=0.5+seed=0", "g=1+seed=0"]   # equal work left: grid order
    (out / "runs" / "g=1+seed=0" / CHECKPOINT).unlink()                # 3 epochs left against 2
    tasks, _ = S.build_tasks(args)
    assert [t.key for t in tasks] == ["g=1+seed=0", "g=0.5+seed=0"]
