"""The trainer's normalization, initialization and optimizer options (docs/mnist.md, "Normalization,
initialization, optimizer"): gradients against finite differences, one step against a plain-NumPy transcription,
the mean-last centring, resume, refusals, the initial variances (tiny nets, float64 where numbers are compared)."""
import copy
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.cli import main
from asymexp.errors import DivergenceError, SpecError
from asymexp.kernel_codes import Act
from asymexp.mnist import mnist_grid, norm_kernel
from asymexp.mnist.epoch_kernel import LOSSES
from asymexp.mnist.norm_net import NormNet, init_theta, weight_std
from asymexp.mnist.train import CHECKPOINT, TrainConfig, _same_run, build_spec, load_checkpoint, \
    load_norm_state, train
from asymexp.nn.layout import build_layout, init_params
from asymexp.spec import NetworkSpec

EPS = np.finfo(np.float64).eps
SMALL = dict(widths="8,6", gammas="0.7,1", n_train=400, n_test=200, lr_scale=20.0)


def _net(depth, widths, gammas, d, K, n, act, bias, norm, placement, seed):
    spec = NetworkSpec.from_strings(",".join(gammas), ",".join(map(str, widths)), activation=act, input_dim=d,
                                    output_dim=K, bias=bias, preset="paper-mnist")
    lay = build_layout(spec)
    rng = np.random.default_rng(seed)
    theta = init_params(spec, rng, lay, np.float64)
    net = NormNet(lay, norm, placement, np.float64)
    for s in net.states:  # away from the initial values, so that they matter (mean-last has no gamma, beta)
        if norm != "mean-last":
            s.gamma[:] = rng.uniform(0.5, 1.5, s.gamma.size)
            s.beta[:] = rng.normal(0, 0.5, s.beta.size)
        s.running_mean[:] = rng.normal(0, 0.5, s.gamma.size)
        s.running_var[:] = rng.uniform(0.5, 2, s.gamma.size)
    X = rng.normal(0, 1, (n, d))
    labels = rng.integers(0, K, n)
    return lay, theta, net, X, labels


def _loss(net, theta, X, labels, kind):
    """The mean batch loss in train mode (batch statistics), running statistics untouched."""
    out, _ = net.forward(theta, X, train=True, update_running=False)
    return norm_kernel.loss_rows(out, labels, kind, 1.0 / X.shape[0], np.empty_like(out),
                                 np.empty(X.shape[0], dtype=np.int64)) / X.shape[0]


def _params(net):
    """The trained normalization parameters (gamma, beta of the hidden norms) as views."""
    return [a for s in net.states for a in (s.gamma, s.beta)] if net.norm != "mean-last" else []


@settings(max_examples=20, deadline=None)
@given(depth=st.integers(1, 2), data=st.data(), act=st.sampled_from(["sigmoid", "tanh"]), bias=st.booleans(),
       norm=st.sampled_from(["bn", "ln", "mean-last"]), placement=st.sampled_from(["pre", "post"]),
       loss=st.sampled_from(sorted(LOSSES)), seed=st.integers(0, 2**31))
def test_step_is_gradient_of_the_normalized_loss(depth, data, act, bias, norm, placement, loss, seed):
    """With every rate 1 the step's change of each parameter (weights, biases, gamma, beta) is the gradient of the
    mean batch loss of the batch function (statistics included): central differences, tolerance from their own
    error estimate (the change between steps h and 2h, plus rounding eps |f| / h)."""
    widths = data.draw(st.lists(st.integers(2, 4), min_size=depth, max_size=depth))
    gammas = data.draw(st.lists(st.sampled_from(["1/2", "7/10", "1"]), min_size=depth, max_size=depth))
    d, K, n = data.draw(st.integers(2, 4)), data.draw(st.integers(2, 3)), data.draw(st.integers(3, 5))
    placement = placement if norm != "mean-last" else "pre"
    lay, theta, net, X, labels = _net(depth, widths, gammas, d, K, n, act, bias, norm, placement, seed)
    kind = LOSSES[loss]
    after, net_after = theta.copy(), copy.deepcopy(net)
    f0 = net_after.step(after, X, labels, np.ones(lay.n_layers), kind)
    assert f0 == pytest.approx(_loss(net, theta, X, labels, kind), rel=1e-13)
    grads = [theta - after] + [a - b for a, b in zip(_params(net), _params(net_after))]
    for arr, grad in zip([theta] + _params(net), grads):
        fd = {}
        for h in (1e-5, 2e-5):
            col = np.empty(arr.size)
            for i in range(arr.size):
                keep = arr[i]
                arr[i] = keep + h
                up = _loss(net, theta, X, labels, kind)
                arr[i] = keep - h
                down = _loss(net, theta, X, labels, kind)
                arr[i] = keep
                col[i] = (up - down) / (2 * h)
            fd[h] = col
        err = np.abs(fd[1e-5] - fd[2e-5]) / 3 + 8 * EPS * (1 + abs(f0)) / 1e-5  # Richardson + rounding
        assert np.all(np.abs(grad - fd[1e-5]) <= 10 * err), (norm, placement, grad - fd[1e-5], err)


def _numpy_bn(Z, gamma, beta, axis, eps=1e-5):
    mu = Z.mean(axis, keepdims=True)
    inv = 1 / np.sqrt(((Z - mu) ** 2).mean(axis, keepdims=True) + eps)
    xhat = (Z - mu) * inv
    return gamma * xhat + beta, (xhat, inv, axis)


def _numpy_bn_back(dY, cache, gamma):
    xhat, inv, axis = cache
    dx = dY * gamma
    dZ = inv * (dx - dx.mean(axis, keepdims=True) - xhat * (dx * xhat).mean(axis, keepdims=True))
    return dZ, (dY * xhat).sum(0), dY.sum(0)


def _numpy_step(lay, theta, states, X, labels, rates, norm, placement, act):
    """Plain NumPy (float64, batch-major, ce) transcription of one SGD step of the normalized network (sigmoid or
    relu): returns (theta, [[gamma, beta, running_mean, running_var], ...]) after the step."""
    if act == "sigmoid":
        sig, dsig = (lambda z: 1 / (1 + np.exp(-z))), (lambda h: h * (1 - h))
    else:
        sig, dsig = (lambda z: np.maximum(z, 0)), (lambda h: (h > 0) * 1.0)
    theta = theta.copy()
    st_ = [[a.copy() for a in (s.gamma, s.beta, s.running_mean, s.running_var)] for s in states]
    L1, B = lay.n_layers, X.shape[0]
    Ws = [lay.block(theta, m).copy() for m in range(L1)]
    bs = [lay.bias(theta, m).copy() for m in range(L1)]
    H, inputs, caches, acts = X, [X], {}, {}
    for m in range(L1):
        Z = lay.scales[m] * H @ Ws[m].T + bs[m]
        if m == L1 - 1:
            if norm == "mean-last":
                st_[0][2] = 0.9 * st_[0][2] + 0.1 * Z.mean(0)
                Z = Z - Z.mean(0)
            out = Z
            break
        if norm not in ("bn", "ln"):
            H = sig(Z)
            inputs.append(H)
            continue
        g, b, rm, rv = st_[m]
        if placement == "post":
            Z = acts[m] = sig(Z)
        if norm == "bn":
            st_[m][2], st_[m][3] = 0.9 * rm + 0.1 * Z.mean(0), 0.9 * rv + 0.1 * Z.var(0, ddof=1)
        Y, caches[m] = _numpy_bn(Z, g, b, 0 if norm == "bn" else 1)
        H = sig(Y) if placement == "pre" else Y
        inputs.append(H)
    p = np.exp(out - out.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    e = (p - np.eye(out.shape[1])[labels]) / B
    if norm == "mean-last":
        e = e - e.mean(0)
    for m in range(L1 - 1, -1, -1):
        s = lay.scales[m]
        back = s * e @ Ws[m]
        lay.block(theta, m)[...] = Ws[m] - rates[m] * s * e.T @ inputs[m]
        lay.bias(theta, m)[...] = bs[m] - rates[m] * e.sum(0)
        if m == 0:
            break
        j = m - 1
        if norm not in ("bn", "ln"):
            e = back * dsig(inputs[m])
            continue
        if placement == "pre":
            e, dg, db = _numpy_bn_back(back * dsig(inputs[m]), caches[j], st_[j][0])
        else:
            dA, dg, db = _numpy_bn_back(back, caches[j], st_[j][0])
            e = dA * dsig(acts[j])
        st_[j][0], st_[j][1] = st_[j][0] - rates[j] * dg, st_[j][1] - rates[j] * db
    return theta, st_


@pytest.mark.parametrize("norm,placement,act", [("bn", "pre", "sigmoid"), ("bn", "post", "sigmoid"),
                                                ("mean-last", "pre", "sigmoid"), ("ln", "pre", "sigmoid"),
                                                ("bn", "pre", "relu"), ("ln", "post", "relu")])
def test_one_step_equals_numpy_transcription(norm, placement, act):
    lay, theta, net, X, labels = _net(2, [5, 4], ["7/10", "1"], 6, 3, 7, "sigmoid", True, norm, placement, 11)
    if act == "relu":  # the trainer's relu (the spec refuses it; train() sets the layout's code the same way)
        net.kind = int(Act.RELU)
    rates = np.array([0.3, 0.2, 0.1])
    want_theta, want_states = _numpy_step(lay, theta, net.states, X, labels, rates, norm, placement, act)
    net.step(theta, X, labels, rates, LOSSES["ce"])
    # float64 on a tiny net: each number passes through at most a few hundred roundings (reassociated sums of
    # <= 7 terms, a few layers), so 1000 eps relative to the magnitudes involved bounds the difference
    tol = 1e3 * EPS
    np.testing.assert_allclose(theta, want_theta, rtol=tol, atol=tol)
    for s, (g, b, rm, rv) in zip(net.states, want_states):
        for got, want in ((s.gamma, g), (s.beta, b), (s.running_mean, rm), (s.running_var, rv)):
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert np.abs(theta - _net(2, [5, 4], ["7/10", "1"], 6, 3, 7, "sigmoid", True, norm, placement, 11)[1]).max() > 1e-4


def test_mean_last_output_has_zero_batch_mean_and_eval_subtracts_running_mean():
    lay, theta, net, X, labels = _net(2, [5, 4], ["1/2", "1"], 6, 3, 9, "tanh", True, "mean-last", "pre", 2)
    rm = net.states[0].running_mean.copy()
    net.states[0].running_mean[:] = 0.0
    raw, _ = net.forward(theta, X, train=False)  # eval with running mean 0: the raw output pre-activation
    net.states[0].running_mean[:] = rm
    out, _ = net.forward(theta, X, train=True, update_running=True)
    bound = 4 * X.shape[0] * EPS * np.abs(raw).max()  # rounding of a mean of n terms and one subtraction
    assert np.abs(out.mean(0)).max() <= bound and np.abs(raw.mean(0)).min() > 1e3 * bound
    np.testing.assert_allclose(out, raw - raw.mean(0), rtol=0, atol=bound)
    np.testing.assert_allclose(net.states[0].running_mean, 0.9 * rm + 0.1 * raw.mean(0), rtol=0, atol=bound)
    ev, _ = net.forward(theta, X, train=False)
    np.testing.assert_allclose(ev, raw - net.states[0].running_mean, rtol=0, atol=bound)


def test_resume_with_batch_norm_is_bit_identical(tmp_path):
    cfg = TrainConfig(epochs=3, shuffle=True, seed=4, norm="bn", **SMALL)
    full = list(train(cfg, tmp_path / "a"))
    list(train(TrainConfig(epochs=1, shuffle=True, seed=4, norm="bn", **SMALL), tmp_path / "b"))
    resumed: list = []
    rest = list(train(cfg, tmp_path / "b", resumed=resumed))
    strip = lambda h: [{k: v for k, v in r.items() if "seconds" not in k} for r in h]  # noqa: E731
    assert [r["epoch"] for r in rest] == [2, 3] and strip(resumed + rest) == strip(full)
    a, b = (load_checkpoint(tmp_path / x / CHECKPOINT)[0] for x in "ab")
    assert np.array_equal(a, b)
    na, nb = (load_norm_state(tmp_path / x / CHECKPOINT) for x in "ab")
    assert np.array_equal(na, nb) and na.size == 4 * (8 + 6) and not np.array_equal(na[:8], np.ones(8))


def test_new_options_enter_the_identity_only_when_not_default(tmp_path):
    assert set(TrainConfig().identity()).isdisjoint({"norm", "norm_placement", "init", "optimizer"})
    assert TrainConfig(norm="bn").identity()["norm"] == "bn"
    old = {k: v for k, v in TrainConfig(**SMALL).identity().items()}  # a checkpoint written before the options
    assert _same_run(old, TrainConfig(**SMALL)) == []
    assert _same_run(old, TrainConfig(norm="mean-last", **SMALL)) == ["norm"]
    list(train(TrainConfig(epochs=1, norm="ln", **SMALL), tmp_path))
    with pytest.raises(Exception, match="norm differ"):
        list(train(TrainConfig(epochs=1, **SMALL), tmp_path))


def test_batch_norm_with_batch_one_exits_2_with_one_line(capsys):
    assert main(["mnist", "--gammas", "1", "--widths", "4", "--norm", "bn", "--batch", "1", "--n-train", "10",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--norm bn with --batch 1" in err
    with pytest.raises(SpecError, match="last batch of 1"):
        list(train(TrainConfig(norm="mean-last", batch=20, gammas="1", widths="4", n_train=41, n_test=10)))
    with pytest.raises(SpecError, match="--norm-placement post applies to --norm bn or ln"):
        build_spec(TrainConfig(norm="mean-last", norm_placement="post"))
    with pytest.raises(SpecError, match="--norm ln with --widths 4,1 is not allowed"):
        build_spec(TrainConfig(norm="ln", gammas="1,1", widths="4,1"))
    with pytest.raises(SpecError, match="--init 'lecun' is unknown; allowed: paper, he, xavier"):
        build_spec(TrainConfig(init="lecun"))


@pytest.mark.parametrize("init", ["he", "xavier"])
def test_initial_weights_have_the_documented_variance(init):
    spec = build_spec(TrainConfig(gammas="1,1", widths="100,50"))
    lay = build_layout(spec)
    theta = init_theta(spec, np.random.default_rng(7), lay, np.float64, init)
    for m in range(lay.n_layers):
        w = lay.block(theta, m).ravel()
        no, ni = lay.table[m, 2], lay.table[m, 3]
        var = weight_std(init, ni, no) ** 2
        assert var == pytest.approx(2 / ni if init == "he" else 2 / (ni + no), rel=1e-15)
        se = var * np.sqrt(2 / (w.size - 1))  # SE of a normal sample variance
        assert abs(w.var(ddof=1) - var) < 4 * se and abs(w.mean()) < 4 * np.sqrt(var / w.size)
    paper = init_theta(spec, np.random.default_rng(7), lay, np.float32, "paper")
    assert np.array_equal(paper, init_params(spec, np.random.default_rng(7), lay, np.float32))


def test_full_batch_gd_is_sgd_with_one_batch_of_everything():
    kw = dict(epochs=2, gammas="1", widths="6", n_train=150, n_test=50, lr_scale=5.0)
    gd = list(train(TrainConfig(optimizer="gd", **kw)))
    sgd = list(train(TrainConfig(batch=150, **kw)))
    assert [r["train_loss"] for r in gd] == [r["train_loss"] for r in sgd]
    bn = list(train(TrainConfig(optimizer="gd", norm="bn", **kw)))
    assert len(bn) == 2 and bn[1]["train_loss_running"] < bn[0]["train_loss_running"]


def test_relu_trains_on_both_paths():
    for norm in ("none", "bn"):
        rec = list(train(TrainConfig(epochs=1, activation="relu", init="he", norm=norm,
                                     **{**SMALL, "lr_scale": 1.0})))[-1]
        assert rec["train_acc"] > 0.2  # chance is 0.1, with a standard error of 0.015 on 400 images
    assert TrainConfig(activation="relu", **SMALL).canonical_identity()["activation"] == "relu"


def test_divergence_of_a_normalized_net_names_epoch_step_and_layer(tmp_path):
    cfg = TrainConfig(epochs=2, loss="mse", norm="ln", **{**SMALL, "lr_scale": 1e30})
    with pytest.raises(DivergenceError, match=r"diverged at epoch 1, step \d+ of 20: .*(layer|largest)"):
        list(train(cfg, tmp_path))


def test_sweep_passes_the_options_through(tmp_path):
    import argparse

    parser = argparse.ArgumentParser()
    mnist_grid.add_arguments(parser)
    args = parser.parse_args(["--layers", "2", "--norm", "mean-last", "--init", "he"])
    args.grid, args.out, args.seeds = ["gammas=0.5,1"], str(tmp_path), "0"
    tasks, _ = mnist_grid.build_tasks(args)
    assert {(t.params["config"]["norm"], t.params["config"]["init"]) for t in tasks} == {("mean-last", "he")}
    params, _ = mnist_grid.folder_identity(args)
    assert params["norm"] == "mean-last" and "optimizer" not in params
    json.dumps(params)
