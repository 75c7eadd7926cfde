"""The Monte Carlo simulators (asymexp.sim) against a plain-NumPy transcription of the same update rules,
the fused kernel against the shared core, thread-count and chunking independence, and the learning rates."""
from fractions import Fraction

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.errors import AsymexpError
from asymexp import floatmath
from asymexp.nn import shallow_kernel
from asymexp.nn import generic_kernel
from asymexp.nn.layout import build_layout, init_params
from asymexp.sim import SimError, initial_parameters, simulate
from asymexp.symbolic.rules import rules_for
from asymexp.spec import NetworkSpec

X = np.array([[0.1, -0.3, 1.0], [0.8, 0.4, 1.0], [-0.6, 0.7, 1.0], [-0.2, -0.9, 1.0]])
Y = np.array([0.5, -0.2, 0.3, 0.8])
PTS = np.vstack([X, [[0.2, 0.2, 1.0]]])


def _act(kind):
    if kind == "tanh":
        return np.tanh, lambda h: 1 - h * h
    return (lambda z: 1 / (1 + np.exp(-z))), (lambda h: h * (1 - h))


def numpy_output(spec, theta, pts):
    """g(x) for every row of pts, by the formulas of docs/theory/1-network.md."""
    lay = build_layout(spec)
    act, _ = _act(spec.activation)
    H = act(lay.block(theta, 0) @ pts.T)
    for m in range(1, lay.n_layers):
        A = lay.scales[m] * (lay.block(theta, m) @ H)
        H = A if m == lay.n_layers - 1 else act(A)
    return H[0]


def numpy_grad(spec, theta, xs, ys):
    """Gradient of mean_b 1/2 (g(x_b) - y_b)^2, transcribed by hand (no biases, one output)."""
    lay = build_layout(spec)
    act, dact = _act(spec.activation)
    Hs = [xs.T]
    H = act(lay.block(theta, 0) @ xs.T)
    Hs.append(H)
    for m in range(1, lay.n_layers - 1):
        H = act(lay.scales[m] * (lay.block(theta, m) @ H))
        Hs.append(H)
    out = lay.scales[-1] * (lay.block(theta, lay.n_layers - 1) @ H)
    delta = (out - ys[None, :]) / xs.shape[0]
    grad = np.zeros_like(theta)
    for m in range(lay.n_layers - 1, -1, -1):
        s = lay.scales[m]
        w0, _, no, ni, _ = lay.table[m]
        grad[w0:w0 + no * ni] = (s * delta @ Hs[m].T).ravel()
        if m > 0:
            delta = s * (lay.block(theta, m).T @ delta) * dact(Hs[m])
    return grad


def numpy_train(spec, theta, dynamics, t, idx=None, dt=None):
    lay = build_layout(spec)
    sizes = [lay.table[m, 2] * lay.table[m, 3] for m in range(lay.n_layers)]
    rates = np.repeat(rules_for(spec).learning_rates(spec.widths), sizes)
    NL = spec.widths[-1]
    theta = theta.copy()
    if dynamics == "gd":
        for _ in range(round(t * NL)):
            theta -= rates * numpy_grad(spec, theta, X, Y)
    elif dynamics == "sgd":
        for k in range(round(t * NL)):
            m = idx[k]
            theta -= rates * numpy_grad(spec, theta, X[m:m + 1], Y[m:m + 1])
    else:
        f = lambda th: -NL * rates * numpy_grad(spec, th, X, Y)  # noqa: E731
        for _ in range(round(t / dt)):
            k1 = f(theta); k2 = f(theta + dt / 2 * k1); k3 = f(theta + dt / 2 * k2); k4 = f(theta + dt * k3)
            theta = theta + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return theta


@pytest.mark.parametrize("gammas,widths,act", [("3/4", "6", "tanh"), ("3/5", "5", "sigmoid"),
                                               ("7/10,9/10", "4,5", "sigmoid"), ("1/2,3/4,1", "3,4,3", "tanh")])
@pytest.mark.parametrize("dynamics", ["gd", "sgd", "flow"])
def test_simulator_equals_numpy_transcription(gammas, widths, act, dynamics):
    spec = NetworkSpec.from_strings(gammas, widths, activation=act, input_dim=3)
    NL = spec.widths[-1]
    t, dt = 1.0, 1.0 / (2 * NL)
    res = simulate(spec, X, Y, PTS, [0.5, t], replicas=4, seed=3, dynamics=dynamics, flow_dt=dt, antithetic=True)
    lay = build_layout(spec)
    thetas, idx = initial_parameters(spec, lay, 3, 0, 4, True, round(t * NL) if dynamics == "sgd" else 0, 4)
    for r in range(4):
        np.testing.assert_allclose(res.g0[r], numpy_output(spec, thetas[r], PTS), rtol=1e-12, atol=1e-14)
        final = numpy_train(spec, thetas[r], dynamics, t, idx[r], dt)
        # identical update rule, different summation order: agreement to rounding (~1e-15 per step)
        np.testing.assert_allclose(res.outputs[r, 1], numpy_output(spec, final, PTS), rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 9), act=st.sampled_from(["sigmoid", "tanh"]), g=st.sampled_from(["1/2", "3/4", "1"]),
       seed=st.integers(0, 2**31), B=st.integers(1, 5))
def test_fused_kernel_equals_generic_core(n, act, g, seed, B):
    spec = NetworkSpec.from_strings(g, str(n), activation=act, input_dim=3)
    lay = build_layout(spec)
    rng = np.random.default_rng(seed)
    theta = init_params(spec, rng, lay)
    Xb = rng.standard_normal((B, 3))
    outs, grads = [], []
    for mod in (generic_kernel, shallow_kernel):
        Z, H = np.zeros((n, B)), np.zeros((n, B))
        out, grad = np.zeros((1, B)), np.zeros_like(theta)
        mod.forward(theta, lay.table, lay.scales, lay.activation, Xb, Z, H, out)
        dout = out - 0.3
        mod.backward(theta, lay.table, lay.scales, lay.activation, Xb, H, dout, grad)
        outs.append(out)
        grads.append(grad)
    assert shallow_kernel.qualifies(lay)
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-15)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 9), act=st.sampled_from(["sigmoid", "tanh"]), d=st.sampled_from([2, 3, 5]),
       seed=st.integers(0, 2**31), B=st.integers(1, 5))
def test_fused_backward_update_is_backward_then_sgd_update_bitwise(n, act, d, seed, B):
    """The fused step applies the same update expression to the same gradient values: equal bits."""
    spec = NetworkSpec.from_strings("3/4", str(n), activation=act, input_dim=d)
    lay = build_layout(spec)
    rng = np.random.default_rng(seed)
    theta = init_params(spec, rng, lay)
    Xb = rng.standard_normal((B, d))
    rates = rng.uniform(0.1, 2.0, 2)
    Z, H, out = np.zeros((n, B)), np.zeros((n, B)), np.zeros((1, B))
    shallow_kernel.forward(theta, lay.table, lay.scales, lay.activation, Xb, Z, H, out)
    dout = out - 0.3
    a, b = theta.copy(), theta.copy()
    grad = np.zeros_like(theta)
    shallow_kernel.backward(a, lay.table, lay.scales, lay.activation, Xb, H, dout, grad)
    generic_kernel.sgd_update(a, grad, lay.table, rates)
    shallow_kernel.backward_update(b, lay.table, lay.scales, lay.activation, Xb, H, dout, np.zeros_like(theta), rates)
    assert np.array_equal(a, b) and not np.array_equal(a, theta)


@numba.njit(error_model="numpy")
def _fused_act_loop(z, kind):
    out = np.empty_like(z)
    for i in range(z.size):
        out[i] = floatmath.sigmoid(z[i]) if kind == 0 else floatmath.tanh(z[i])
    return out


def _act_grid():
    rng = np.random.default_rng(7)
    tiny = 10.0 ** rng.uniform(-323, 0, 20000) * rng.choice([-1.0, 1.0], 20000)
    special = [0.0, 5e-324, 1e-300, 1e-8, 0.5, 1.0, 1 - 1e-16, 1 + 2e-16, 19.0, 19.99, 20.0, 20.01, 36.0, 37.0,
               40.0, 100.0, 700.0, 709.8, 740.0, 745.2, 750.0, 800.0, 1e308, np.inf]
    return np.concatenate([np.linspace(-40.0, 40.0, 800001), rng.standard_normal(200000) * 5, tiny,
                           rng.uniform(-750.0, 750.0, 20000), special, -np.array(special)])


def test_fused_activations_match_numpy_to_a_few_ulp():
    """floatmath.tanh / floatmath.sigmoid (branch-free float64, vectorizable) against np.tanh and 1 / (1 + np.exp(-z)).

    Bound: both are within ~2.2 ulp of the exact value by construction (exp/expm1 reduction with one rounding,
    polynomial error < 0.2 ulp, two or three more roundings; see asymexp/nn/shallow_kernel.py; measured <= 1.3 ulp
    against mpmath), and libm's tanh / exp (plus the two roundings of 1 / (1 + .)) within ~2 ulp, so they differ
    by < 5 ulp = 1.1e-15 relative; we assert 2e-15 (~9 ulp), far below the 1e-13 to which the fused kernel
    must equal the generic core."""
    z = _act_grid()
    t = _fused_act_loop(z, 1)
    ref = np.tanh(z)
    assert np.all(np.abs(t - ref) <= 2e-15 * np.abs(ref))
    assert np.array_equal(np.signbit(t), np.signbit(ref))               # odd, -0.0 kept
    assert np.all(t[np.abs(z) >= 20.0] == np.sign(z[np.abs(z) >= 20.0]))   # exactly +-1 (as np.tanh)
    small = np.abs(z) < 5e-17        # expm1(-2a) = -2a and 2 + e rounds to 2 there, so the result is a itself
    assert np.array_equal(t[small], z[small])                            # tanh z = z in float64 there
    # 1 - tanh^2 (the backward pass's derivative) near saturation: tanh rounds nearly correctly for |z| >= 1
    mid = (np.abs(z) >= 1.0) & (np.abs(z) <= 15.0)
    assert np.all(np.abs((1 - t[mid] ** 2) - (1 - ref[mid] ** 2)) <= 8e-16)
    s = _fused_act_loop(z, 0)
    with np.errstate(over="ignore"):
        ref = 1.0 / (1.0 + np.exp(-z))
    normal = ref >= 1e-300
    assert np.all(np.abs(s - ref)[normal] <= 2e-15 * ref[normal])
    assert np.all(np.abs(s - ref)[~normal] <= 2.3e-308)                  # underflow: both (near) 0
    assert np.all(s[z >= 40.0] == 1.0) and np.all(s[z <= -746.0] == 0.0)
    assert np.isnan(_fused_act_loop(np.array([np.nan]), 0)[0]) and np.isnan(_fused_act_loop(np.array([np.nan]), 1)[0])


@pytest.mark.parametrize("act", ["tanh", "sigmoid"])
@pytest.mark.parametrize("B", [1, 4, 5])
def test_fused_kernel_equals_generic_core_with_saturated_units(act, B):
    """Like the test above with inputs 10x larger (most units saturated, where 1 - h^2 amplifies the activation's
    last-bit differences), to the same tolerances."""
    for seed in range(40):
        spec = NetworkSpec.from_strings("3/4", "37", activation=act, input_dim=3)
        lay = build_layout(spec)
        rng = np.random.default_rng(seed)
        theta = init_params(spec, rng, lay)
        Xb = 10.0 * rng.standard_normal((B, 3))
        outs, grads = [], []
        for mod in (generic_kernel, shallow_kernel):
            Z, H = np.zeros((37, B)), np.zeros((37, B))
            out, grad = np.zeros((1, B)), np.zeros_like(theta)
            mod.forward(theta, lay.table, lay.scales, lay.activation, Xb, Z, H, out)
            mod.backward(theta, lay.table, lay.scales, lay.activation, Xb, H, out - 0.3, grad)
            outs.append(out)
            grads.append(grad)
        np.testing.assert_allclose(outs[1], outs[0], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-15)


def test_fused_and_generic_engines_agree_after_training():
    spec = NetworkSpec.from_strings("3/4", "32", activation="tanh", input_dim=3)
    a = simulate(spec, X, Y, PTS, [1.0], 4, dynamics="gd", engine="fused").outputs
    b = simulate(spec, X, Y, PTS, [1.0], 4, dynamics="gd", engine="generic").outputs
    np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


def test_results_do_not_depend_on_thread_count_or_chunking():
    spec = NetworkSpec.from_strings("3/4", "24", activation="tanh", input_dim=3)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = simulate(spec, X, Y, PTS, [1.0], 8, seed=5, dynamics="sgd", chunk=8)
        numba.set_num_threads(2)         # tests/conftest.py makes two threads available on any machine
        assert numba.get_num_threads() == 2
        two = simulate(spec, X, Y, PTS, [1.0], 8, seed=5, dynamics="sgd", chunk=8)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one.outputs, two.outputs)
    parts = [simulate(spec, X, Y, PTS, [1.0], 4, seed=5, dynamics="sgd", start=s, chunk=2) for s in (0, 4)]
    assert np.array_equal(np.concatenate([p.outputs for p in parts]), one.outputs)


def test_antithetic_pairs_flip_the_initial_output():
    spec = NetworkSpec.from_strings("3/5", "16", activation="tanh", input_dim=3)
    res = simulate(spec, X, Y, PTS, [0.0, 1.0], 6, dynamics="gd")
    np.testing.assert_allclose(res.g0[0::2], -res.g0[1::2], rtol=0, atol=1e-15)
    assert not np.allclose(res.outputs[0::2, 1], -res.outputs[1::2, 1])


def test_chunks_stream_to_disk_and_are_reused(tmp_path):
    spec = NetworkSpec.from_strings("3/4", "8", activation="tanh", input_dim=3)
    first = simulate(spec, X, Y, PTS, [1.0], 8, dynamics="gd", chunk=4, out_dir=tmp_path)
    files = sorted(tmp_path.glob("chunk-*.npz"))
    assert len(files) == 2
    stamps = [f.stat().st_mtime_ns for f in files]
    again = simulate(spec, X, Y, PTS, [1.0], 8, dynamics="gd", chunk=4, out_dir=tmp_path)
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert np.array_equal(first.outputs, again.outputs)


def test_rates_match_the_section_2_examples():
    g1, g2, g3 = Fraction(7, 10), Fraction(4, 5), Fraction(9, 10)
    e = rules_for(NetworkSpec(gammas=(g1, g2, g3))).rate_exponents
    assert e["C"] == {"N1": 0, "N2": 0, "N3": 2 * g3 - 2}
    assert e["W3"] == {"N1": 0, "N2": 2 * g2 - 1, "N3": 2 * g3 - 2}
    assert e["W2"] == {"N1": 2 * g1 - 1, "N2": 2 * g2 - 1, "N3": 2 * g3 - 3}
    assert e["W1"] == {"N1": 2 * g1 - 1, "N2": 2 * g2 - 2, "N3": 2 * g3 - 3}
    spec = NetworkSpec.from_strings("3/4", "256", input_dim=3)
    np.testing.assert_allclose(rules_for(spec).learning_rates(spec.widths, 2.0), 2.0 * 256 ** -0.5 * np.ones(2),
                               rtol=1e-15)


@settings(max_examples=25, deadline=None)
@given(gs=st.lists(st.sampled_from(["1/2", "3/5", "7/10", "3/4", "9/10", "1"]), min_size=1, max_size=4))
def test_rates_agree_with_the_closed_formula_oracle(gs):
    from asymexp.symbolic.scalings import closed_form_rates, gamma_symbols

    spec = NetworkSpec(gammas=tuple(gs))
    oracle = closed_form_rates(gamma_symbols(spec.gammas))
    derived = rules_for(spec).rate_exponents
    for name in spec.layer_names:
        assert [Fraction(str(v)) for v in oracle[name]] == [derived[name][f"N{l}"] for l in range(1, len(gs) + 1)]


@pytest.mark.parametrize("kwargs,needle", [({"dynamics": "adam"}, "dynamics"), ({"replicas": 3}, "replicas"),
                                           ({"times": [1.0, 0.5]}, "times"), ({"engine": "gpu"}, "engine")])
def test_bad_input_is_a_clear_error(kwargs, needle):
    spec = NetworkSpec.from_strings("3/4", "8", input_dim=3)
    args = {"times": [1.0], "replicas": 4}
    args.update(kwargs)
    with pytest.raises(AsymexpError, match=needle):
        simulate(spec, X, Y, PTS, **args)
    assert issubclass(SimError, AsymexpError)


def test_blas_is_single_threaded_inside_the_simulator_and_restored_after():
    import scipy.linalg  # noqa: F401  (loads the OpenBLAS that Numba's np.dot uses)

    from asymexp.sim.blas import _openblas_handles, single_threaded_blas

    handles = _openblas_handles()
    assert handles, "no OpenBLAS library found in the process (NumPy and SciPy wheels bundle one)"
    original = [int(get()) for _, get in handles]
    try:
        for setter, _ in handles:
            setter(2)                    # a setting the context must change and then restore
        with single_threaded_blas():
            assert all(int(get()) == 1 for _, get in handles)
        assert [int(get()) for _, get in handles] == [2] * len(handles)
    finally:
        for (setter, _), n in zip(handles, original):
            setter(n)
