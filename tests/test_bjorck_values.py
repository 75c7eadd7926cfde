"""The lr-train tables and verdicts (asymexp.bn.bjorck.bjorck_verdicts, docs/batchnorm.md "Training at larger rates
(Bjorck et al.)") on small synthetic runs whose every number is worked out by hand here."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from asymexp.bn.bjorck.bjorck_verdicts import (TRAINED_LOSS, activation_growth, dataset_report, largest_rates,
                                              rate_rows, study_verdicts)


def _run(norm, lr, seed, acc=None, loss=None, hit=None, diverged=None):
    return {"norm": norm, "lr": lr, "seed": seed, "test_accuracy": acc, "train_loss": loss,
            "steps_to_target": hit, "diverged_step": diverged}


def _runs():
    """none at lr 0.1: seed 0 diverged at step 7, seeds 1 and 2 finished (accuracy 0.8 and 0.9, loss 0.1 and 0.3,
    seed 1 reached the target after 10 updates); bn at lr 0.1: all three finished."""
    return [_run("none", 0.1, 0, diverged=7), _run("none", 0.1, 1, 0.8, 0.1, 10), _run("none", 0.1, 2, 0.9, 0.3),
            _run("bn", 0.1, 0, 0.85, 0.02, 4), _run("bn", 0.1, 1, 0.95, 0.04, 6), _run("bn", 0.1, 2, 0.9, 0.03, 8)]


def test_rate_rows_count_diverged_seeds_and_average_the_finished_ones_by_hand():
    rows = {(r["norm"], r["lr"]): r for r in rate_rows(_runs(), ["none", "bn"], [0.1])}
    none, bn = rows[("none", 0.1)], rows[("bn", 0.1)]
    # none: 3 seeds, 1 diverged; the two finished: mean 0.85, sd = 0.1 / sqrt 2, SE = sd / sqrt 2 = 0.05
    assert none["seeds"] == 3 and none["diverged"] == 1 and none["diverged_steps"] == [7]
    assert none["test_accuracy"] == pytest.approx(0.85, abs=1e-15)
    assert none["test_accuracy_se"] == pytest.approx(0.05, abs=1e-15)
    assert none["train_loss"] == pytest.approx(0.2, abs=1e-15)
    assert none["train_loss_se"] == pytest.approx(0.1, abs=1e-15)
    assert none["reached_target"] == 1 and none["steps_to_target"] == 10.0 and none["steps_to_target_se"] is None
    # bn: none diverged; updates to target 4, 6, 8: mean 6, sd 2, SE 2 / sqrt 3
    assert bn["seeds"] == 3 and bn["diverged"] == 0 and bn["diverged_steps"] == []
    assert bn["reached_target"] == 3 and bn["steps_to_target"] == pytest.approx(6.0, abs=1e-14)
    assert bn["steps_to_target_se"] == pytest.approx(2 / math.sqrt(3), abs=1e-14)


def test_best_rate_is_the_rate_of_the_highest_accuracy():
    """Accuracy 0.8, 0.9, 0.85 at rates 0.1, 1, 10, none diverged: best 0.9 at lr 1; within 0.02 of it only lr 1
    (the largest trainable rate), within 0.06 also lr 10 (0.85 >= 0.84)."""
    rows = [{"norm": "bn", "lr": lr, "diverged": 0, "test_accuracy": a} for lr, a in ((0.1, 0.8), (1.0, 0.9),
                                                                                     (10.0, 0.85))]
    g = largest_rates(rows, ["bn"], [0.1, 1.0, 10.0], 0.02)[0]
    assert g["best_accuracy"] == 0.9 and g["best_lr"] == 1.0
    assert g["lr_trainable"] == 1.0 and g["lr_finite"] == 10.0
    assert largest_rates(rows, ["bn"], [0.1, 1.0, 10.0], 0.06)[0]["lr_trainable"] == 10.0
    # "within tolerance" includes its edge: accuracies 0.75 and 0.5 (exact in binary), tolerance 0.25
    edge = [{"norm": "bn", "lr": lr, "diverged": 0, "test_accuracy": a} for lr, a in ((1.0, 0.75), (10.0, 0.5))]
    assert largest_rates(edge, ["bn"], [1.0, 10.0], 0.25)[0]["lr_trainable"] == 10.0


def test_one_sided_entry_at_the_edges_of_its_interval():
    """measured = bound +- Z95 with se = 1 and bound 0 puts an end of the 95% interval exactly on the bound: the
    lower end on it is not above it (undetermined), the upper end on it is "at or below" (disagree)."""
    from asymexp.bn.bjorck.bjorck_verdicts import above
    from asymexp.stats.interval_verdicts import Z95

    low_on_bound = above("g", Z95, 1.0, 0.0, "s")
    assert low_on_bound["judged"][0] == 0.0 and low_on_bound["verdict"] == "undetermined"
    high_on_bound = above("g", -Z95, 1.0, 0.0, "s")
    assert high_on_bound["judged"][1] == 0.0 and high_on_bound["verdict"] == "disagree"
    assert above("g", 2.0, 0.5, 1.0, "s")["judged"] == pytest.approx([2.0 - 0.5 * Z95, 2.0 + 0.5 * Z95], abs=1e-15)
    # a measured slope without a standard error (one seed) cannot be judged either way
    no_se = above("g", 0.3, None, 0.05, "s")
    assert no_se["verdict"] == "undetermined" and no_se["measured"] == 0.3 and no_se["judged"] is None


def _rms_of(a, b, layers):
    """RMS(h^l) = 10^(a + b l), l = 1..layers: log10 RMS is a line of slope b."""
    return [10.0 ** (a + b * l) for l in range(1, layers + 1)]


def test_activation_growth_with_one_seed_and_one_recorded_mini_batch():
    """One seed, one recorded mini-batch (k = 0), three layers, none diverged at lr 1 (the smallest such rate):
    log10 RMS = 0.1 + 0.2 l for none and 0.5 for bn; the slopes 0.2 and 0 have no SE with one seed."""
    runs = [_run("none", 0.1, 0, 0.9, 0.1), _run("bn", 0.1, 0, 0.9, 0.1),
            _run("none", 1.0, 0, diverged=3), _run("bn", 1.0, 0, 0.9, 0.1)]
    rms = {("none", 1.0, 0): [_rms_of(0.1, 0.2, 3)], ("bn", 1.0, 0): [_rms_of(0.5, 0.0, 3)],
           ("none", 0.1, 0): [_rms_of(0.0, 0.0, 3)], ("bn", 0.1, 0): [_rms_of(0.0, 0.0, 3)]}
    act = activation_growth(runs, rms, ["none", "bn"], [0.1, 1.0], record=0)
    assert act["lr"] == 1.0 and act["k_star"] == 0
    none, bn = act["norms"]
    np.testing.assert_allclose(none["log10_rms"], [[0.3, 0.5, 0.7]], atol=1e-14)
    np.testing.assert_allclose(bn["at_k_star"], [0.5, 0.5, 0.5], atol=1e-14)
    assert none["slope"] == pytest.approx(0.2, abs=1e-12) and none["slope_se"] is None
    assert bn["slope"] == pytest.approx(0.0, abs=1e-12) and bn["slope_se"] is None


def test_activation_growth_over_two_seeds_and_two_mini_batches():
    """Two seeds, mini-batches k = 0, 1; seed 1 of none is infinite at k = 1, so k_star = 0. Slopes at k = 0:
    0.1 and 0.3 (mean 0.2, SE = sd / sqrt 2 = 0.1); the mean curve at k = 1 has only seed 0's finite values."""
    runs = [_run("none", 1.0, s, diverged=2) for s in (0, 1)] + [_run("bn", 1.0, s, 0.9, 0.1) for s in (0, 1)]
    rms = {("none", 1.0, 0): [_rms_of(0.0, 0.1, 2), _rms_of(1.0, 0.1, 2)],
           ("none", 1.0, 1): [_rms_of(0.0, 0.3, 2), [math.inf, math.inf]],
           ("bn", 1.0, 0): [_rms_of(0.0, 0.0, 2), _rms_of(0.0, 0.0, 2)],
           ("bn", 1.0, 1): [_rms_of(0.2, 0.0, 2), _rms_of(0.2, 0.0, 2)]}
    act = activation_growth(runs, rms, ["none", "bn"], [1.0], record=1)
    assert act["k_star"] == 0
    none, bn = act["norms"]
    np.testing.assert_allclose(none["log10_rms"][0], [0.2, 0.4], atol=1e-14)     # means of (0.1, 0.3), (0.2, 0.6)
    np.testing.assert_allclose(none["log10_rms"][1], [1.1, 1.2], atol=1e-14)     # seed 0 only
    assert none["log10_rms_se"][1] == [None, None]
    assert none["slope"] == pytest.approx(0.2, abs=1e-12) and none["slope_se"] == pytest.approx(0.1, abs=1e-12)
    np.testing.assert_allclose(bn["at_k_star"], [0.1, 0.1], atol=1e-14)
    np.testing.assert_allclose(bn["at_k_star_se"], [0.1, 0.1], atol=1e-14)    # sd of (0, 0.2) over sqrt 2


def test_activation_growth_with_a_seed_that_recorded_fewer_mini_batches():
    """bn seed 1 recorded only mini-batch 0 (its run ended there), seed 0 recorded k = 0, 1: the mean curve at k = 1
    is seed 0's alone (no SE); none's seeds all recorded both. One hidden layer: no slope over layers (None)."""
    runs = [_run("none", 1.0, s, diverged=5) for s in (0, 1)] + [_run("bn", 1.0, 0, 0.9, 0.1),
                                                                 _run("bn", 1.0, 1, diverged=1)]
    rms = {("none", 1.0, 0): [[10.0], [100.0]], ("none", 1.0, 1): [[1000.0], [10.0]],
           ("bn", 1.0, 0): [[1.0], [10.0]], ("bn", 1.0, 1): [[100.0]]}
    act = activation_growth(runs, rms, ["none", "bn"], [1.0], record=1)
    assert act["k_star"] == 1
    none, bn = act["norms"]
    assert none["log10_rms"] == [[2.0], [1.5]] and bn["log10_rms"] == [[1.0], [1.0]]
    assert bn["log10_rms_se"][1] == [None] and bn["log10_rms_se"][0] == [pytest.approx(1.0, abs=1e-14)]
    assert none["slope"] is None and none["slope_se"] is None
    assert "slope" not in bn                                   # bn seed 1 has no mini-batch k_star = 1


def test_growth_entries_hold_none_above_growth_and_bn_at_zero():
    """The activation claims: none's slope against "above GROWTH" (one-sided), bn's against 0 within GROWTH; a
    none slope of 0.2 +- 0.01 agrees, a bn slope of 0.001 +- 0.001 agrees, each with its own prediction."""
    from asymexp.bn.bjorck.bjorck_verdicts import GROWTH

    act = {"lr": 1.0, "k_star": 3, "norms": [{"norm": "none", "slope": 0.2, "slope_se": 0.01},
                                             {"norm": "bn", "slope": 0.001, "slope_se": 0.001}]}
    out = study_verdicts([{"data": "d", "rows": [], "paired": [], "largest": [], "activations": act}])
    none, bn = out["verdicts"]
    assert "none" in none["quantity"] and none["predicted"] == GROWTH and none["verdict"] == "agree"
    assert "bn" in bn["quantity"] and bn["predicted"] == 0.0 and bn["verdict"] == "agree"
    assert out["verdict"] == "agree"


def test_dataset_report_pairs_bn_and_none_when_the_study_has_exactly_these_norms():
    """norms exactly (none, bn), every seed of both finished at lr 1: the paired bn - none differences per seed
    are 0.85 - 0.80, 0.95 - 0.90 and 0.85 - 0.85."""
    runs = [_run("none", 1.0, s, a, 0.01) for s, a in ((0, 0.80), (1, 0.90), (2, 0.85))]
    runs += [_run("bn", 1.0, s, a, 0.01) for s, a in ((0, 0.85), (1, 0.95), (2, 0.85))]
    study = SimpleNamespace(norms=("none", "bn"), rates=(1.0,), tolerance=0.02, record=0,
                            steps=lambda n: 3 * n, eval_every=lambda n: n)
    rms = {(n, 1.0, s): [_rms_of(0.0, 0.0, 2)] for n in ("none", "bn") for s in range(3)}
    arrays = (np.zeros((10, 2)), np.zeros(10), np.zeros((4, 2)), np.zeros(4))
    rep = dataset_report(study, "d", arrays, runs, rms)
    assert rep["n_train"] == 10 and rep["n_test"] == 4 and rep["steps"] == 30 and rep["eval_every"] == 10
    [p] = rep["paired"]
    # differences 0.05, 0.05, 0.0: mean 1/30, sd = sqrt(1/1200) ... SE = sd / sqrt 3 = 1/60
    assert p["lr"] == 1.0 and p["seeds"] == 3
    assert p["difference"] == pytest.approx(1 / 30, abs=1e-14) and p["se"] == pytest.approx(1 / 60, abs=1e-14)


def test_the_difference_before_both_nets_fit_is_held_against_zero():
    """The claim "about equal" predicts a difference of 0 at every rate, also in the undetermined entry of a rate
    where a net is still training; the judged entry's interval is difference +- 1.96 SE."""
    rows = [{"norm": n, "lr": lr, "train_loss": v} for (n, lr), v in
            {("none", 0.01): 10 * TRAINED_LOSS, ("bn", 0.01): 10 * TRAINED_LOSS,
             ("none", 0.1): TRAINED_LOSS, ("bn", 0.1): TRAINED_LOSS}.items()]
    paired = [{"lr": 0.01, "difference": 0.3, "se": 0.01, "seeds": 3},
              {"lr": 0.1, "difference": 0.002, "se": 0.001, "seeds": 3}]
    out = study_verdicts([{"data": "d", "rows": rows, "paired": paired, "largest": [], "activations": None}])
    early, judged = out["verdicts"]
    assert early["predicted"] == 0.0 and early["measured"] == 0.3 and early["se"] == 0.01
    assert judged["predicted"] == 0.0 and judged["measured"] == 0.002 and judged["verdict"] == "agree"


# --- asymexp.bn.bjorck.sgd: evaluation and divergence on small nets, against the model's own forward pass and
# --- hand-computed losses

def _sgd_net(norm):
    from asymexp.bn.model import fim_network

    return fim_network(3, 7, 4, 5, "relu", norm)


def _with_biases(params, seed):
    """The drawn parameters with N(0, 1) biases (the model draws zero biases, which hide a wrong bias sign)."""
    rng = np.random.default_rng(seed)
    return [(w, rng.standard_normal(b.shape)) for w, b in params]


@pytest.mark.parametrize("norm", ["none", "mean-last", "bn-last", "ln"])
def test_eval_mode_with_nonzero_biases_is_the_train_mode_forward(norm):
    """Without hidden batch statistics (none; mean-last and bn-last centre, and bn-last scales, the outputs by the
    reference batch's statistics; ln is per sample) the eval-mode outputs on the reference itself are the model's
    forward pass, biases included."""
    from asymexp.bn.bjorck import sgd
    from asymexp.bn.model import forward, output_values

    net = _sgd_net(norm)
    params = _with_biases(net.draw(np.random.default_rng(3)), 4)
    x = np.random.default_rng(5).standard_normal((11, 5))
    want = output_values(net, forward(net, params, x).outputs)
    np.testing.assert_allclose(sgd.predict(net, params, x, x), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss", ["cross-entropy", "mse"])
def test_evaluate_in_uneven_chunks_is_the_accuracy_and_mean_loss_of_all_samples(loss):
    """n = 10 samples in chunks of 4, 4, 2: accuracy = share of rows whose largest output is the label, loss = the
    per-sample mean over all 10 (cross-entropy logsumexp f - f_y, mse ||f - onehot||^2 / 2), by hand from the
    eval-mode outputs; labels chosen so that the accuracy is neither 0 nor 1 nor that of the smallest output."""
    from asymexp.bn.bjorck import sgd

    net = _sgd_net("none")
    params = _with_biases(net.draw(np.random.default_rng(6)), 7)
    x = np.random.default_rng(8).standard_normal((10, 5))
    f = sgd.predict(net, params, x)
    labels = np.argmax(f, axis=1)
    labels[[1, 4, 9]] = np.argmin(f[[1, 4, 9]], axis=1)                      # 7 of 10 right
    if loss == "cross-entropy":
        per_sample = np.log(np.exp(f).sum(axis=1)) - f[np.arange(10), labels]
    else:
        per_sample = 0.5 * ((f - np.eye(4)[labels]) ** 2).sum(axis=1)
    acc, mean_loss = sgd.evaluate(net, params, x, labels, None, loss, chunk=4)
    assert acc == 0.7
    assert mean_loss == pytest.approx(per_sample.mean(), rel=1e-12)


def test_a_finite_output_with_an_infinite_mse_loss_is_a_divergence():
    """Outputs about 1e160 are finite, their squares are not: the mse loss is inf while its gradient (f - onehot)
    / T is finite; the batch is reported as diverged at the loss, with no gradient."""
    from asymexp.bn.bjorck import sgd

    net = _sgd_net("none")
    params = net.draw(np.random.default_rng(9))
    params[-1] = (params[-1][0] * 1e160, params[-1][1])
    x = np.random.default_rng(10).standard_normal((6, 5))
    value, grads, fwd, where = sgd.loss_grad(net, params, x, np.zeros(6, dtype=int), "mse")
    assert np.all(np.isfinite(fwd.outputs)) and value == math.inf
    assert grads is None and where == "loss"


def _sgd_data(seed=0, n=120, d=5):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0).astype(int)
    return x[:100], y[:100], x[100:], y[100:]


def test_a_run_records_evaluates_and_reaches_its_target_where_documented():
    """100 samples in batches of 10 (10 updates an epoch), 3 epochs: 30 updates; evaluations every 7 updates and at
    the end (7, 14, 21, 28, 30); RMS recorded on mini-batches 0..record (record + 1 of them); steps_to_target is
    the first evaluation whose accuracy is at least the target, here set to one of the curve's own accuracies so
    that the edge (accuracy == target) is reached."""
    from asymexp.bn.bjorck import sgd

    net = _sgd_net("bn")
    params = net.draw(np.random.default_rng(0))
    kw = dict(epochs=3, batch=10, loss="cross-entropy", seed=5, eval_every=7, record=2)
    run = sgd.train(net, params, _sgd_data(), 0.1, target=2.0, **kw)
    assert run.diverged_step is None and run.steps == 30 and run.steps_to_target is None
    assert [s for s, _ in run.accuracy_curve] == [7, 14, 21, 28, 30]
    assert len(run.activation_rms) == 3 and all(len(r) == 3 for r in run.activation_rms)    # H = 3 hidden layers
    target = max(a for _, a in run.accuracy_curve)
    again = sgd.train(net, params, _sgd_data(), 0.1, target=target, **kw)
    assert again.accuracy_curve == run.accuracy_curve
    assert again.steps_to_target == min(s for s, a in run.accuracy_curve if a >= target)


def test_layer_rms_is_the_root_mean_square_of_each_hidden_layer():
    from asymexp.bn.bjorck import sgd
    from asymexp.bn.model import forward

    net = _sgd_net("none")
    params = _with_biases(net.draw(np.random.default_rng(11)), 12)
    fwd = forward(net, params, np.random.default_rng(13).standard_normal((9, 5)))
    want = [float(np.sqrt((h ** 2).sum() / h.size)) for h in fwd.inputs[1:]]
    assert len(want) == 3
    np.testing.assert_allclose(sgd.layer_rms(fwd), want, rtol=1e-14)


def test_at_rate_zero_the_final_evaluation_uses_every_training_sample_as_reference():
    """lr = 0 leaves the parameters as drawn; a reference of 1000 >= n = 100 samples drawn without replacement is
    the whole training set in some order, and batch statistics do not depend on the order: the run's test and
    training figures are evaluate() at the drawn parameters with the training set as reference (to rounding)."""
    from asymexp.bn.bjorck import sgd

    net = _sgd_net("bn")
    params = net.draw(np.random.default_rng(14))
    x, y, xt, yt = _sgd_data(3)
    run = sgd.train(net, params, (x, y, xt, yt), 0.0, epochs=1, batch=20, loss="mse", seed=2, eval_every=100,
                    target=2.0, record=0, reference=1000)
    test_acc, test_loss = sgd.evaluate(net, params, xt, yt, x, "mse")
    _, train_loss = sgd.evaluate(net, params, x, y, x, "mse")
    assert run.test_accuracy == test_acc
    assert run.test_loss == pytest.approx(test_loss, rel=1e-12)
    assert run.train_loss == pytest.approx(train_loss, rel=1e-12)
    assert test_loss != pytest.approx(train_loss, rel=1e-3)                  # the two sets are told apart
