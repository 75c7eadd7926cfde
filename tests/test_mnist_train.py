"""The MNIST trainer: resume, divergence, thread independence, learning rates, CLI lines (small data, tiny nets)."""
import json
from fractions import Fraction

import numpy as np
import pytest

from asymexp.cli import main
from asymexp.errors import DivergenceError, SpecError
from asymexp.mnist.train import layer_rates
from asymexp.symbolic.rules import rules_for
from asymexp.mnist.train import CHECKPOINT, TrainConfig, _save, build_spec, load_checkpoint, train
from asymexp.spec import NetworkSpec

SMALL = dict(widths="8,6", gammas="0.7,1", n_train=400, n_test=200, lr_scale=20.0)


def _strip(history):
    return [{k: v for k, v in h.items() if k not in ("seconds", "cpu_seconds")} for h in history]


def test_resume_is_bit_identical(tmp_path):
    cfg = TrainConfig(epochs=3, shuffle=True, seed=4, **SMALL)
    full = list(train(cfg, tmp_path / "a"))
    part = list(train(TrainConfig(epochs=1, shuffle=True, seed=4, **SMALL), tmp_path / "b"))
    resumed: list = []
    rest = list(train(cfg, tmp_path / "b", resumed=resumed))
    assert [r["epoch"] for r in rest] == [2, 3] and _strip(resumed) == _strip(part)
    assert _strip(resumed + rest) == _strip(full)
    theta_a, meta_a = load_checkpoint(tmp_path / "a" / CHECKPOINT)
    theta_b, meta_b = load_checkpoint(tmp_path / "b" / CHECKPOINT)
    assert theta_a.dtype == np.float32 and np.array_equal(theta_a, theta_b)
    assert meta_a["rng_state"] == meta_b["rng_state"] and meta_b["epoch"] == 3


def test_checkpoint_of_other_settings_is_refused(tmp_path):
    list(train(TrainConfig(epochs=1, **SMALL), tmp_path))
    with pytest.raises(Exception, match="other settings"):
        list(train(TrainConfig(epochs=1, **{**SMALL, "lr_scale": 3.0}), tmp_path))


def test_absurd_learning_rate_stops_with_divergence_message(tmp_path):
    # mse: dout grows with the output, so the weights grow geometrically (with ce the softmax bounds dout and
    # sigmoid nets stay finite even at lr 1e30 in float32)
    cfg = TrainConfig(epochs=2, loss="mse", **{**SMALL, "lr_scale": 1e30})
    with pytest.raises(DivergenceError, match=r"diverged at epoch 1, step \d+ of 20: non-finite loss"):
        list(train(cfg, tmp_path))
    assert not (tmp_path / CHECKPOINT).exists()


def test_divergence_keeps_last_good_checkpoint_readable(tmp_path):
    cfg = TrainConfig(epochs=2, loss="mse", **SMALL)
    list(train(TrainConfig(epochs=1, loss="mse", **SMALL), tmp_path))
    theta, meta = load_checkpoint(tmp_path / CHECKPOINT)
    bad = theta.copy()
    bad[-15] = np.float32(1e20)  # an output weight so large that the mse updates grow until float32 overflows
    _save(tmp_path / CHECKPOINT, bad, meta)
    with pytest.raises(DivergenceError, match=r"epoch 2, step \d+ of 20: non-finite loss.*\(epoch 1\) is kept"):
        list(train(cfg, tmp_path))
    theta2, meta2 = load_checkpoint(tmp_path / CHECKPOINT)
    assert meta2["epoch"] == 1 and np.array_equal(theta2, bad)


def test_results_do_not_depend_on_thread_count(tmp_path):
    import numba

    runs = []
    assert numba.config.NUMBA_NUM_THREADS >= 2           # tests/conftest.py makes two available on any machine
    for threads in (1, 2):
        out = tmp_path / str(threads)
        hist = list(train(TrainConfig(epochs=2, threads=threads, dtype="float64", **SMALL), out))
        runs.append((_strip(hist), load_checkpoint(out / CHECKPOINT)[0]))
    assert runs[0][0] == runs[1][0] and np.array_equal(runs[0][1], runs[1][1])


def test_threads_beyond_numba_limit_are_refused():
    with pytest.raises(SpecError, match="--threads 100000"):
        list(train(TrainConfig(epochs=1, threads=100000, **SMALL)))


def test_learning_rates_reproduce_published_formulas():
    """docs/theory/2-learning-rates.md: L = 3 formulas and L = 1 (alpha = N^{2 gamma - 2} for both layers)."""
    g1, g2, g3 = Fraction(1, 2), Fraction(7, 10), Fraction(9, 10)
    spec = NetworkSpec(gammas=(g1, g2, g3), widths=(50, 60, 70))
    e = rules_for(spec).rate_exponents
    assert e["C"] == {"N1": 0, "N2": 0, "N3": 2 * g3 - 2}
    assert e["W3"] == {"N1": 0, "N2": 2 * g2 - 1, "N3": 2 * g3 - 2}
    assert e["W2"] == {"N1": 2 * g1 - 1, "N2": 2 * g2 - 1, "N3": 2 * g3 - 3}
    assert e["W1"] == {"N1": 2 * g1 - 1, "N2": 2 * g2 - 2, "N3": 2 * g3 - 3}
    rates = layer_rates(spec, 2.0)
    assert rates[0] == pytest.approx(2.0 * 50 ** float(2 * g1 - 1) * 60 ** float(2 * g2 - 2) * 70 ** float(2 * g3 - 3))
    shallow = NetworkSpec(gammas=(Fraction(3, 4),), widths=(64,))
    assert layer_rates(shallow, 1.0) == pytest.approx([64 ** -0.5, 64 ** -0.5])


def test_rules_agree_with_the_closed_formula_oracle():
    """The derived exponents (the one rule) against the closed formula of docs/theory/2-learning-rates.md."""
    from asymexp.symbolic.scalings import closed_form_rates, gamma_symbols

    for gammas in ("1/2,7/10,1", "3/4,1", "9/10"):
        spec = NetworkSpec.from_strings(gammas, ",".join(["100"] * len(gammas.split(","))))
        oracle = closed_form_rates(gamma_symbols(spec.gammas))
        derived = rules_for(spec).rate_exponents
        for name in spec.layer_names:
            expected = [Fraction(str(v)) for v in oracle[name]]
            assert expected == [derived[name][f"N{l}"] for l in range(1, spec.depth + 1)]


def test_bad_input_is_named():
    with pytest.raises(SpecError, match="--loss 'hinge'"):
        build_spec(TrainConfig(loss="hinge"))
    with pytest.raises(SpecError, match="--lr-scale"):
        layer_rates(build_spec(TrainConfig()), -1.0)
    with pytest.raises(SpecError, match="--gammas"):
        build_spec(TrainConfig(gammas="1,1", layers=3))


def test_cli_prints_one_json_line_per_epoch_then_summary(capsys, tmp_path):
    argv = ["mnist", "--layers", "2", "--gammas", "1", "--widths", "5", "--epochs", "2", "--n-train", "200",
            "--n-test", "100", "--json", "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [set(lines[i]) >= {"epoch", "train_loss", "train_acc", "test_acc", "seconds"} for i in (0, 1)] == [True] * 2
    assert lines[-1]["summary"] and lines[-1]["epochs"] == 2 and lines[-1]["spec"]["gammas"] == ["1", "1"]
    assert main(argv[:argv.index("--epochs") + 1] + ["3"] + argv[argv.index("--epochs") + 2:]) == 0  # resume
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["epoch"] for r in again[:-1]] == [1, 2, 3]
    assert _strip(again[:2]) == _strip(lines[:2])


def test_cli_divergence_exit_status(capsys):
    argv = ["mnist", "--gammas", "1", "--widths", "4", "--n-train", "100", "--n-test", "50", "--lr-scale", "1e30",
            "--loss", "mse", "--json", "--no-progress"]
    assert main(argv) == 3
    captured = capsys.readouterr()
    assert "diverged at epoch 1" in captured.err and captured.err.count("\n") == 1
    assert json.loads(captured.out.splitlines()[-1])["status"] == "diverged"


def test_cli_bad_input_exit_2(capsys):
    assert main(["mnist", "--gammas", "0.3", "--no-progress"]) == 2
    assert "gamma_1 = 0.3" in capsys.readouterr().err


def test_fresh_compile_and_cached_code_give_identical_numbers(tmp_path):
    """Same seed, same numbers across processes: a run compiled from scratch (empty Numba cache) ends with the
    same parameters as one in this process. (Helpers are inlined at Numba IR level for this: with fastmath,
    code linked from separately cached helpers vectorized differently from freshly compiled code.)"""
    import os
    import subprocess
    import sys

    cfg = dict(epochs=1, widths="8,6", gammas="0.7,1", n_train=200, n_test=50, lr_scale=20.0)
    list(train(TrainConfig(**cfg), tmp_path / "here"))
    code = ("import sys; from asymexp.mnist.train import TrainConfig, train; "
            f"list(train(TrainConfig(**{cfg!r}), sys.argv[1]))")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "empty-cache"))
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "fresh")], check=True, env=env)
    a, _ = load_checkpoint(tmp_path / "here" / CHECKPOINT)
    b, _ = load_checkpoint(tmp_path / "fresh" / CHECKPOINT)
    assert np.array_equal(a, b)
