"""The shared forward/backward core (asymexp.nn) against central finite differences and plain NumPy."""
import numpy as np
from hypothesis import given, settings, strategies as st

from asymexp.nn import generic_kernel as K
from asymexp.nn.layout import build_layout, init_params
from asymexp.spec import NetworkSpec

gammas = st.sampled_from(["1/2", "3/5", "7/10", "3/4", "9/10", "1"])


def _loss_and_grad(lay, theta, X, Y):
    B, Kout = X.shape[0], Y.shape[0]
    Z = np.zeros((lay.n_hidden, B)); H = Z.copy(); out = np.zeros((Kout, B)); dout = out.copy()
    K.forward(theta, lay.table, lay.scales, lay.activation, X, Z, H, out)
    loss = K.mse_dout(out, Y, dout)
    grad = np.zeros_like(theta)
    K.backward(theta, lay.table, lay.scales, lay.activation, X, H, dout, grad)
    return loss, grad, out


@settings(max_examples=25, deadline=None)
@given(depth=st.integers(1, 3), data=st.data(), act=st.sampled_from(["sigmoid", "tanh"]), bias=st.booleans(),
       seed=st.integers(0, 2**31))
def test_gradient_matches_central_differences(depth, data, act, bias, seed):
    widths = data.draw(st.lists(st.integers(1, 5), min_size=depth, max_size=depth))
    gs = data.draw(st.lists(gammas, min_size=depth, max_size=depth))
    spec = NetworkSpec.from_strings(",".join(gs), ",".join(map(str, widths)), activation=act, input_dim=3,
                                    output_dim=2, bias=bias)
    lay = build_layout(spec)
    rng = np.random.default_rng(seed)
    theta = init_params(spec, rng, lay)
    X, Y = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    _, grad, _ = _loss_and_grad(lay, theta, X, Y)
    h = 1e-6
    fd = np.array([(_loss_and_grad(lay, theta + h * e, X, Y)[0] - _loss_and_grad(lay, theta - h * e, X, Y)[0]) / (2 * h)
                   for e in np.eye(theta.size)])
    # central differences: truncation O(h^2 |f'''|) ~ 1e-12, rounding ~ eps |f| / h ~ 1e-10
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-7)


def test_forward_and_sgd_step_equal_numpy_transcription():
    spec = NetworkSpec.from_strings("7/10,1", "4,3", activation="sigmoid", input_dim=3, output_dim=2, bias=True)
    lay = build_layout(spec)
    rng = np.random.default_rng(1)
    theta = init_params(spec, rng, lay)
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal((2, 5))
    W1, W2, C = (lay.block(theta, m).copy() for m in range(3))
    b1, b2, bc = (lay.bias(theta, m).copy() for m in range(3))
    sig = lambda z: 1 / (1 + np.exp(-z))
    s1, s2 = 4 ** -0.7, 3 ** -1.0
    H1 = sig(W1 @ X.T + b1[:, None]); H2 = sig(s1 * W2 @ H1 + b2[:, None]); out = s2 * C @ H2 + bc[:, None]
    e = out - Y
    dC = s2 * e @ H2.T; dbc = e.sum(1)
    d2 = s2 * C.T @ e * H2 * (1 - H2); dW2 = s1 * d2 @ H1.T; db2 = d2.sum(1)
    d1 = s1 * W2.T @ d2 * H1 * (1 - H1); dW1 = d1 @ X; db1 = d1.sum(1)
    loss, grad, out_k = _loss_and_grad(lay, theta, X, Y)
    np.testing.assert_allclose(out_k, out, rtol=1e-13, atol=1e-14)
    rates = np.array([0.1, 0.2, 0.3])
    K.sgd_update(theta, grad, lay.table, rates)
    expected = [W1 - 0.1 * dW1, b1 - 0.1 * db1, W2 - 0.2 * dW2, b2 - 0.2 * db2, C - 0.3 * dC, bc - 0.3 * dbc]
    got = [lay.block(theta, 0), lay.bias(theta, 0), lay.block(theta, 1), lay.bias(theta, 1), lay.block(theta, 2),
           lay.bias(theta, 2)]
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
