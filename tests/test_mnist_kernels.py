"""The fused MNIST kernels against central finite differences and a plain-NumPy transcription of one SGD step."""
import numpy as np
from hypothesis import given, settings, strategies as st

from asymexp import floatmath
from asymexp.mnist import epoch_kernel
from asymexp.mnist.prepare import SHIFT, sparse_images
from asymexp.nn.layout import build_layout, init_params
from asymexp.spec import NetworkSpec

gammas = st.sampled_from(["1/2", "3/5", "7/10", "3/4", "9/10", "1"])


def _random_images(rng, n, d):
    """uint8 images (n, d) with about 70% zero pixels, like MNIST."""
    img = rng.integers(0, 256, (n, d)).astype(np.uint8)
    img[rng.random((n, d)) < 0.7] = 0
    return img


def _setup(spec, seed, n, dtype=np.float64):
    rng = np.random.default_rng(seed)
    lay = build_layout(spec)
    theta = init_params(spec, rng, lay, dtype)
    imgs = _random_images(rng, n, spec.input_dim)
    labels = rng.integers(0, spec.output_dim, n)
    return lay, theta, sparse_images(imgs, labels, np.dtype(dtype).name)


def _first(theta, lay):
    w0, _, n1, d, _ = lay.table[0]
    S = np.ascontiguousarray(theta[w0:w0 + n1 * d].reshape(n1, d).T)
    return S, np.zeros(n1), S.astype(np.float64).sum(axis=0)


def _mean_loss(theta, lay, data, loss_kind):
    S, u, cs = _first(theta, lay)
    losses, pred = np.empty(data.n), np.empty(data.n, dtype=np.int64)
    epoch_kernel.evaluate(theta, lay.table, lay.scales.astype(theta.dtype), lay.activation, S, u, cs, SHIFT, data.indptr,
                   data.indices, data.values, data.vsum, data.labels, loss_kind, losses, pred)
    return losses.mean()


def _one_step(theta, lay, data, loss_kind, rates):
    """theta after one SGD step on the whole data set as one batch (W1 folded back into theta)."""
    theta = theta.copy()
    S, u, cs = _first(theta, lay)
    total, done, _, bad = epoch_kernel.train_epoch(theta, lay.table, lay.scales.astype(theta.dtype), lay.activation, S, u,
                                            cs, SHIFT, data.indptr, data.indices, data.values, data.vsum,
                                            data.labels, np.arange(data.n), data.n, rates, loss_kind)
    assert done == 1 and bad == -1
    w0, _, n1, d, _ = lay.table[0]
    theta[w0:w0 + n1 * d] = (S + u[None, :]).T.ravel()
    return theta, total


@settings(max_examples=30, deadline=None)
@given(depth=st.integers(1, 3), data=st.data(), act=st.sampled_from(["sigmoid", "tanh"]), bias=st.booleans(),
       loss=st.sampled_from(sorted(epoch_kernel.LOSSES)), seed=st.integers(0, 2**31))
def test_sgd_step_is_gradient_of_the_loss(depth, data, act, bias, loss, seed):
    """With every rate 1, theta - theta' is the gradient of the mean batch loss: compare it, for every
    parameter of every layer, with central differences of the loss (float64)."""
    widths = data.draw(st.lists(st.integers(1, 5), min_size=depth, max_size=depth))
    gs = data.draw(st.lists(gammas, min_size=depth, max_size=depth))
    d, K, n = data.draw(st.integers(2, 6)), data.draw(st.integers(2, 4)), data.draw(st.integers(1, 5))
    spec = NetworkSpec.from_strings(",".join(gs), ",".join(map(str, widths)), activation=act, input_dim=d,
                                    output_dim=K, bias=bias)
    lay, theta, images = _setup(spec, seed, n)
    kind = epoch_kernel.LOSSES[loss]
    after, total = _one_step(theta, lay, images, kind, np.ones(lay.n_layers))
    grad = theta - after
    assert np.isclose(total, _mean_loss(theta, lay, images, kind), rtol=1e-12)  # evaluate() agrees
    h = 1e-6
    eye = np.eye(theta.size)
    zero = np.zeros(lay.n_layers)  # a step with zero rates only computes the loss (sequential, cheap)
    loss = lambda th: _one_step(th, lay, images, kind, zero)[1]
    fd = np.array([(loss(theta + h * e) - loss(theta - h * e)) / (2 * h) for e in eye])
    # central differences: truncation O(h^2 |f'''|) ~ 1e-12; rounding ~ eps |f| / h ~ 1e-10 (|f| <= ~10)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)


def _numpy_step(theta, lay, X, labels, loss, rates, scales, act):
    """Plain-NumPy transcription of one SGD step, dense inputs X (n, d); returns the new theta."""
    L1 = lay.n_layers
    Ws = [lay.block(theta, m).copy() for m in range(L1)]
    bs = [None if lay.bias(theta, m) is None else lay.bias(theta, m).copy() for m in range(L1)]
    sig = (lambda z: 1 / (1 + np.exp(-z))) if act == 0 else np.tanh
    dsig = (lambda h: h * (1 - h)) if act == 0 else (lambda h: 1 - h * h)
    Hs = [X.T]
    for m in range(L1):
        a = scales[m] * Ws[m] @ Hs[-1] + (0 if bs[m] is None else bs[m][:, None])
        Hs.append(a if m == L1 - 1 else sig(a))
    out, n = Hs[-1], X.shape[0]
    Y = np.eye(out.shape[0])[:, labels]
    lse = np.log(np.exp(out - out.max(0)).sum(0)) + out.max(0)
    sm = np.exp(out - lse)
    if loss == "ce":
        e = (sm - Y) / n
    elif loss == "mse":
        e = (out - Y) / n
    else:
        g = 2 * (out - lse - Y) / out.shape[0]
        e = (g - sm * g.sum(0)) / n
    new = theta.copy()
    for m in range(L1 - 1, -1, -1):
        gW = scales[m] * e @ Hs[m].T
        back = scales[m] * Ws[m].T @ e
        lay.block(new, m)[...] = Ws[m] - rates[m] * gW
        if bs[m] is not None:
            lay.bias(new, m)[...] = bs[m] - rates[m] * e.sum(1)
        if m > 0:
            e = back * dsig(Hs[m])
    return new


def test_one_sgd_step_equals_numpy_transcription():
    spec = NetworkSpec.from_strings("7/10,1,3/5", "6,5,4", activation="sigmoid", input_dim=12, output_dim=3,
                                    bias=True, preset="paper-mnist")
    lay, theta, images = _setup(spec, 3, 7)
    rates = np.array([0.3, 0.2, 0.1, 0.05])
    X = images.dense()
    for loss, kind in epoch_kernel.LOSSES.items():
        got, _ = _one_step(theta, lay, images, kind, rates)
        want = _numpy_step(theta, lay, X, images.labels, loss, rates, lay.scales, lay.activation)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)  # float64: only rounding differs


def test_float32_step_matches_float64_to_single_precision():
    spec = NetworkSpec.from_strings("1/2,1", "8,6", activation="tanh", input_dim=20, output_dim=4, bias=True)
    lay, theta, images64 = _setup(spec, 5, 9)
    imgs = _random_images(np.random.default_rng(6), 9, 20)
    images64 = sparse_images(imgs, images64.labels, "float64")
    images32 = sparse_images(imgs, images64.labels, "float32")
    rates = np.full(lay.n_layers, 0.5)
    got32, _ = _one_step(theta.astype(np.float32), lay, images32, 0, rates)
    got64, _ = _one_step(theta, lay, images64, 0, rates)
    # float32 rounding: relative 6e-8 per operation, a few tens of operations deep -> 1e-5 absolute suffices
    np.testing.assert_allclose(got32, got64, rtol=1e-5, atol=1e-5)


def test_divergent_batch_is_reported_before_its_update():
    spec = NetworkSpec.from_strings("1", "3", input_dim=5, output_dim=2)
    lay, theta, images = _setup(spec, 1, 4)
    theta[lay.table[1, 0]] = np.inf
    before = theta.copy()
    S, u, cs = _first(theta, lay)
    total, done, _, bad = epoch_kernel.train_epoch(theta, lay.table, lay.scales, lay.activation, S, u, cs, SHIFT,
                                            images.indptr, images.indices, images.values, images.vsum,
                                            images.labels, np.arange(4), 2, np.ones(2), 1)
    assert bad == 0 and done == 0
    np.testing.assert_array_equal(theta, before)


def test_sparse_pixels_reconstruct_the_normalized_inputs():
    from asymexp.inputs.datasets import load

    ds = load()
    x, _, _, _ = ds.arrays(dtype="float64")
    sp = sparse_images(ds.train_images[:50], ds.train_labels[:50], "float64")
    # x = (p - mu) / sd versus v - mu / sd: equal up to float64 rounding of a few operations on O(3) numbers
    np.testing.assert_allclose(sp.dense(), x[:50], rtol=0, atol=1e-14)
    assert 0.7 < 1 - sp.indices.size / (50 * 784) < 0.9  # MNIST pixels are about 80% zeros


def test_fused_step_equals_shared_core_step():
    """The MNIST kernels and asymexp.nn.generic_kernel (used by the simulators) implement the same network: one mse
    step of the fused trainer equals forward + mse_dout + backward + sgd_update of the shared core."""
    from asymexp.nn import generic_kernel as K

    spec = NetworkSpec.from_strings("3/5,9/10", "7,5", activation="tanh", input_dim=15, output_dim=4, bias=True)
    lay, theta, images = _setup(spec, 11, 6)
    rates = np.array([0.4, 0.3, 0.2])
    got, _ = _one_step(theta, lay, images, epoch_kernel.LOSSES["mse"], rates)
    X = np.ascontiguousarray(images.dense())
    Y = np.eye(4)[:, images.labels]
    Z = np.zeros((lay.n_hidden, 6)); H = Z.copy(); out = np.zeros((4, 6)); dout = out.copy()
    K.forward(theta, lay.table, lay.scales, lay.activation, X, Z, H, out)
    K.mse_dout(out, Y, dout)
    grad = np.zeros_like(theta)
    K.backward(theta, lay.table, lay.scales, lay.activation, X, H, dout / 6, grad)  # mean over the batch
    want = theta.copy()
    K.sgd_update(want, grad, lay.table, rates)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)  # float64: only rounding differs


def test_float32_tanh_is_within_six_ulp():
    """The rational tanh of float32 runs against float64 tanh on a dense grid (the approximation's own error
    bound is about 6 float32 ulp; libm's tanhf is within 1.4 ulp)."""
    from numba import njit

    @njit
    def tanh32(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = floatmath.tanh_rational(x[i])
        return out

    x = np.concatenate([np.linspace(-12, 12, 40001), np.geomspace(1e-7, 9, 4001), -np.geomspace(1e-7, 9, 4001)])
    x = x.astype(np.float32)
    got = tanh32(x).astype(np.float64)
    ref = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(got - ref) / ulp) < 6.5
