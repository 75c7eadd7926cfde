"""Numbers checked against values computed independently of the code under test: closed forms, plain-NumPy
transcriptions and hand-computed cases (docs/architecture.md, testing). Each test names the wrong number it
catches; tolerances come from rounding, a stated quadrature or finite-difference error, or a Monte Carlo SE."""
import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st

from asymexp.inputs.problems import load_problem
from asymexp.mnist import epoch_kernel
from asymexp.mnist.prepare import SHIFT, sparse_images
from asymexp.nn.layout import build_layout, init_params
from asymexp.numeric.deep_theory import deep_frozen_kernel
from asymexp.numeric.finite_n import inverse_n_mean_term
from asymexp.numeric.quadrature import quadrature_samples
from asymexp.spec import Law, NetworkSpec
from asymexp.symbolic.scalings import group_scalings
from asymexp.validation.shallow_validation import analyse_width


# -- the variance ratio r(N) = Var N^{2 gamma - 1} / V_t of the shallow validation -------------------------------

def test_variance_ratio_is_the_plain_sample_variance_over_the_predicted_variance():
    rng = np.random.default_rng(21)
    width, exponent = 64, 1 - 2 * 0.75                     # Var g ~ N^{1 - 2 gamma} V_t at gamma = 3/4
    V = rng.uniform(0.5, 2.0, 5)
    gt = rng.normal(size=(40, 5)) * np.sqrt(width ** exponent * V)
    row = analyse_width({"g0": gt, "gt": gt}, width, exponent, 1.0, np.eye(5), V, antithetic=False, control=False)
    want = np.var(gt, axis=0, ddof=1).sum() / (width ** exponent * V.sum())
    assert row["ratio"] == pytest.approx(want, rel=1e-12)   # same sums in another order: rounding only
    assert row["replicas"] == 40
    sums = gt - gt.mean(axis=0)
    per = (sums ** 2).sum(axis=1) * 40 / 39                 # trace of the per-replica variance samples
    assert row["ratio_se"] == pytest.approx(per.std(ddof=1) / np.sqrt(40) / (width ** exponent * V.sum()),
                                            rel=1e-12)


# -- the 1/N mean term c_t under gradient flow ------------------------------------------------------------------

def _flow_outputs(problem, theta0, weights, eps, t, steps):
    """Plain-NumPy gradient flow of weighted particles (tanh, f = c tanh(w . x)): g_t at the points for each
    weight vector. theta0 (K, 1 + d); weights (B, K); classical RK4 with ``steps`` equal steps to time t."""
    x, y, pts, m = problem.x, problem.y, problem.points, problem.x.shape[0]
    theta = np.broadcast_to(theta0, (weights.shape[0],) + theta0.shape).copy()     # (B, K, 1 + d)

    def rhs(th):
        h = np.tanh(th[..., 1:] @ x.T)                                              # (B, K, M)
        g = np.einsum("bk,bkm->bm", weights, th[..., :1] * h) / eps                  # (B, M)
        r = y - g
        d = np.empty_like(th)
        d[..., 0] = np.einsum("bkm,bm->bk", h, r)
        d[..., 1:] = np.einsum("bkm,bm,md->bkd", th[..., :1] * (1 - h * h), r, x)
        return eps * problem.alpha / m * d

    dt = t / steps
    for _ in range(steps):
        k1 = rhs(theta)
        k2 = rhs(theta + 0.5 * dt * k1)
        k3 = rhs(theta + 0.5 * dt * k2)
        k4 = rhs(theta + dt * k3)
        theta = theta + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.einsum("bk,bkp->bp", weights, theta[..., :1] * np.tanh(theta[..., 1:] @ pts.T)) / eps


def _second_difference_c(problem, theta0, w, eps, t, steps, h):
    """1/2 sum_j w_j D^2 G[e_j - w, e_j - w] by central second differences of step h (docs: numeric/finite_n)."""
    K = w.size
    dirs = np.eye(K) - w[None, :]
    batch = np.vstack([w[None, :], w + h * dirs, w - h * dirs])
    g = _flow_outputs(problem, theta0, batch, eps, t, steps)
    d2 = (g[1:K + 1] - 2 * g[0] + g[K + 1:]) / h ** 2                                # (K, P)
    return 0.5 * w @ d2


def test_inverse_n_mean_term_equals_second_differences_of_a_plain_flow():
    problem = load_problem("tanh4.toml")
    order, eps, t, per_unit = 2, 0.02, 1.0, 40
    c, _ = inverse_n_mean_term(problem, [t], quad_order=order, eps=eps, steps_per_unit=per_unit)
    s = quadrature_samples(problem.c_law, problem.w_law, problem.points, order, c_nodes=3)
    theta0 = np.concatenate([s.c[:, None], s.w], axis=1)
    fine = _second_difference_c(problem, theta0, s.weight, eps, t, per_unit, 1e-2)
    coarse = _second_difference_c(problem, theta0, s.weight, eps, t, per_unit, 2e-2)
    # central differences err by a h^2 + O(h^4), so the error of `fine` is about |coarse - fine| / 3 (measured
    # 1.8e-7, rounding 1e-16 |G| / h^2 ~ 2e-13 is far below); RK4 of the sensitivity system is the exact
    # derivative of the same RK4 map, so the code and the differences differ by the difference error alone
    err = np.abs(coarse - fine) / 3
    assert np.abs(fine).max() > 1000 * err.max()                      # the check has resolution
    np.testing.assert_array_less(np.abs(c[0] - fine), 2 * err + 1e-12)


# -- the deep tangent kernel, W^L part included ------------------------------------------------------------------

def _gauss_pair(f, g, cov, n):
    """E[f(u) g(v)] for (u, v) ~ N(0, cov) (2x2), n x n Gauss-Hermite on the eigenvectors of cov."""
    z, wt = np.polynomial.hermite_e.hermegauss(n)
    wt = wt / wt.sum()
    lam, U = np.linalg.eigh(cov)
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    root = np.sqrt(np.maximum(lam, 0.0))
    u = U[0, 0] * root[0] * z1 + U[0, 1] * root[1] * z2
    v = U[1, 0] * root[0] * z1 + U[1, 1] * root[1] * z2
    return float((np.outer(wt, wt) * f(u) * g(v)).sum())


def _deep_tanh_kernel(points, n):
    """A = K_2 + E[C^2] E[tanh'(Z) tanh'(Z')] K_1 for W1 ~ N(0, I), W2 ~ N(0, 1), C ~ U(-1, 1), gamma_1 = 1/2."""
    P = points.shape[0]
    dtanh = lambda u: 1 - np.tanh(u) ** 2                                           # noqa: E731
    gram = points @ points.T
    pairs = lambda f, g, cov: np.array([[_gauss_pair(f, g, cov[np.ix_([p, q], [p, q])], n)   # noqa: E731
                                         for q in range(P)] for p in range(P)])
    k1 = pairs(np.tanh, np.tanh, gram)
    k2, kd2 = pairs(np.tanh, np.tanh, k1), pairs(dtanh, dtanh, k1)
    return k2 + kd2 * k1 / 3, kd2 * k1 / 3


def test_deep_tangent_kernel_keeps_the_last_inner_layer_term():
    problem = load_problem("tanh4.toml")
    spec = problem.spec(["1/2", "3/4"], [16, 16]).replace(widths=None)             # sequential limit, nu_1 = 1
    got = deep_frozen_kernel(spec, problem.points)
    want, w_part = _deep_tanh_kernel(problem.points, 60)
    other, _ = _deep_tanh_kernel(problem.points, 40)
    tol = got.error + np.abs(want - other).max() + 1e-13             # both quadrature error estimates + rounding
    assert w_part.min() > 100 * tol                                  # the W^2 term is resolved
    np.testing.assert_allclose(got.A, want, rtol=0, atol=tol)


# -- the trainer's predictions, loss and accuracy ----------------------------------------------------------------

def _numpy_forward(theta, lay, X, act):
    """Output (K, n) of the network for dense inputs X (n, d), plain NumPy."""
    sig = (lambda z: 1 / (1 + np.exp(-z))) if act == 0 else np.tanh
    h = X.T
    for m in range(lay.n_layers):
        b = lay.bias(theta, m)
        a = lay.scales[m] * lay.block(theta, m) @ h + (0 if b is None else b[:, None])
        h = a if m == lay.n_layers - 1 else sig(a)
    return h


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_evaluation_predicts_the_arg_max_and_its_cross_entropy(act):
    spec = NetworkSpec.from_strings("7/10,1", "9,7", activation=act, input_dim=30, output_dim=6, bias=True,
                                    preset="paper-mnist")
    rng = np.random.default_rng(8)
    lay = build_layout(spec)
    theta = init_params(spec, rng, lay) * 3.0             # spread the outputs so the arg-max is well separated
    img = rng.integers(0, 256, (50, 30)).astype(np.uint8)
    labels = rng.integers(0, 6, 50)
    data = sparse_images(img, labels, "float64")
    w0, _, n1, d, _ = lay.table[0]
    S = np.ascontiguousarray(theta[w0:w0 + n1 * d].reshape(n1, d).T)
    losses, pred = np.empty(50), np.empty(50, dtype=np.int64)
    epoch_kernel.evaluate(theta, lay.table, lay.scales, lay.activation, S, np.zeros(n1), S.sum(axis=0), SHIFT,
                          data.indptr, data.indices, data.values, data.vsum, data.labels,
                          epoch_kernel.LOSSES["ce"], losses, pred)
    out = _numpy_forward(theta, lay, data.dense(), lay.activation)
    assert np.array_equal(pred, out.argmax(axis=0))
    assert len(set(pred.tolist())) > 1                     # not a constant prediction
    lse = np.log(np.exp(out - out.max(0)).sum(0)) + out.max(0)
    np.testing.assert_allclose(losses, lse - out[labels, np.arange(50)], rtol=1e-12)   # float64 rounding only
    Y = np.eye(6)[:, labels]
    for name, want in (("mse", 0.5 * ((out - Y) ** 2).sum(0)), ("paper-mse", ((out - lse - Y) ** 2).mean(0))):
        epoch_kernel.evaluate(theta, lay.table, lay.scales, lay.activation, S, np.zeros(n1), S.sum(axis=0), SHIFT,
                              data.indptr, data.indices, data.values, data.vsum, data.labels,
                              epoch_kernel.LOSSES[name], losses, pred)
        np.testing.assert_allclose(losses, want, rtol=1e-12)
    flat = theta.copy()
    lay.block(flat, lay.n_layers - 1)[...] = 0.0
    lay.bias(flat, lay.n_layers - 1)[...] = 0.0                # every output 0: a six-way tie
    epoch_kernel.evaluate(flat, lay.table, lay.scales, lay.activation, S, np.zeros(n1), S.sum(axis=0), SHIFT,
                          data.indptr, data.indices, data.values, data.vsum, data.labels,
                          epoch_kernel.LOSSES["ce"], losses, pred)
    assert np.array_equal(pred, np.zeros(50)) and np.allclose(losses, np.log(6), rtol=1e-14)   # first class wins


def test_mnist_accuracy_is_recomputed_from_the_checkpoint_and_beats_chance(tmp_path):
    from asymexp.inputs.datasets import load
    from asymexp.mnist.train import CHECKPOINT, TrainConfig, build_spec, load_checkpoint, train

    cfg = TrainConfig(widths="16", gammas="1/2", activation="tanh", n_train=1000, n_test=300, lr_scale=50.0,
                      epochs=2, dtype="float64", seed=3)
    hist = list(train(cfg, tmp_path))
    theta, _ = load_checkpoint(tmp_path / CHECKPOINT)
    spec = build_spec(cfg)
    lay = build_layout(spec)
    _, _, x_test, y_test = load("mnist").arrays(dtype="float64")          # (x / 255 - mean) / sd
    acc = float((_numpy_forward(theta, lay, x_test[:300], lay.activation).argmax(axis=0) == y_test[:300]).mean())
    assert hist[-1]["test_acc"] == pytest.approx(acc, abs=0.5 / 300)   # ties aside, the same count of hits
    # chance is 1/10; its binomial SE on 300 images is sqrt(0.1 * 0.9 / 300) = 0.017: 5 SEs above chance
    assert acc > 0.1 + 5 * np.sqrt(0.09 / 300)


# -- the PyTorch-default bias law --------------------------------------------------------------------------------

@pytest.mark.parametrize("fan_in", [4, 25, 784])
def test_torch_default_bias_is_uniform_within_one_over_root_fan_in(fan_in):
    law = Law("torch-default")
    r = 1 / np.sqrt(fan_in)
    assert law.moment(2, fan_in=fan_in) == pytest.approx(r * r / 3, rel=1e-15)
    spec = NetworkSpec.from_strings("1", str(20_000), activation="tanh", input_dim=fan_in, output_dim=1,
                                    bias=True, preset="paper-mnist")
    lay = build_layout(spec)
    b = lay.bias(init_params(spec, np.random.default_rng(fan_in), lay), 0)
    # 20,000 U(-r, r) draws: P(max |b| < 0.999 r) = 0.999^20000 ~ 2e-9; E b^2 = r^2 / 3 with SE
    # r^2 sqrt(4/45 / 20000) (Var b^2 = r^4 (1/5 - 1/9))
    assert np.abs(b).max() <= r and np.abs(b).max() > 0.999 * r
    assert abs(np.mean(b * b) - r * r / 3) < 5 * r * r * np.sqrt(4 / 45 / b.size)


# -- the mean-zero rule of the symbolic scalings -----------------------------------------------------------------

@pytest.mark.parametrize("laws, sizing", [((True, True, True), "half"), ((True, False, True), "half"),
                                          ((True, True, False), "half"), ((True, False, False), "one")])
def test_a_backward_sum_is_mean_zero_when_its_weights_or_the_output_layer_are(laws, sizing):
    # L = 2, group W1: dg/dW1 = N1^{-g1} N2^{-g2} sum_{i <= N2} C^i sigma'(Z^{2,i}) W^{2,i,.} ...; the sum is
    # mean zero when W2 or C has mean zero (independent factors), sized N2^{1/2} then, else N2^1 (by hand)
    g1, g2 = sympy.symbols("g1 g2")
    w1 = group_scalings((g1, g2), laws)[0]
    size = sympy.Rational(1, 2) if sizing == "half" else 1
    assert w1.gradient_at_init == (-g1, size - g2)
    assert w1.mean_zero_sums == (sizing == "half",)
    # alpha_1 ~ N1^{2 g1 - 1} N2^{2 g2 - 3}; kernel at init = rate + count (N1 d) + 2 gradient_at_init
    assert w1.kernel_at_init == (0, 2 * size - 3)



def test_run_summary_reports_the_best_and_the_final_accuracy():
    from asymexp.mnist.train import TrainConfig, run_summary

    hist = [{"epoch": 1, "test_acc": 0.30, "seconds": 2.0}, {"epoch": 2, "test_acc": 0.55, "seconds": 4.0},
            {"epoch": 3, "test_acc": 0.50, "seconds": 3.0}]
    doc = run_summary(TrainConfig(widths="8", gammas="1"), hist)
    assert (doc["final_test_acc"], doc["best_test_acc"], doc["best_epoch"]) == (0.50, 0.55, 2)
    assert doc["epochs"] == 3 and doc["seconds_per_epoch"] == pytest.approx(3.0, rel=1e-15)
    assert doc["summary"] is True and doc["status"] == "finished"


def test_variance_and_mean_with_controls_follow_the_pair_formulas():
    # plain transcription of docs/theory/5-verified-formulas.md: pairs (C, W), (-C, W); odd part O, even part E
    rng = np.random.default_rng(5)
    R, P, M, width, e = 16, 5, 4, 32, 1 - 2 * 0.7
    gt, g0 = rng.normal(size=(R, P)), rng.normal(size=(R, P))
    g0[1::2] = -g0[0::2]                                                  # the initial output is odd in C
    ntk = np.repeat(rng.normal(size=(R // 2, P * M)), 2, axis=0)          # the kernel is even in C
    phi, A = rng.normal(size=(P, P, M)), rng.normal(size=(P, P))
    L, V = rng.normal(size=(P, P)), rng.uniform(0.5, 2, P)
    row = analyse_width({"g0": g0, "gt": gt, "ntk0": ntk}, width, e, 1.0, L, V, True, True, phi, A)
    dA = ntk.reshape(R, P, M) - A[None, :, :M]
    control = np.einsum("pjm,rjm->rp", phi, dA)[0::2]
    even, odd = (gt[0::2] + gt[1::2]) / 2, (gt[0::2] - gt[1::2]) / 2
    np.testing.assert_allclose(row["mean"], (even - control).mean(axis=0), rtol=1e-12, atol=1e-15)
    c = (g0 @ L.T)[0::2]
    spread = (even - even.mean(axis=0)) ** 2 * (R // 2) / (R // 2 - 1)
    var = (odd ** 2 - c ** 2 + spread).mean(axis=0) + width ** e * V
    np.testing.assert_allclose(row["var"], var, rtol=1e-12)
    assert row["ratio"] == pytest.approx(var.sum() / (width ** e * V.sum()), rel=1e-12)


# -- the fits of the validation ----------------------------------------------------------------------------------

def test_fits_recover_an_exact_power_law_and_its_log_log_slope():
    from asymexp.stats import fits

    N = np.array([16.0, 32, 64, 128, 256])
    var = 2.0 * N ** -0.4 * (1 + 0.3 * N ** -0.5)
    rel = np.array([0.01, 0.02, 0.015, 0.03, 0.01])                       # unequal relative errors
    se = rel * var
    # plain weighted least squares of log var on log N with sd se / var
    w = 1 / rel ** 2
    X = np.column_stack([np.ones(5), np.log(N)])
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    slope = (cov @ X.T @ (w * np.log(var)))[1]
    raw = fits.raw_slope(N, var, se)
    assert raw["slope"] == pytest.approx(slope, rel=1e-12)
    assert raw["ci95"][1] - raw["ci95"][0] == pytest.approx(2 * 1.959964 * np.sqrt(cov[1, 1]), rel=1e-5)
    assert len(fits.exponent_candidates(N[:4], var[:4], se[:4], [(-0.5, "N^-1/2")], -0.4)) == 1   # 3 + 1 widths
    one = fits.exponent_fit(N[:4], var[:4], se[:4], [(-0.5, "N^-1/2")])
    assert one["dof"] == 1 and one["b"] and "b1*N^-1/2" in one["model"]  # 4 widths keep the correction
    exact = fits.exponent_fit(N, var, se, [(-0.5, "N^-1/2")])
    # noiseless data of the model itself: the fit returns its parameters (curve_fit tolerance 1e-8 relative)
    assert exact["fit"] == pytest.approx(-0.4, abs=1e-6) and exact["b"][0] == pytest.approx(0.3, abs=1e-5)
    assert exact["chi2"] < 1e-8 and exact["ci95"][0] < -0.4 < exact["ci95"][1]
    assert fits.p_value(1.0, 0) is None and fits.p_value(3.0, 3) == pytest.approx(0.391625, abs=1e-6)


def test_mean_residuals_by_hand():
    from asymexp.validation.shallow_validation import mean_residuals

    h, Q1, Q2, c = np.array([0.5, -1.0]), np.array([1.0, 2.0]), np.array([4.0, -4.0]), np.array([8.0, 16.0])
    r = {4: np.array([0.3, 0.4]), 16: np.array([0.6, 0.8])}           # what is left after the whole model
    # gamma = 1/2: eps = N^{-1/2} = 1/2 and 1/4 at N = 4 and 16
    means = {n: h + Q1 / np.sqrt(n) + Q2 / n + c / n + r[n] for n in (4, 16)}
    rows = [{"mean": means[4], "mean_se": np.array([0.1, 0.1])}, {"mean": means[16], "mean_se": np.array([0.3, 0.4])}]
    out = mean_residuals(rows, [4, 16], 0.5, h, Q1, Q2, c)
    rms = lambda v: float(np.sqrt(np.mean(np.square(v))))                # noqa: E731
    np.testing.assert_allclose(out["raw"], [rms(means[4] - h), rms(means[16] - h)], rtol=1e-14)
    np.testing.assert_allclose(out["corrected_points"], [c / 4 + r[4], c / 16 + r[16]], rtol=1e-14)
    inv = out["inverse_n"]
    np.testing.assert_allclose(inv["corrected"], [0.25 * np.sqrt(2), 0.5 * np.sqrt(2)], rtol=1e-14)  # RMS of r
    assert inv["ratio_at_largest"] == pytest.approx(rms(means[16] - h) / (0.5 * np.sqrt(2)), rel=1e-14)
    assert out["ratio_at_largest"] == pytest.approx(rms(means[16] - h) / rms(c / 16 + r[16]), rel=1e-14)
    assert out["se"][1] == pytest.approx(np.sqrt(0.125), rel=1e-14)
    # RMS SE 0.354 at N = 16: 0.707 is within 3 SEs, the 1.17 left without c/N is not
    assert inv["corrected_within_3se"] and not out["corrected_within_3se"]
    # without Q1, Q2: the corrected residual is the raw one; 3 SEs exactly on the boundary count as within
    bare = mean_residuals([{"mean": np.array([3.0]), "mean_se": np.array([1.0])}], [4], 0.5, np.zeros(1), None,
                          None, np.zeros(1))
    assert bare["corrected"] == bare["raw"] == [3.0] and bare["corrected_within_3se"]
    assert bare["inverse_n"]["corrected_within_3se"] and bare["ratio_at_largest"] == 1.0
    wide = mean_residuals([{"mean": np.array([3.0]), "mean_se": np.array([0.5])}], [4], 0.5, np.zeros(1), None,
                          None, np.zeros(1))
    assert not wide["corrected_within_3se"] and not wide["inverse_n"]["corrected_within_3se"]   # 3 > 3 * 0.5


@pytest.mark.parametrize("p_ci, b_ci, want", [
    ([-0.54, -0.46], [0.99, 1.01], "agree"),             # both contain the prediction, half-widths 0.04, 0.01
    ([-0.56, -0.44], [0.99, 1.01], "undetermined"),      # exponent half-width 0.06 > 0.05
    ([-0.54, -0.46], [0.97, 1.03], "undetermined"),      # b0 half-width 0.03 > 0.02
    ([-0.49, -0.41], [0.99, 1.01], "disagree"),          # the exponent interval excludes -1/2
    ([-0.54, -0.46], [1.001, 1.01], "disagree"),         # the b0 interval excludes 1
    ([-0.5, -0.46], [1.0, 1.01], "agree"),               # the ends of an interval belong to it
])
def test_verdict_rules_by_hand(p_ci, b_ci, want):
    from asymexp.validation.shallow_validation import verdict

    slope = {"fit": sum(p_ci) / 2, "ci95": p_ci, "model": "test"}
    ratio = {"b0": sum(b_ci) / 2, "ci95": b_ci, "model": "test"}
    word, why = verdict(slope, ratio, -0.5)
    assert word == want
    if want == "undetermined":       # the reason names the interval that is too wide, and only that one
        assert ("exponent half-width" in why) == (p_ci[1] - p_ci[0] > 0.1)
        assert ("b0 half-width" in why) == (b_ci[1] - b_ci[0] > 0.04)
    assert verdict(None, ratio, -0.5)[0] == "undetermined"


# -- the number of deterministic corrections nu(gamma) and the deep kernel's error estimate and notes ------------

@settings(max_examples=60, deadline=None)
@given(p=st.integers(1, 400), q=st.integers(2, 400))
def test_nu_of_a_symbol_equals_nu_of_each_rational(p, q):
    from asymexp.symbolic.scalings import nu

    r = sympy.Rational(p, q)
    g = sympy.Symbol("g")
    symbolic = nu(g).subs(g, r)
    if sympy.Rational(1, 2) < r < 1:
        # smallest a >= 1 with a (1 - r) >= r - 1/2, by hand: ceil((r - 1/2) / (1 - r)), at least 1
        want = max(1, int(sympy.ceiling((r - sympy.Rational(1, 2)) / (1 - r))))
        assert nu(r) == want and symbolic == want
    else:
        assert nu(r) is None and symbolic is sympy.nan


def test_deep_kernel_error_is_the_larger_difference_between_two_orders():
    problem = load_problem("tanh4.toml")
    spec = problem.spec(["1/2", "3/4"], [16, 16]).replace(widths=None)
    hi, lo = deep_frozen_kernel(spec, problem.points, order=16), deep_frozen_kernel(spec, problem.points, order=12)
    diffs = (np.abs(hi.A - lo.A).max(), np.abs(hi.S - lo.S).max())
    assert diffs[0] != diffs[1] and hi.error == max(diffs)          # 16 and round(0.75 * 16) = 12 nodes


def test_deep_kernel_notes_flag_only_real_degeneracies():
    e1, e2 = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]          # orthogonal points: A(e1, e2) = 0 exactly for tanh
    for act in ("tanh", "sigmoid"):
        spec = NetworkSpec(gammas=(0.5, 0.75), widths=None, activation=act, input_dim=3, output_dim=1,
                           weight_laws=(Law("normal", 0, 1),) * 2 + (Law("uniform", -1, 1),), bias=False)
        k = deep_frozen_kernel(spec, np.array([e1, e2]), order=16)
        assert not any("vanishes" in n or "does not depend" in n for n in k.notes)
        assert any("rescale the output" in n for n in k.notes) == (act == "tanh")


def test_kernel_response_is_the_derivative_of_the_leading_term():
    from asymexp.numeric.frozen import leading_term
    from asymexp.numeric.problem_kernel import frozen_kernel

    problem = load_problem("tanh4.toml")
    fk = frozen_kernel(problem, quad_order=16)
    M, t = problem.y.shape[0], 1.0
    phi = fk.kernel_response(t, problem.y, problem.alpha)                  # (P, P, M)
    dA = np.random.default_rng(2).normal(size=(fk.A.shape[0], M))
    dA[:M] = 0.5 * (dA[:M] + dA[:M].T)                                      # the training block stays symmetric

    def h(delta):
        A = fk.A.copy()
        A[:, :M] += delta * dA
        return leading_term(A, problem.y, problem.alpha, np.array([t]))[0]

    fine, coarse = [(h(d) - h(-d)) / (2 * d) for d in (1e-3, 2e-3)]
    err = np.abs(coarse - fine) / 3                      # central differences: error ~ d^2, estimated from 2d
    assert np.abs(fine).max() > 1000 * err.max()
    # Gauss-Legendre with 48 nodes in time is exact to rounding for these smooth exponentials
    np.testing.assert_array_less(np.abs(np.einsum("pjm,jm->p", phi, dA) - fine), 2 * err + 1e-10)


def test_shallow_theory_mean_and_variance_at_a_width_by_hand():
    from asymexp.numeric.shallow_theory import shallow_theory

    th = shallow_theory(load_problem("tanh4.toml"), "3/4", [1.0], quad_order=12)
    eps = 64 ** (0.75 - 1)                                                   # N^{gamma - 1} = 1 / (2 sqrt 2)
    want = th.h + eps * th.Q1 + eps ** 2 * th.Q2 + (0 if th.Q3 is None else eps ** 3 * th.Q3)
    np.testing.assert_allclose(th.mean(64), want, rtol=1e-14, atol=1e-16)
    assert np.abs(eps ** 2 * th.Q2).max() > 1e-4             # the check sees Q2 (Q1 = 0 for tanh, symmetric c)
    np.testing.assert_allclose(th.variance(64), th.V / 8, rtol=1e-14)        # N^{1 - 2 gamma} = 64^{-1/2}


def test_monte_carlo_covariance_of_a_law_with_mean_matches_quadrature():
    import dataclasses

    from asymexp.numeric.shallow_theory import kernel_matrices

    problem = dataclasses.replace(load_problem("tanh4.toml"), c_law=Law.parse("uniform(0,1)"),
                                  w_law=Law.parse("normal(1/2,1)"))                      # E f != 0
    A_q, S_q, err_q = kernel_matrices(problem, quad_order=16)
    A_m, S_m, se = kernel_matrices(problem, method="monte-carlo", n_samples=200_000, seed=3)
    # seeded; se is the largest batch-spread SE of A and S: 5 of them plus the quadrature error estimate
    assert np.abs(S_m - S_q).max() < 5 * se + err_q and np.abs(A_m - A_q).max() < 5 * se + err_q
    z, wt = np.polynomial.hermite_e.hermegauss(40)
    pts = problem.points                                  # w.x ~ N(sum(x) / 2, |x|^2); E c = 1/2
    ef = 0.5 * (np.tanh(0.5 * pts.sum(1)[:, None] + np.linalg.norm(pts, axis=1)[:, None] * z) @ wt) / wt.sum()
    assert np.abs(np.outer(ef, ef)).max() > 20 * se      # a wrong sign of E f E f^T would be resolved


def test_a_nonzero_initial_mean_is_noted_only_where_it_is_nonzero():
    import dataclasses

    from asymexp.numeric.shallow_theory import shallow_theory

    tanh4 = load_problem("tanh4.toml")
    shifted = dataclasses.replace(tanh4, c_law=Law.parse("uniform(0,1)"), w_law=Law.parse("normal(1/2,1)"))
    noted = [any("is not zero here" in n for n in shallow_theory(p, "3/4", [1.0], order=1, quad_order=12).notes)
             for p in (tanh4, shifted)]
    assert noted == [False, True]             # E f = 0 by symmetry for tanh4; of order 0.1 for the shifted laws


def test_rules_of_a_two_layer_spec_by_hand():
    from fractions import Fraction as F

    from asymexp.symbolic.rules import rules_for

    # gammas (1/2, 3/4): alpha_W1 ~ N1^{2 g1 - 1} N2^{2 g2 - 3}, alpha_W2 ~ N1^{2 g1 - 1} N2^{2 g2 - 2},
    # alpha_C ~ N2^{2 g2 - 2} (each group's one-step contribution of order 1/N2); time: N2 steps per unit
    rules = rules_for(NetworkSpec.from_strings("1/2,3/4", "16,64", activation="tanh", input_dim=3))
    assert rules.rate_exponents == {"W1": {"N1": 0, "N2": F(-3, 2)}, "W2": {"N1": 0, "N2": F(-1, 2)},
                                    "C": {"N1": 0, "N2": F(-1, 2)}}
    np.testing.assert_allclose(rules.learning_rates([16, 64], 2.0), [2 / 512, 2 / 8, 2 / 8], rtol=1e-15)
    np.testing.assert_allclose(rules_for(NetworkSpec.from_strings("3/4,1/2", "16,64", activation="tanh",
                                                                  input_dim=3)).learning_rates([16, 64]),
                               [16 ** 0.5 / 64 ** 2, 16 ** 0.5 / 64, 1 / 64], rtol=1e-15)
    assert rules.time_exponents == {"N1": 0, "N2": 1} and rules.time_scale([16, 64]) == 64.0
    assert rules.eps_exponents == {"N1": 0, "N2": F(-1, 4)} and rules.nu == 1
    shallow = rules_for(NetworkSpec.from_strings("3/4", "64", activation="tanh", input_dim=3))
    assert shallow.variance_exponent == {"N1": F(-1, 2)}
    assert shallow.variance_exponent_along() == F(-1, 2) and shallow.variance_exponent_along([2]) == -1


def test_pair_moments_with_a_constant_coordinate():
    from asymexp.numeric.pairwise import pair_moments

    sig = lambda u: 1 / (1 + np.exp(-u))                                      # noqa: E731
    z, wt = np.polynomial.hermite_e.hermegauss(60)
    wt = wt / wt.sum()
    kk, kd, es = pair_moments("sigmoid", np.array([0.3, 1.0]), np.array([[0.0, 0.0], [0.0, 0.25]]), 40)
    # u_1 = 0.3 exactly, u_2 ~ N(1, 1/4): E[s(u_1) s(u_2)] = s(0.3) E s(1 + Z / 2) (1-d rules, error < 1e-14)
    np.testing.assert_allclose(kk[0, 1], sig(0.3) * (sig(1 + 0.5 * z) @ wt), rtol=1e-12)
    np.testing.assert_allclose(es, [sig(0.3), sig(1 + 0.5 * z) @ wt], rtol=1e-12)
    ds = lambda u: sig(u) * (1 - sig(u))                                      # noqa: E731
    np.testing.assert_allclose(kd[1, 1], (ds(1 + 0.5 * z) ** 2) @ wt, rtol=1e-12)


def test_deep_covariance_subtracts_the_mean_of_the_output_layer():
    # sigmoid, gamma_1 = 1/2, C ~ U(0, 1): S = E[C^2] K_2 - E[C]^2 m m^T with m = E sigmoid(Z) = 1/2 (Z symmetric)
    problem = load_problem("sigmoid4.toml")
    spec = problem.spec(["1/2", "3/4"], [16, 16]).replace(widths=None)
    spec = spec.replace(weight_laws=spec.weight_laws[:-1] + (Law.parse("uniform(0,1)"),))
    got = deep_frozen_kernel(spec, problem.points)
    sig = lambda u: 1 / (1 + np.exp(-u))                                      # noqa: E731
    P = problem.points.shape[0]
    gram = problem.points @ problem.points.T
    k1 = np.array([[_gauss_pair(sig, sig, gram[np.ix_([p, q], [p, q])], 60) for q in range(P)] for p in range(P)])
    k2 = np.array([[_gauss_pair(sig, sig, k1[np.ix_([p, q], [p, q])], 60) for q in range(P)] for p in range(P)])
    np.testing.assert_allclose(got.S, k2 / 3 - 0.25 / 4, rtol=0, atol=got.error + 1e-12)
