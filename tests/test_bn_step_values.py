"""asymexp lr-scan's GD runs and rows and asymexp one-step's single step against values computed another way
(docs/architecture.md, "Testing"; docs/batchnorm.md, "Learning-rate thresholds" and "One-step divergence"):
GD on a quadratic in closed form, lambda_max from an explicit central-difference Jacobian, statistics by
scipy.stats and np.histogram, moments and thresholds by loops and by hand."""
import math

import numpy as np
import pytest
from scipy import stats

from asymexp.bn import model as M
from asymexp.bn.lrscan import full_batch as F
from asymexp.bn.lrscan import scan as S
from asymexp.bn.onestep import one_step as O
from asymexp.bn.order_parameters import fim_predictions, order_parameters


def _quadratic(a, blow_up=math.inf):
    """L = a/2 (|w|^2 + |b|^2) of one (w, b) pair; (loss, None, "output") once |w| exceeds blow_up."""
    def loss_grad(p):
        (w, b), = p
        if np.abs(w).max() > blow_up:
            return math.inf, None, "output"
        return 0.5 * a * float((w * w).sum() + (b * b).sum()), [(a * w, a * b)], None
    return loss_grad


def test_gd_on_a_quadratic_is_geometric():
    w0, b0 = np.array([[1.0, -2.0]]), np.array([0.5])
    params = [(w0, b0)]
    t = F.gd_trial(_quadratic(3.0), params, 0.1, 4)
    l0 = 0.5 * 3.0 * (1 + 4 + 0.25)
    np.testing.assert_allclose(t.losses, [l0 * (1 - 0.3) ** (2 * k) for k in range(5)], rtol=1e-14)
    assert (t.lr, t.diverged_step, t.diverged_layer) == (0.1, None, None)
    assert w0.tolist() == [[1.0, -2.0]] and b0.tolist() == [0.5]          # params not modified
    # lr a = 3: |w| grows by 2 per step: 2, 4, 8 > 5 after step 2 (|w|max 2 -> 4 -> 8)
    t = F.gd_trial(_quadratic(1.0, blow_up=5.0), params, 3.0, 10)
    assert t.diverged_step == 2 and t.diverged_layer == "output" and len(t.losses) == 3
    t = F.gd_trial(_quadratic(1.0, blow_up=1.5), params, 3.0, 10)
    assert (t.diverged_step, t.losses) == (0, (math.inf,))
    assert F.NORMS == ("none", "bn", "mean-last", "bn-last", "ln")


def test_divergence_ratio_and_dimensions_by_hand():
    trials = {0.3: F.Trial(0.3, (1.0,), 2, 1), 0.1: F.Trial(0.1, (1.0,)), 0.5: F.Trial(0.5, (1.0,), 1, "output")}
    assert S._divergence(trials) == {"lr": 0.3, "step": 2, "layer": 1}
    assert S._divergence({0.1: F.Trial(0.1, (1.0,))}) is None
    row = {"lr_stable_bracket": [1.0, 2.0], "lr_max_bracket": [3.0, 5.0], "lr_stable": 1.5, "lr_max": 4.0}
    assert S._ratio(row) == {"value": 4.0 / 1.5, "range": [1.5, 5.0]}
    assert S._ratio(dict(row, lr_max_bracket=[3.0, None])) is None
    scan = S.LrScan(layers=(1,), width=5, outputs=2, samples=4)
    assert (scan.out_dim, scan.input_dim) == (2, 5)
    mn = S.LrScan(layers=(1,), width=5, data="mnist", samples=4)
    assert (mn.out_dim, mn.input_dim) == (10, 784)


def _explicit_lambda_max(net, params, x):
    """lambda_max of F = J^T J / T, J (T C, P) the central-difference Jacobian of the outputs f."""
    cols = []
    h = 1e-6
    for l, (w, b) in enumerate(params):
        for arr in (w, b):
            for idx in np.ndindex(arr.shape):
                keep = arr[idx]
                arr[idx] = keep + h
                up = M.output_values(net, M.forward(net, params, x).outputs)
                arr[idx] = keep - h
                down = M.output_values(net, M.forward(net, params, x).outputs)
                arr[idx] = keep
                cols.append(((up - down) / (2 * h)).ravel())
    J = np.array(cols).T
    return float(np.linalg.eigvalsh(J.T @ J / x.shape[0]).max())


@pytest.mark.parametrize("norm", ["none", "mean-last", "bn"])
def test_scan_row_against_an_explicit_fim_and_the_theory(norm):
    scan = S.LrScan(layers=(1,), width=3, activation="tanh", norms=(norm,), samples=4, steps=3, outputs=1,
                    ratio=1.5)
    x, y = M.make_data("gaussian", 4, 3, 1, "tanh", 1, 0)
    row = S.scan_row(scan, 1, norm, x, y)
    net = M.fim_network(1, 3, 1, 3, "tanh", norm)
    params = net.draw(np.random.default_rng([0, 1, 3]))
    lam = _explicit_lambda_max(net, params, x)
    # central differences: truncation ~ h^2 |f'''| ~ 1e-12, rounding ~ 1e-16 / h = 1e-10 per entry
    assert row["lambda_max"] == pytest.approx(lam, rel=1e-7)
    assert row["predicted_lr_stable"] == pytest.approx(2.0 / lam, rel=1e-7)
    assert row["initial_loss"] == pytest.approx(M.loss_and_gradient(net, params, x, y)[0], rel=1e-14)
    op = order_parameters("tanh", 1, 2.0, 0.0, 1.0, 0.0)
    pr = fim_predictions(op, 3, 4, 1, 3)
    theory = {"none": pr["lambda_max"], "mean-last": pr["lower_bound"], "bn": None}[norm]
    assert row["theory_lambda_max"] == theory
    assert row["theory_lr_stable"] == (None if theory is None else pytest.approx(2.0 / theory, rel=1e-15))
    assert row["theory_lambda_error"] == (None if theory is None else pr["error"])
    if row["lr_stable"] is not None:
        assert row["stable_over_predicted"] == pytest.approx(row["lr_stable"] / row["predicted_lr_stable"])
    lo, hi = row["lr_stable_bracket"]
    if lo is not None and hi is not None:
        assert lo <= row["lr_stable"] <= hi
    assert (row["layers"], row["width"], row["norm"], row["samples"], row["steps"]) == (1, 3, norm, 4, 3)
    # lr_max: the second bisection starts from the stable bracket's lower end (the guess when there is none)
    def ends_below(lr):
        return S.ends_below_start(F.gd_trial(lambda p: M.loss_and_gradient(net, p, x, y), params, lr, 3).losses)

    top = S.bisect_threshold(ends_below, row["lr_stable_bracket"][0] or 2.0 / row["lambda_max"], 1.5)
    assert row["lr_max"] == top["value"] and row["lr_max_bracket"] == top["bracket"]


def test_lr_max_starts_from_the_stable_brackets_lower_end():
    scan = S.LrScan(layers=(1,), width=3, activation="relu", samples=4, steps=3, outputs=1, ratio=1.1)
    x, y = M.make_data("gaussian", 4, 3, 1, "relu", 1, 0)
    row = S.scan_row(scan, 1, "none", x, y)
    net = M.fim_network(1, 3, 1, 3, "relu", "none")
    params = net.draw(np.random.default_rng([0, 1, 3]))
    start = row["lr_stable_bracket"][0]
    assert start != row["predicted_lr_stable"]          # here the stable bracket moved off the guess 2 / lambda

    def ends_below(lr):
        return S.ends_below_start(F.gd_trial(lambda p: M.loss_and_gradient(net, p, x, y), params, lr, 3).losses)

    top = S.bisect_threshold(ends_below, start, 1.1)
    assert row["lr_max"] == top["value"] and row["lr_max_bracket"] == top["bracket"]


def test_mnist_theory_uses_the_measured_input_overlaps():
    scan = S.LrScan(layers=(1,), width=3, data="mnist", samples=4)
    x = np.random.default_rng(6).random((4, 784))
    t, d = x.shape
    diag = [sum(x[i] * x[i]) / d for i in range(t)]
    off = [sum(x[i] * x[j]) / d for i in range(t) for j in range(t) if i != j]
    pr = fim_predictions(order_parameters("relu", 1, 2.0, 0.0, sum(diag) / t, sum(off) / len(off)), 3, 4, 10, 784)
    assert S._theory(scan, 1, "none", x)[0] == pytest.approx(pr["lambda_max"], rel=1e-12)
    assert S._theory(scan, 1, "mean-last", x)[0] == pytest.approx(pr["lower_bound"], rel=1e-12)


def test_run_scan_on_mnist_reads_images_and_labels(monkeypatch):
    import asymexp.inputs.datasets as datasets

    images = np.random.default_rng(7).random((12, 784))
    labels = np.arange(12) % 10

    class Fake:
        def arrays(self, dtype):
            return images, labels

    monkeypatch.setattr(datasets, "load", lambda name: Fake())
    scan = S.LrScan(layers=(1,), width=3, data="mnist", samples=4, steps=1)
    doc = S.run_scan(scan)
    x, y = M.make_data("mnist", 4, 3, 10, "relu", 1, 0, pool=(images, labels))
    assert doc["rows"][0] == S.scan_row(scan, 1, "none", x, y) and doc["settings"]["outputs"] == 10


def test_run_scan_rows_and_settings():
    scan = S.LrScan(layers=(1, 2), width=3, norms=("none", "mean-last"), samples=4, steps=2, outputs=2)
    doc = S.run_scan(scan)
    assert [(r["norm"], r["layers"]) for r in doc["rows"]] == [("none", 1), ("none", 2), ("mean-last", 1),
                                                             ("mean-last", 2)]
    assert doc["settings"]["outputs"] == 2 and doc["settings"]["layers"] == (1, 2)
    x, y = M.make_data("gaussian", 4, 3, 2, "relu", 2, 0)
    assert doc["rows"][1] == S.scan_row(scan, 2, "none", x, y)


# ---- one step ----------------------------------------------------------------------------------------------

def _small(norm="none"):
    net = M.FimNetwork(2, 4, 2, 3, "tanh", norm=norm)
    params = net.draw(np.random.default_rng(2))
    rng = np.random.default_rng(3)
    return net, params, rng.standard_normal((5, 3)), rng.standard_normal((5, 2))


@pytest.mark.parametrize("norm", ["none", "bn", "mean-last"])
def test_relative_losses_are_loss_ratios_after_a_plain_step(norm):
    net, params, x, y = _small(norm)
    loss0, grads, _ = M.loss_and_gradient(net, params, x, y)
    out = O.relative_losses(net, params, x, y, [0.0, 0.05, 0.3])
    assert out["initial_loss"] == loss0 and out["layer"] == [None] * 3
    for lr, r in zip([0.0, 0.05, 0.3], out["relative_loss"]):
        stepped = [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads)]
        assert r == pytest.approx(M.loss_and_gradient(net, stepped, x, y)[0] / loss0, rel=1e-13)
        assert O.batch_loss(net, stepped, x, y)[0] == pytest.approx(M.loss_and_gradient(net, stepped, x, y)[0],
                                                                    rel=1e-14)
    stepped = O.sgd_step(params, grads, 0.5)
    for (w, b), (w0, b0), (gw, gb) in zip(stepped, params, grads):
        np.testing.assert_array_equal(w, w0 - 0.5 * gw)
        np.testing.assert_array_equal(b, b0 - 0.5 * gb)


def test_non_finite_steps_name_their_layer():
    net, params, x, y = _small()
    bad = [(w.copy(), b.copy()) for w, b in params]
    bad[1] = (bad[1][0] * np.inf, bad[1][1])
    assert O.batch_loss(net, bad, x, y) == (math.inf, 2)
    bad = [(w.copy(), b.copy()) for w, b in params]
    bad[0] = (bad[0][0] * np.nan, bad[0][1])
    assert O.batch_loss(net, bad, x, y) == (math.inf, 1)
    bad = [(w.copy(), b.copy()) for w, b in params]
    bad[2] = (bad[2][0], np.array([np.inf, 0.0]))
    assert O.batch_loss(net, bad, x, y) == (math.inf, "output")
    bad[2] = (bad[2][0], np.array([1e200, 0.0]))                   # finite output, overflowing square
    assert O.batch_loss(net, bad, x, y) == (math.inf, "loss")
    out = O.relative_losses(net, bad, x, y, [0.1, 0.2])
    assert out["grads"] is None and out["relative_loss"] == [None, None] and out["layer"] == ["loss", "loss"]
    ok = O.relative_losses(net, params, x, y, [0.1, 1e300])
    assert ok["relative_loss"][1] is None and ok["layer"][1] is not None and ok["layer"][0] is None


def test_thresholds_by_hand():
    lrs = [0.1, 0.2, 0.4, 0.8]
    assert O.EXPLODE == 1e3
    assert O.explosion_threshold(lrs, [1.0, 5.0, 1000.5, 1e9]) == {"lr": 0.4, "bracket": [0.2, 0.4]}
    assert O.explosion_threshold(lrs, [1.0, 1000.0, None, 2.0]) == {"lr": 0.4, "bracket": [0.2, 0.4]}
    assert O.explosion_threshold(lrs, [2e3, 1.0, 1.0, 1.0]) == {"lr": 0.1, "bracket": [None, 0.1]}
    assert O.explosion_threshold(lrs, [1.0] * 4) == {"lr": None, "bracket": [0.8, None]}
    assert O.first_divergence(lrs, [None, None, 2, "output"]) == {"lr": 0.4, "step": 1, "layer": 2}
    assert O.first_divergence(lrs, [None] * 4) is None


def test_moments_along_a_step_by_loops():
    net, params, x, y = _small("mean-last")
    _, grads, _ = M.loss_and_gradient(net, params, x, y)
    means, variances = O.moments_along_step(net, params, grads, x, 0.4, [0.0, 0.5, 1.0])
    assert means.shape == (3, 3)
    for i, a in enumerate([0.0, 0.5, 1.0]):
        p = [(w - a * 0.4 * gw, b - a * 0.4 * gb) for (w, b), (gw, gb) in zip(params, grads)]
        fwd = M.forward(net, p, x)
        f = fwd.outputs - fwd.outputs.mean(axis=0)
        for l, h in enumerate([fwd.inputs[1], fwd.inputs[2], f]):
            B, U = h.shape
            mu = [sum(h[t, u] for t in range(B)) / B for u in range(U)]
            var = [sum((h[t, u] - mu[u]) ** 2 for t in range(B)) / B for u in range(U)]
            assert means[i, l] == pytest.approx(sum(abs(m) for m in mu) / U, rel=1e-12, abs=1e-15)
            assert variances[i, l] == pytest.approx(sum(var) / U, rel=1e-12)


def test_gradient_statistics_by_scipy_and_histogram():
    rng = np.random.default_rng(4)
    g1 = rng.standard_t(5, size=(30, 20)) + 0.3
    g2 = np.full((3, 4), 2.0)
    g3 = np.zeros((2, 2))
    out = O.gradient_statistics([(g1, None), (g2, None), (g3, None)])
    v = g1.ravel()
    rms = math.sqrt(float(np.mean(v * v)))
    assert out[0]["rms"] == pytest.approx(rms, rel=1e-14)
    assert out[0]["excess_kurtosis"] == pytest.approx(stats.kurtosis(v, fisher=True, bias=True), rel=1e-12)
    assert out[0]["mean_share"] == pytest.approx(v.mean() ** 2 / np.mean(v * v), rel=1e-12)
    inner, _ = np.histogram(v / rms, bins=O.HIST_EDGES)
    counts = out[0]["counts"]
    assert len(counts) == 66 and sum(counts) == v.size
    assert counts[0] == int((v / rms < -8).sum()) and counts[-1] == int((v / rms >= 8).sum())
    # np.histogram's bins are [a, b) except the last, [a, b]; the statistic's are [a, b) throughout
    assert counts[1:-2] == inner[:-1].tolist()
    # entries scaled by 2^-7 (exact in binary): rms < 1, the same kurtosis, share and histogram in units of rms
    small = O.gradient_statistics([(g1 * 2.0 ** -7, None)])[0]
    assert small["counts"] == out[0]["counts"] and small["rms"] == out[0]["rms"] * 2.0 ** -7
    assert small["excess_kurtosis"] == pytest.approx(out[0]["excess_kurtosis"], rel=1e-10)
    assert small["mean_share"] == pytest.approx(out[0]["mean_share"], rel=1e-12)
    assert out[1]["excess_kurtosis"] is None and out[1]["mean_share"] == pytest.approx(1.0, rel=1e-15)
    assert out[1]["rms"] == 2.0 and out[1]["counts"][37] == 12            # entry / rms = 1: edge 36, count 37
    assert out[2]["rms"] == 0.0 and out[2]["mean_share"] is None and out[2]["counts"][33] == 4
    assert np.array_equal(O.HIST_EDGES, np.linspace(-8, 8, 65)) and O.HIST_EDGES[1] - O.HIST_EDGES[0] == 0.25
