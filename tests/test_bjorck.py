"""asymexp lr-train (docs/batchnorm.md, "Training at larger rates (Bjorck et al.)"; docs/interfaces.md): the SGD step
against the model's own gradient and finite differences, eval mode against the train-mode forward, divergence as an
outcome, determinism, the command's contract and refusals, the Fashion-MNIST skip and a tiny scan end to end."""
from __future__ import annotations

import gzip
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymexp.bn.bjorck import sgd
from asymexp.bn.bjorck.bjorck_verdicts import above, largest_rates, mean_se
from asymexp.bn.bjorck.study import LrTrain, load_data, run_study
from asymexp.bn.model import fim_network, forward, loss_and_gradient
from asymexp.cli import main
from test_study_verdicts import check_entries       # tests/test_study_verdicts.py

TINY = ["--data", "mnist", "--layers", "2", "--width", "8", "--epochs", "1", "--seeds", "2", "--batch", "20",
        "--lr-min", "1e-2", "--lr-max", "1e2", "--lr-per-decade", "1", "--train-samples", "200",
        "--test-samples", "100", "--record", "4", "--no-progress"]


def _net(norm, layers=3, width=7, d=5, C=4):
    return fim_network(layers, width, C, d, "relu", norm)


def _batch(seed, T=9, d=5, C=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((T, d)), rng.integers(0, C, size=T)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(["none", "bn", "mean-last"]), st.integers(0, 10**6), st.floats(1e-4, 10.0))
def test_mse_step_is_theta_minus_lr_times_the_models_gradient(norm, seed, lr):
    """loss_grad(mse) is the model's loss_and_gradient exactly (same arithmetic), and one step is theta - lr grad."""
    net = _net(norm)
    params = net.draw(np.random.default_rng(seed))
    x, labels = _batch(seed)
    value, grads, _, where = sgd.loss_grad(net, params, x, labels, "mse")
    ref_loss, ref_grads, _ = loss_and_gradient(net, params, x, np.eye(4)[labels])
    assert where is None and value == pytest.approx(ref_loss, rel=1e-14)
    stepped = sgd.sgd_update(params, grads, lr)
    for (w, b), (gw, gb), (rw, rb), (sw, sb) in zip(params, grads, ref_grads, stepped):
        np.testing.assert_allclose(gw, rw, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(gb, rb, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(sw, w - lr * gw)
        np.testing.assert_array_equal(sb, b - lr * gb)


@pytest.mark.parametrize("norm", ["none", "bn", "mean-last"])
def test_cross_entropy_gradient_against_central_differences(norm):
    """Central differences at h = 1e-6: error O(h^2) + O(eps |L| / h), about 1e-10 for L ~ 1; tolerance 1e-7."""
    net = _net(norm, layers=2, width=5, d=3, C=3)
    params = net.draw(np.random.default_rng(1))
    x, labels = _batch(2, T=6, d=3, C=3)
    _, grads, _, _ = sgd.loss_grad(net, params, x, labels, "cross-entropy")
    h = 1e-6
    for l, (w, b) in enumerate(params):
        for arr, g in ((w, grads[l][0]), (b, grads[l][1])):
            for i in np.ndindex(arr.shape):
                old = arr[i]
                arr[i] = old + h
                up = sgd.loss_grad(net, params, x, labels, "cross-entropy")[0]
                arr[i] = old - h
                down = sgd.loss_grad(net, params, x, labels, "cross-entropy")[0]
                arr[i] = old
                assert abs((up - down) / (2 * h) - g[i]) < 1e-7


def test_cross_entropy_value():
    f = np.array([[0.0, np.log(3.0)], [1.0, 1.0]])
    value, d = sgd.output_loss(f, np.array([1, 0]), "cross-entropy")
    assert value == pytest.approx((-np.log(0.75) - np.log(0.5)) / 2, rel=1e-14)
    np.testing.assert_allclose(d.sum(axis=1), 0.0, atol=1e-16)


@pytest.mark.parametrize("norm", ["none", "bn", "mean-last"])
def test_eval_mode_on_its_own_reference_is_the_train_mode_forward(norm):
    """Population statistics of the reference applied to the reference are its batch statistics."""
    net = _net(norm)
    params = net.draw(np.random.default_rng(3))
    x, _ = _batch(4, T=11)
    from asymexp.bn.model import output_values

    want = output_values(net, forward(net, params, x).outputs)
    np.testing.assert_allclose(sgd.predict(net, params, x, x), want, rtol=1e-12, atol=1e-12)
    one = sgd.predict(net, params, x[:1], x)                     # one row in eval mode: defined, same as in the batch
    np.testing.assert_allclose(one, sgd.predict(net, params, x, x)[:1], rtol=1e-12, atol=1e-12)


def _data(seed=0, n=120, d=5, C=4):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0).astype(int)
    return x[:100], y[:100], x[100:], y[100:]


def test_divergence_is_an_outcome():
    net = _net("none")
    run = sgd.train(net, net.draw(np.random.default_rng(0)), _data(), 1e4, epochs=2, batch=10, loss="cross-entropy",
                    seed=0, eval_every=5, target=0.9, record=3)
    assert run.diverged_step is not None and run.diverged_step <= 2 and run.diverged_why is not None
    assert run.test_accuracy is None and run.steps == run.diverged_step
    assert len(run.activation_rms) == run.diverged_step + 1


def test_same_seed_same_numbers_and_a_small_rate_learns():
    net = _net("bn")
    params = net.draw(np.random.default_rng(0))
    kw = dict(epochs=3, batch=10, loss="cross-entropy", seed=5, eval_every=5, target=0.5, record=2)
    a, b = (sgd.train(net, params, _data(), 0.1, **kw) for _ in range(2))
    assert a == b and a.diverged_step is None and a.steps == 30
    c = sgd.train(net, params, _data(), 0.1, **{**kw, "seed": 6})
    assert c.test_accuracy != a.test_accuracy or c.train_loss != a.train_loss     # another shuffling
    first = sgd.loss_grad(net, params, _data()[0], _data()[1], "cross-entropy")[0]
    assert a.train_loss < first                                                  # the rate learns


def test_largest_rate_is_bracketed_by_the_grid():
    rows = [{"norm": "none", "lr": lr, "diverged": d, "test_accuracy": a}
            for lr, d, a in ((0.1, 0, 0.8), (1.0, 0, 0.9), (10.0, 3, None))]
    g = largest_rates(rows, ["none"], [0.1, 1.0, 10.0], 0.02)[0]
    assert g["lr_trainable"] == 1.0 and g["lr_trainable_bracket"] == [1.0, 10.0] and g["lr_trainable_bracketed"]
    rows[-1].update(diverged=0, test_accuracy=0.89)
    g = largest_rates(rows, ["none"], [0.1, 1.0, 10.0], 0.02)[0]
    assert g["lr_finite"] == 10.0 and g["lr_finite_bracket"] == [10.0, None] and not g["lr_finite_bracketed"]


def test_one_sided_entries_and_mean_se():
    assert above("g", 1.0, 0.1, 0.05, "s")["verdict"] == "agree"
    assert above("g", 0.0, 0.01, 0.05, "s")["verdict"] == "disagree"
    assert above("g", 0.05, 0.1, 0.05, "s")["verdict"] == "undetermined"
    assert mean_se([1.0, 3.0, None]) == (2.0, 1.0) and mean_se([None]) == (None, None)


def _main(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as exc:                       # argparse's refusals
        status = exc.code
    cap = capsys.readouterr()
    return status, cap.out, cap.err


def test_tiny_scan_end_to_end(tmp_path, capsys):
    status, out, err = _main(["lr-train", *TINY, "--json", "--out", str(tmp_path / "run")], capsys)
    assert status == 0 and err == ""
    doc = json.loads(out)
    assert doc["skipped"] == [] and [r["data"] for r in doc["datasets"]] == ["mnist"]
    rep = doc["datasets"][0]
    assert len(doc["runs"]) == 2 * 5 * 2 and len(rep["rows"]) == 2 * 5
    assert rep["n_train"] == 200 and rep["steps"] == 10
    assert {g["norm"] for g in rep["largest"]} == {"none", "bn"}
    check_entries(doc)
    for name in ("lr_train.json", "lr_train_rates.png", "lr_train_activations.png", "manifest.json"):
        assert (tmp_path / "run" / name).is_file()
    assert json.loads((tmp_path / "run" / "lr_train.json").read_text())["runs"] == doc["runs"]
    status, out2, _ = _main(["lr-train", *TINY, "--json"], capsys)
    assert json.loads(out2)["runs"] == doc["runs"]                              # same seed, same numbers
    status, text, _ = _main(["lr-train", *TINY], capsys)
    assert status == 0 and "largest trainable rate" in text and "verdict:" in text


def test_python_verb_matches_the_command(capsys):
    import asymexp

    _, out, _ = _main(["lr-train", *TINY, "--json"], capsys)
    r = asymexp.lr_train(data="mnist", layers=2, width=8, epochs=1, seeds=2, batch=20, lr_min=1e-2, lr_max=1e2,
                         lr_per_decade=1, train_samples=200, test_samples=100, record=4)
    assert r.to_dict() == json.loads(out) and r.figure_names == ("rates", "activations")
    assert type(r.plot()).__name__ == "Figure" and type(r.plot("activations")).__name__ == "Figure"


@pytest.mark.parametrize("argv, names", [
    (["--lr-min", "abc"], "--lr-min 'abc'"),
    (["--lr-min", "10", "--lr-max", "1"], "0 < lr-min <= lr-max"),
    (["--norm", "ln"], "--norm 'ln'"),
    (["--data", "cifar"], "--data 'cifar'"),
    (["--target", "1.5"], "--target 1.5"),
    (["--batch", "1000"], "--batch 1000 exceeds"),
    (["--layers", "0"], "--layers"),
    (["--lr-per-decade", "1000", "--lr-min", "1e-300", "--lr-max", "1e300"], "at most 200"),
    (["--epochs", "10000000", "--train-samples", "8000"], "above the work limit"),
])
def test_bad_input_is_one_line_and_exit_2(argv, names, capsys):
    status, _, err = _main(["lr-train", *TINY, *argv], capsys)
    assert status == 2 and err.count("\n") == 1 and names in err and "Traceback" not in err


def test_fashion_mnist_absent_is_skipped_in_one_line(tmp_path, monkeypatch, capsys):
    import asymexp.inputs.datasets as D

    monkeypatch.delenv("ASYMEXP_DATA", raising=False)
    monkeypatch.setattr(D, "FASHION_SYSTEM_DIR", tmp_path / "absent")
    argv = [a for a in TINY if a != "--no-progress"]
    status, out, err = _main(["lr-train", *argv, "--data", "fashion-mnist", "--json"], capsys)
    assert status == 0
    line = err.strip().splitlines()
    assert len(line) == 1 and "fashion-mnist skipped" in line[0] and "dataset-fashion-mnist" in line[0]
    doc = json.loads(out)
    assert doc["datasets"] == [] and doc["skipped"][0]["data"] == "fashion-mnist"
    assert doc["verdict"] == "undetermined"


def _idx(path, array, code):
    head = struct.pack(">BBBB", 0, 0, code, array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    path.write_bytes(gzip.compress(head + array.astype(np.uint8).tobytes()))


def test_fashion_mnist_present_is_run(tmp_path, monkeypatch):
    """A folder with the four files (made up here, 60 + 30 images) is used as fashion-mnist."""
    import asymexp.inputs.datasets as D

    rng = np.random.default_rng(0)
    folder = tmp_path / "fashion"
    folder.mkdir()
    for part, n in (("train", 60), ("t10k", 30)):
        _idx(folder / f"{part}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)), 0x08)
        _idx(folder / f"{part}-labels-idx1-ubyte.gz", rng.integers(0, 10, n), 0x08)
    monkeypatch.delenv("ASYMEXP_DATA", raising=False)
    monkeypatch.setattr(D, "FASHION_SYSTEM_DIR", folder)
    study = LrTrain(data=("fashion-mnist",), layers=1, width=4, epochs=1, seeds=2, batch=10, lr_min=0.1,
                    lr_max=1.0, lr_per_decade=1, record=1)
    data, skipped = load_data(study)
    assert skipped == [] and data["fashion-mnist"][0].shape == (60, 784)
    doc = run_study(study, data, skipped)
    assert doc["datasets"][0]["data"] == "fashion-mnist" and len(doc["runs"]) == 2 * 2 * 2


def test_run_folder_rerun_refusal_and_ctrl_c(tmp_path, monkeypatch, capsys):
    """docs/interfaces.md, "Output folders": the same run reruns into its folder, another is refused in one line,
    Ctrl-C leaves the folder as it was and says so."""
    import hashlib

    from asymexp.run_folder import LOCK

    out = tmp_path / "run"

    def hashes():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())
                if p.name != LOCK}

    assert _main(["lr-train", *TINY, "--out", str(out)], capsys)[0] == 0
    assert _main(["lr-train", *TINY, "--out", str(out)], capsys)[0] == 0
    before = hashes()
    status, _, err = _main(["lr-train", *TINY, "--seed", "1", "--out", str(out)], capsys)
    assert status == 2 and err.count("\n") == 1 and "another `asymexp lr-train` run" in err
    assert hashes() == before

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("asymexp.bn.bjorck.study.run_study", stop)
    status, _, err = _main(["lr-train", *TINY, "--out", str(out)], capsys)
    assert status == 130 and err.strip() == f"asymexp lr-train: {_interrupted_line(out)}"
    assert hashes() == before


def _interrupted_line(out) -> str:
    from asymexp.cli.lr_train import INTERRUPTED

    return INTERRUPTED.format(out=out)


def _report(losses: dict, diffs: dict) -> dict:
    """A one-dataset report with the given mean training losses {(norm, lr): loss} and paired bn - none
    differences {lr: (mean, se)}; no activation study."""
    rows = [{"norm": n, "lr": lr, "train_loss": v} for (n, lr), v in losses.items()]
    paired = [{"lr": lr, "difference": m, "se": se, "seeds": 3} for lr, (m, se) in sorted(diffs.items())]
    return {"data": "d", "rows": rows, "paired": paired, "largest": [], "activations": None}


def test_the_small_rate_claim_is_judged_only_where_both_nets_fit_the_training_set():
    """A clear gap at a rate where a net is still training is undetermined (a shorter run cannot refute a claim
    about trained nets); the first rate where both fit the training set is judged, and a gap there disagrees."""
    from asymexp.bn.bjorck.bjorck_verdicts import TRAINED_LOSS, study_verdicts

    still, fit = 10 * TRAINED_LOSS, TRAINED_LOSS / 10
    losses = {("none", 0.001): still, ("bn", 0.001): still, ("none", 0.01): fit, ("bn", 0.01): fit}
    out = study_verdicts([_report(losses, {0.001: (-0.2, 0.001), 0.01: (0.0, 0.001)})])
    words = [(e["quantity"], e["verdict"]) for e in out["verdicts"]]
    assert words[0][1] == "undetermined" and "before both nets fit" in words[0][0]
    assert words[1][1] == "agree" and "lr = 0.01" in words[1][0]
    out = study_verdicts([_report(losses, {0.001: (0.0, 0.001), 0.01: (-0.2, 0.001)})])
    assert [e["verdict"] for e in out["verdicts"]] == ["undetermined", "disagree"]
    fitted_first = {k: fit for k in losses}
    out = study_verdicts([_report(fitted_first, {0.001: (-0.2, 0.001), 0.01: (0.0, 0.001)})])
    assert [e["verdict"] for e in out["verdicts"]] == ["disagree"]
    never = {k: still for k in losses}
    out = study_verdicts([_report(never, {0.001: (0.0, 0.001), 0.01: (0.0, 0.001)})])
    assert [e["verdict"] for e in out["verdicts"]] == ["undetermined"]
