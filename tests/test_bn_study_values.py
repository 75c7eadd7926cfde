"""The batch-normalization studies' network (asymexp.bn.model) against values computed another way
(docs/architecture.md, "Testing"): the forward pass against a per-sample loop with the activations' closed forms,
the loss by hand, its gradient against central differences of that loop, the parameter count and the draws by
hand, the data against a transcription of their recipe (docs/batchnorm.md)."""
import math

import numpy as np
import pytest

from asymexp.bn import model as M
from asymexp.errors import SpecError

_PHI = {"relu": (lambda v: max(v, 0.0), lambda v: 1.0 if v > 0 else 0.0),
        "tanh": (math.tanh, lambda v: 1.0 - math.tanh(v) ** 2),
        "sigmoid": (lambda v: 1 / (1 + math.exp(-v)), lambda v: math.exp(-v) / (1 + math.exp(-v)) ** 2)}


def _loop_forward(net, params, x, eps=M.EPS):
    """Per-sample loops: (hidden activations [h^0..h^H], slopes, zhat, outputs f after the output norm)."""
    phi, dphi = _PHI[net.activation]
    T = x.shape[0]
    h, hs, slopes, zhats = [list(map(float, row)) for row in x], [x.copy()], [], []
    for w, b in params[:-1]:
        u = [[sum(w[j, i] * h[t][i] for i in range(len(h[t]))) + b[j] for j in range(w.shape[0])] for t in range(T)]
        if net.norm == "bn":                           # per unit over the T samples
            for j in range(w.shape[0]):
                col = [u[t][j] for t in range(T)]
                m = sum(col) / T
                sd = math.sqrt(sum((v - m) ** 2 for v in col) / T + eps)
                for t in range(T):
                    u[t][j] = (col[t] - m) / sd
        elif net.norm == "ln":                         # per sample over the units
            for t in range(T):
                m = sum(u[t]) / len(u[t])
                sd = math.sqrt(sum((v - m) ** 2 for v in u[t]) / len(u[t]) + eps)
                u[t] = [(v - m) / sd for v in u[t]]
        zhats.append(np.array(u))
        slopes.append(np.array([[dphi(v) for v in row] for row in u]))
        h = [[phi(v) for v in row] for row in u]
        hs.append(np.array(h))
    w, b = params[-1]
    out = np.array([[sum(w[c, i] * h[t][i] for i in range(len(h[t]))) + b[c] for c in range(w.shape[0])]
                    for t in range(T)])
    if net.norm in ("mean-last", "bn-last"):
        out = out - out.mean(axis=0)
        if net.norm == "bn-last":
            out = out / np.sqrt((out ** 2).mean(axis=0) + eps)
    return hs, slopes, zhats, out


def _net(norm, act="tanh", layers=2, width=4, outputs=3, d=3, bias_var=0.3):
    return M.FimNetwork(layers, width, outputs, d, act, weight_var=1.7, bias_var=bias_var, norm=norm)


@pytest.mark.parametrize("norm", ["none", "bn", "ln", "mean-last", "bn-last"])
@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_forward_equals_a_per_sample_loop(norm, act):
    net = _net(norm, act)
    params = net.draw(np.random.default_rng(3))
    x = np.random.default_rng(4).standard_normal((5, 3))
    fwd = M.forward(net, params, x)
    hs, slopes, zhats, out = _loop_forward(net, params, x)
    assert len(fwd.inputs) == net.layers + 1 and len(fwd.slopes) == net.layers
    for l in range(net.layers + 1):
        np.testing.assert_allclose(fwd.inputs[l], hs[l], rtol=1e-12, atol=1e-13)
    for l in range(net.layers):
        np.testing.assert_allclose(fwd.slopes[l], slopes[l], rtol=1e-12, atol=1e-13)
        if norm in ("bn", "ln"):
            np.testing.assert_allclose(fwd.zhat[l], zhats[l], rtol=1e-12, atol=1e-13)
            axis = 0 if norm == "bn" else 1
            u = fwd.inputs[l] @ params[l][0].T + params[l][1]
            sd = np.sqrt(u.var(axis=axis, keepdims=True) + M.EPS)
            np.testing.assert_allclose(fwd.scale[l], 1.0 / sd, rtol=1e-12)
        else:
            assert fwd.zhat[l] is None and fwd.scale[l] is None
    np.testing.assert_allclose(M.output_values(net, fwd.outputs), out, rtol=1e-12, atol=1e-13)
    assert net.hidden_norm == {"bn": "batch", "ln": "layer"}.get(norm)
    assert net.output_norm == {"mean-last": "mean-only", "bn-last": "batch"}.get(norm)


def _loop_loss(net, params, x, y):
    out = _loop_forward(net, params, x)[3]
    return sum((out[t, c] - y[t, c]) ** 2 for t in range(x.shape[0]) for c in range(y.shape[1])) / (2 * x.shape[0])


@pytest.mark.parametrize("norm", ["none", "bn", "mean-last"])
@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
def test_loss_by_hand_and_gradient_by_central_differences(norm, act):
    net = _net(norm, act, layers=2, width=3, outputs=2, d=2)
    params = net.draw(np.random.default_rng(11))
    rng = np.random.default_rng(12)
    x, y = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    loss, grads, where = M.loss_and_gradient(net, params, x, y)
    assert where is None and len(grads) == len(params)
    assert loss == pytest.approx(_loop_loss(net, params, x, y), rel=1e-12)
    h = 1e-5
    for l, (w, b) in enumerate(params):
        for arr, g in ((w, grads[l][0]), (b, grads[l][1])):
            assert g.shape == arr.shape
            for idx in np.ndindex(arr.shape):
                keep = arr[idx]
                arr[idx] = keep + h
                up = _loop_loss(net, params, x, y)
                arr[idx] = keep - h
                down = _loop_loss(net, params, x, y)
                arr[idx] = keep
                # central difference: truncation ~ h^2 |L'''| ~ 1e-10, rounding ~ 1e-16 / h ~ 1e-11
                assert g[idx] == pytest.approx((up - down) / (2 * h), abs=1e-8), (l, idx)


def test_a_non_finite_forward_pass_names_its_layer():
    net = _net("none", "relu", layers=3, width=2, outputs=1, d=1, bias_var=0.0)
    params = net.draw(np.random.default_rng(1))
    x, y = np.ones((2, 1)), np.zeros((2, 1))
    params[1] = (params[1][0] * np.inf, params[1][1])      # layer 2's weights infinite
    loss, grads, where = M.loss_and_gradient(net, params, x, y)
    assert grads is None and where == 2
    with np.errstate(all="ignore"):
        fwd = M.forward(net, params, x)
    assert M.first_nonfinite(fwd, 3) == 2
    params = net.draw(np.random.default_rng(1))
    params[3] = (np.full((1, 2), np.inf), params[3][1])
    with np.errstate(all="ignore"):
        fwd = M.forward(net, params, np.full((2, 1), 5.0))
    assert M.first_nonfinite(fwd, 3) == "output"
    fwd.outputs[0, 0] = np.nan
    assert M.first_nonfinite(fwd, 3) == "output"
    fwd.outputs[0, 0] = 1.0
    fwd.outputs[:] = 1.0
    assert M.first_nonfinite(fwd, 3) is None
    fwd.inputs[1][0, 0] = np.inf
    assert M.first_nonfinite(fwd, 3) == 1
    # finite outputs whose squares overflow: the loss is not finite, no gradient, the reason "loss"
    net = _net("none", "relu", layers=1, width=2, outputs=1, d=1, bias_var=0.0)
    params = net.draw(np.random.default_rng(1))
    params[1] = (params[1][0], np.array([1e200]))
    loss, grads, where = M.loss_and_gradient(net, params, x, y)
    assert (loss, grads, where) == (math.inf, None, "loss")
    with pytest.raises(SpecError):
        M.loss_and_gradient(_net("bn-last"), _net("bn-last").draw(np.random.default_rng(0)), x, y)


def test_parameter_count_fans_and_draws_by_hand():
    net = M.FimNetwork(2, 4, 2, 3, "relu", weight_var=2.5, bias_var=0.4)
    assert net.fans == [3, 4, 4, 2]
    assert net.parameters == (3 + 1) * 4 + (4 + 1) * 4 + (4 + 1) * 2
    params = net.draw(np.random.default_rng(9))
    rng = np.random.default_rng(9)
    for (w, b), (fan_out, fan_in) in zip(params, [(4, 3), (4, 4), (2, 4)]):
        np.testing.assert_array_equal(w, rng.standard_normal((fan_out, fan_in)) * math.sqrt(2.5 / fan_in))
        np.testing.assert_array_equal(b, rng.standard_normal(fan_out) * math.sqrt(0.4))
    for name, low in (("layers", 1), ("width", 2), ("outputs", 1), ("input_dim", 1)):
        ok = dict(layers=1, width=2, outputs=1, input_dim=1)
        assert getattr(M.FimNetwork(**ok), name) == low
        with pytest.raises(SpecError):
            M.FimNetwork(**{**ok, name: low - 1})
    assert M.FimNetwork(1, 2, 1, 1, "linear").activation == "identity"
    f = M.fim_network(2, 5, 3, 4, "tanh", "mean-last", weight_var=1.5, bias_var=0.2, tool="one-step")
    assert (f.layers, f.width, f.outputs, f.input_dim, f.activation, f.weight_var, f.bias_var, f.norm) == \
        (2, 5, 3, 4, "tanh", 1.5, 0.2, "mean-last")


def test_gaussian_and_mnist_data_follow_their_recipe():
    x, y = M.make_data("gaussian", 6, 4, 2, "tanh", 2, seed=7)
    x_ref = np.random.default_rng([7, 1]).standard_normal((6, 4))
    np.testing.assert_array_equal(x, x_ref)
    teacher = M.FimNetwork(2, 4, 2, 4, "tanh")
    raw = M.forward(teacher, teacher.draw(np.random.default_rng([7, 2])), x_ref).outputs
    np.testing.assert_allclose(y, raw / raw.std(axis=0), rtol=1e-14)
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-13)
    images = np.arange(20 * 3, dtype=float).reshape(20, 3)
    labels = np.arange(20) % 10
    xm, ym = M.make_data("mnist", 5, 4, 10, "relu", 1, seed=3, pool=(images, labels))
    idx = np.random.default_rng([3, 1]).choice(20, size=5, replace=False)
    np.testing.assert_array_equal(xm, images[idx])
    assert ym.shape == (5, 10) and (ym.sum(axis=1) == 1).all() and (ym.argmax(axis=1) == labels[idx]).all()
    assert len(set(idx.tolist())) == 5
    with pytest.raises(SpecError):
        M.make_data("mnist", 21, 4, 10, "relu", 1, seed=3, pool=(images, labels))
    with pytest.raises(SpecError):
        M.make_data("cifar", 5, 4, 10, "relu", 1, seed=3)
