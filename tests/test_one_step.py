"""asymexp one-step: one SGD step at initialization, the gradients and the input-independent fraction
(docs/batchnorm.md, "One-step divergence and gradients at initialization"). Tolerances are rounding bounds or
Monte Carlo standard errors plus derived finite-width terms; none is tuned."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymexp.bn.dual import network_theta
from asymexp.bn.jacobian import flatten
from asymexp.bn.model import EPS
from asymexp.bn.model import fim_network, loss_and_gradient
from asymexp.bn.onestep.gradient_fraction import common_fraction, fraction_theory, measure_fraction
from asymexp.bn.onestep.one_step import (EXPLODE, batch_loss, explosion_threshold, first_divergence,
                                      gradient_statistics, relative_losses, sgd_step)
from finite_differences import central_gradient   # tests/finite_differences.py

_ACT = {"relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
        "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
        "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2)}


def _plain_loss_grad(params, x, y, act, norm):
    """A plain transcription of docs/batchnorm.md: forward, the MSE loss (1/2B) sum ||f - y||^2 and the
    backward pass written out layer by layer (BN backward: (g - mean g - zhat mean(g zhat)) / sqrt(v + eps))."""
    phi, dphi = _ACT[act]
    h, cache = x, []
    for w, b in params[:-1]:
        u = h @ w.T + b
        if norm == "bn":
            mu, v = u.mean(axis=0), u.var(axis=0)
            z = (u - mu) / np.sqrt(v + EPS)
        else:
            z, v = u, None
        cache.append((h, z, v))
        h = phi(z)
    out = h @ params[-1][0].T + params[-1][1]
    f = out - out.mean(axis=0) if norm == "mean-last" else out
    B = x.shape[0]
    loss = 0.5 * np.sum((f - y) ** 2) / B
    g = (f - y) / B
    if norm == "mean-last":
        g = g - g.mean(axis=0)
    grads = [(g.T @ h, g.sum(axis=0))]
    gh = g @ params[-1][0]
    for (w, _), (h_prev, z, v) in zip(params[-2::-1], cache[::-1]):
        gz = gh * dphi(z)
        gu = (gz - gz.mean(axis=0) - z * (gz * z).mean(axis=0)) / np.sqrt(v + EPS) if norm == "bn" else gz
        grads.insert(0, (gu.T @ h_prev, gu.sum(axis=0)))
        gh = gu @ w
    return loss, grads


@pytest.mark.parametrize("norm", ["none", "bn", "mean-last"])
@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid"])
def test_one_step_relative_loss_equals_a_plain_transcription(act, norm):
    """Same weights, batch and rates: the relative loss L(theta - lr g) / L(theta) of the module against the
    transcription; both are exact up to rounding (different summation orders), hence rtol 1e-10."""
    rng = np.random.default_rng(7)
    net = fim_network(2, 5, 2, 3, act, norm, 2.0, 0.3)
    params = net.draw(rng)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    lrs = [1e-3, 1e-1, 1.0]
    res = relative_losses(net, params, x, y, lrs)
    loss0, grads = _plain_loss_grad(params, x, y, act, norm)
    assert np.isclose(res["initial_loss"], loss0, rtol=1e-12)
    for (gw, gb), (pw, pb) in zip(res["grads"], grads):
        assert np.allclose(gw, pw, rtol=1e-10, atol=1e-14) and np.allclose(gb, pb, rtol=1e-10, atol=1e-14)
    for lr, rel in zip(lrs, res["relative_loss"]):
        after = [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads)]
        assert np.isclose(rel, _plain_loss_grad(after, x, y, act, norm)[0] / loss0, rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(act=st.sampled_from(["relu", "tanh", "sigmoid"]), norm=st.sampled_from(["none", "bn", "mean-last"]),
       layers=st.integers(1, 3), width=st.integers(3, 5), batch=st.integers(3, 5), seed=st.integers(0, 2 ** 16))
def test_gradient_matches_central_differences(act, norm, layers, width, batch, seed):
    """The gradient of the step against central differences with step h = 1e-6: truncation h^2 |L'''| / 6 ~ 1e-12
    and rounding eps |L| / h ~ 1e-10 |L|, so rtol 1e-6 with atol 1e-7 max(1, |L|) is outside both. s_b^2 = 0.5:
    with zero biases a sample whose relu units are all dead puts the next pre-activation exactly on the kink,
    where the loss has no derivative."""
    rng = np.random.default_rng(seed)
    net = fim_network(layers, width, 1, width, act, norm, 2.0, 0.5)
    params = net.draw(rng)
    x, y = rng.standard_normal((batch, width)), rng.standard_normal((batch, 1))
    res = relative_losses(net, params, x, y, [])
    g, fd = flatten(res["grads"]), central_gradient(net, params, x, y)
    assert np.allclose(g, fd, rtol=1e-6, atol=1e-7 * max(1.0, res["initial_loss"]))


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid"])
def test_fraction_vanishes_with_mean_last_by_construction(act):
    """1^T P Theta P 1 = 0 exactly: what remains is rounding, below 8 B eps max|Theta| / D (B^2 sums of entries
    each off by ~2 B eps max|Theta|, divided by B^2 D). The same networks without mean-last are far above it."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((16, 32))
        for norm in ("mean-last", "none"):
            net = fim_network(3, 32, 2, 32, act, norm, 2.0, 0.2)
            theta, _, _ = network_theta(net, net.draw(np.random.default_rng([seed, 3])), x)
            frac = common_fraction(theta, 16, 2)
            d = np.trace(theta) / theta.shape[0]
            bound = 8 * 16 * np.finfo(float).eps * np.abs(theta).max() / d
            if norm == "mean-last":
                assert abs(frac) <= bound
            else:
                assert frac > 1e6 * bound and frac >= 1 / 16 - 1e-12


def test_fraction_matches_the_theory_for_a_one_hidden_layer_relu_net():
    """relu, H = 1, s_w^2 = 2, s_b^2 = 0, M = d = 256, B = 32, 40 seeds. At finite width the off-diagonal dual
    has E Theta_st = K2 + 1/pi + O(1/M) (the input overlap x_s . x_t correlates with the arc-cosine factor:
    2 E[(pi - theta)/(2 pi) x_s . x_t] = 1/pi, docs/batchnorm.md) while E tr Theta / B = K1 exactly; so the
    expected fraction is theory + (B - 1)/B / (pi K1), up to |O(1/M)| <= 1 in Theta (1/K1 in the fraction) and the
    bias of a ratio of random variables, bounded by sd(N) sd(D) / E D^2 + E N Var D / E D^3 from the seeds.
    Tolerance: that, plus 4 Monte Carlo SE. (kappa2/kappa1 itself, 0.159, is 0.03 away: the test can fail.)"""
    M, B = 256, 32
    th = fraction_theory("relu", 1, M, B, M)
    m = measure_fraction("relu", 1, M, B, "none", range(40))
    k1 = 2 * M + 2
    n, d = np.array(m["numerators"]), np.array(m["denominators"])
    ratio_bias = n.std() * d.std() / d.mean() ** 2 + n.mean() * d.var() / d.mean() ** 3
    expected = th["theory"] + (B - 1) / B / (math.pi * k1)
    tol = 4 * m["fraction_se"] + ratio_bias + 1 / k1 + th["theory_error"]
    assert abs(th["kappa_ratio"] - 1 / (2 * math.pi)) < 1e-12              # kappa2/kappa1 = (1/pi) / 2
    assert abs(m["fraction"] - expected) <= tol
    assert abs(m["fraction"] - th["kappa_ratio"]) > tol


@pytest.mark.parametrize("norm", ["none", "bn", "mean-last"])
def test_forward_only_loss_is_the_loss_of_lr_scan(norm):
    """batch_loss (no backward) against loss_and_gradient, bit for bit (the same forward and formula), and the
    same non-finite layer after an overflowing step."""
    rng = np.random.default_rng(5)
    net = fim_network(4, 6, 2, 6, "relu", norm)
    params = net.draw(rng)
    x, y = rng.standard_normal((5, 6)), rng.standard_normal((5, 2))
    loss, grads, _ = loss_and_gradient(net, params, x, y)
    for lr in (0.0, 0.3, 1e300):
        p = sgd_step(params, grads, lr)
        ref, _, where = loss_and_gradient(net, p, x, y)
        got, got_where = batch_loss(net, p, x, y)
        assert got_where == where and (where is not None or got == ref)


@pytest.mark.parametrize("norm, power", [("none", 6), ("mean-last", 6), ("bn", 2)])
def test_relative_loss_grows_like_the_derived_power_of_the_rate(norm, power):
    """For lr -> infinity theta - lr g ~ -lr g. A relu net without normalization is positively homogeneous of
    degree L in its weights at leading order (biases add lower powers), so f ~ lr^L and the loss ~ lr^(2L); with
    bn every hidden layer is scale-invariant and only the output layer grows: loss ~ lr^2 (docs/batchnorm.md).
    H = 2 (L = 3): slopes 6, 6, 2 of log10 L against log10 lr; the next order is down by about 1 / (lr |g|), so
    between lr = 1e10 and 1e11 the slope is exact to far below 1e-3."""
    rng = np.random.default_rng(11)
    net = fim_network(2, 16, 1, 16, "relu", norm)
    params = net.draw(rng)
    x, y = rng.standard_normal((8, 16)), rng.standard_normal((8, 1))
    lo, hi = relative_losses(net, params, x, y, [1e10, 1e11])["relative_loss"]
    assert abs(math.log10(hi / lo) - power) < 1e-3


def test_divergence_is_recorded_not_raised():
    """A step large enough to overflow a deep relu net gives None and the first non-finite layer, no exception."""
    rng = np.random.default_rng(2)
    net = fim_network(6, 8, 1, 8, "relu", "none")
    params = net.draw(rng)
    x, y = rng.standard_normal((8, 8)), rng.standard_normal((8, 1))
    lrs = [1e-3, 1e60, 1e300]
    res = relative_losses(net, params, x, y, lrs)
    assert res["relative_loss"][0] is not None and res["relative_loss"][2] is None
    div = first_divergence(lrs, res["layer"])
    assert div is not None and div["step"] == 1 and div["layer"] in list(range(1, 7)) + ["output", "loss"]
    assert explosion_threshold(lrs, res["relative_loss"])["lr"] <= 1e60


def test_explosion_threshold_and_divergence_on_synthetic_curves():
    lrs = [0.1, 1.0, 10.0, 100.0]
    assert explosion_threshold(lrs, [0.5, 2.0, EXPLODE * 2, None]) == {"lr": 10.0, "bracket": [1.0, 10.0]}
    assert explosion_threshold(lrs, [0.5, EXPLODE, 3.0, 4.0]) == {"lr": None, "bracket": [100.0, None]}
    assert explosion_threshold(lrs, [None, 1.0, 1.0, 1.0])["bracket"] == [None, 0.1]
    assert first_divergence(lrs, [None, None, 3, "output"]) == {"lr": 10.0, "step": 1, "layer": 3}


def test_gradient_statistics_of_a_known_array():
    g = np.array([[1.0, -1.0], [1.0, -1.0]])
    (s,) = gradient_statistics([(g, np.zeros(2))])
    assert s["rms"] == 1.0 and s["excess_kurtosis"] == -2.0 and s["mean_share"] == 0.0
    assert sum(s["counts"]) == 4


def _main(argv):
    from asymexp.cli import main

    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["one-step"] + argv))
    return exc.value.code


TINY = ["--layers", "2", "--width", "6", "--batch", "4", "--lr-points", "5", "--seeds", "2",
        "--fraction-layers", "1", "--fraction-activations", "relu,tanh", "--fraction-bias-vars", "0"]


def test_cli_json_report_and_figures(tmp_path, capsys):
    assert _main(TINY + ["--lr-max", "1e300", "--json", "--out", str(tmp_path)]) == 0
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert "one-step: seed 0, none" in cap.err
    assert {t["norm"] for t in doc["thresholds"]} == {"none", "bn", "mean-last"}
    runs = [r for r in doc["runs"] if r["norm"] == "none"]
    assert all(r["divergence"] and r["divergence"]["step"] == 1 for r in runs)     # 1e300 overflows: recorded
    assert doc["fraction"][-1]["norm"] == "mean-last" and abs(doc["fraction"][-1]["fraction"]) < 1e-12
    assert len(doc["heatmap"]["channel_variance"]["none"]["log10"]) == 11
    for name in ("result.json", "report.md") + tuple(f"one_step_{k}.{e}" for k in ("loss", "heatmap", "gradients",
                                                                                    "fraction") for e in ("png", "pdf")):
        assert (tmp_path / name).is_file()
    json.loads((tmp_path / "result.json").read_text())          # strict JSON: no NaN
    assert "NaN" not in (tmp_path / "result.json").read_text()


@pytest.mark.parametrize("argv, names", [
    (["--batch", "1", "--norm", "bn"], "batch = 1 is not allowed with norm bn"),
    (["--batch", "1", "--norm", "none"], "batch = 1"),
    (["--layers", "0"], "layers = 0"),
    (["--width", "1"], "width = 1"),
    (["--norm", "ln"], "norm 'ln'"),
    (["--seeds", "1"], "seeds = 1"),
    (["--lr-points", "1"], "lr_points = 1"),
    (["--lr-min", "10", "--lr-max", "1"], "lr range"),
    (["--lr-min", "nan"], "--lr-min 'nan'"),
    (["--weight-var", "-1"], "weight_var = -1.0"),
    (["--fraction-layers", "1,x"], "'x'"),
    (["--fraction-bias-vars", "-0.5"], "fraction bias variance = -0.5"),
    (["--fraction-activations", "softplus"], "'softplus'"),
    (["--width", "100000000"], "the one-step study needs"),
    (["--seeds", "100000", "--width", "1024", "--layers", "16"], "above the work limit"),
])
def test_bad_input_is_one_line_and_exit_2(argv, names, capsys):
    base = ["--layers", "2", "--width", "6", "--batch", "4", "--seeds", "2"]
    assert _main(base + argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and names in err and "Traceback" not in err
