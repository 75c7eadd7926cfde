"""The Gram chain's simulation and measurements against values computed another way (docs/architecture.md,
"Testing"; docs/batchnorm.md, "The Gram chain"): the explicit chain by a plain per-run loop over drawn matrices,
Grams, norms, slopes and means by loops, polyfit and statistics, the per-layer log variance of the identity by
quadrature and of relu by a seeded Monte Carlo with its standard error, verdict thresholds by hand."""
import math
import statistics

import numpy as np
import pytest
from scipy import integrate, stats

from asymexp.bn.gram import gram_chain as C
from asymexp.bn.gram import gram_experiment as X
from asymexp.errors import AsymexpError

Z95 = 1.959963984540054


def test_input_gram_batch_gram_and_square_root_by_hand():
    np.testing.assert_array_equal(C.input_gram(3), [[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]])
    H = C.input_batch(7, 3, seed=2)
    assert H.shape == (7, 3)
    np.testing.assert_allclose(H.T @ H / 7, C.input_gram(3), rtol=0, atol=1e-14)
    A = np.arange(12.0).reshape(4, 3)
    np.testing.assert_allclose(C.gram(A), [[sum(A[k, i] * A[k, j] for k in range(4)) / 4 for j in range(3)]
                                           for i in range(3)], rtol=1e-15)
    K = np.array([[2.0, 1.0], [1.0, 2.0]])
    S = C.psd_sqrt(K)
    np.testing.assert_allclose(S @ S, K, rtol=1e-14)
    np.testing.assert_allclose(S, S.T, rtol=0, atol=1e-15)
    assert np.all(np.linalg.eigvalsh(S) > 0)
    np.testing.assert_allclose(C.psd_sqrt(np.diag([4.0, -1e-18])), np.diag([2.0, 0.0]), rtol=0, atol=1e-15)


def test_row_normalize_by_a_loop():
    P = np.array([[1.0, 2.0, 4.0], [0.0, 0.0, 0.0], [-1.0, 3.0, 1.0]])
    for center in (False, True):
        for eps in (0.0, 0.5):
            got = C.row_normalize(P, center, eps)
            for i, row in enumerate(P):
                m = row.mean() if center else 0.0
                c = row - m
                rms = math.sqrt((c * c).mean() + eps)
                np.testing.assert_allclose(got[i], c / rms if rms > 0 else c, rtol=1e-15, atol=0)


def test_chains_activations_weight_variances_and_centring():
    assert C.CHAINS == ("none", "row-scale", "row-center", "pre-bn") and C.INPUT_CORRELATION == 0.5
    assert C.ACTIVATIONS == ("sigmoid", "tanh", "relu", "linear", "sin", "gelu")
    assert C.CRITICAL == ("tanh", "relu", "linear", "sin")
    assert [C.centres(c) for c in C.CHAINS] == [False, False, True, True]
    assert [C.weight_variance(c, "relu") for c in C.CHAINS] == [2.0, 1.0, 1.0, 1.0]
    assert C.weight_variance("none", "linear") == 1.0 and C.weight_variance("pre-bn", "gelu") == 1.0
    with pytest.raises(AsymexpError):
        C.weight_variance("none", "gelu")
    C.check_sizes("none", 1, 2, 1, 1)                   # the smallest allowed sizes
    C.check_sizes("row-scale", 2, 2, 1, 1)
    C.check_sizes("row-scale", 3, 3, 1, 1)
    for args in (("row-scale", 1, 4, 1, 1), ("none", 0, 4, 1, 1), ("none", 1, 1, 1, 1), ("none", 3, 2, 1, 1),
                 ("none", 2, 4, 0, 1), ("none", 2, 4, 1, 0)):
        with pytest.raises(AsymexpError):
            C.check_sizes(*args)


def _phi(name, v):
    return {"relu": np.maximum(v, 0.0), "tanh": np.tanh(v), "linear": v}[name]


def _loop_chain(chain, act, batch, width, depth, runs, seed, method):
    """Grams (runs, depth + 1, n, n) by a per-run loop over the definition (docs/batchnorm.md)."""
    s2 = {"none": {"relu": 2.0}.get(act, 1.0)}.get(chain, 1.0)
    out = np.empty((runs, depth + 1, batch, batch))
    seqs = np.random.SeedSequence([seed, width]).spawn(runs)
    H0 = C.input_batch(width, batch, seed)
    gens = [np.random.default_rng(s) for s in seqs]
    Hs = [H0.copy() for _ in range(runs)]
    for r in range(runs):
        out[r, 0] = Hs[r].T @ Hs[r] / width
    for layer in range(1, depth + 1):
        for r in range(runs):
            H = Hs[r]
            Xr = _phi(act, H) if chain in ("row-scale", "row-center") else H
            if method == "explicit":
                P = gens[r].standard_normal((width, width)) * math.sqrt(s2 / width) @ Xr
            else:
                w, V = np.linalg.eigh(s2 * Xr.T @ Xr / width)
                P = gens[r].standard_normal((width, batch)) @ (V * np.sqrt(np.clip(w, 0, None))) @ V.T
            if chain != "none":
                c = P - P.mean(axis=1, keepdims=True) if chain in ("row-center", "pre-bn") else P
                P = c / np.sqrt((c * c).mean(axis=1, keepdims=True))
            Hs[r] = _phi(act, P) if chain in ("none", "pre-bn") else P
            out[r, layer] = Hs[r].T @ Hs[r] / width
    return out


@pytest.mark.parametrize("chain,act", [("none", "relu"), ("none", "tanh"), ("row-scale", "relu"),
                                       ("row-center", "tanh"), ("pre-bn", "relu")])
@pytest.mark.parametrize("method", ["explicit", "sampled"])
def test_simulate_equals_a_per_run_loop(chain, act, method):
    got = C.simulate(chain, act, 3, 5, 3, 2, seed=4, method=method)
    # sampled: relu's rank-deficient X^T X has rounding-level eigenvalues ~ 1e-16, whose square roots (~1e-8)
    # depend on the summation order: 10 sqrt(eps) absolute; explicit: rounding of the products
    tol = 10 * math.sqrt(np.finfo(float).eps) if method == "sampled" else 1e-12
    np.testing.assert_allclose(got, _loop_chain(chain, act, 3, 5, 3, 2, 4, method), rtol=1e-11, atol=tol)
    if chain in ("row-scale", "row-center"):
        np.testing.assert_allclose(np.trace(got[:, 1:], axis1=-2, axis2=-1), 3.0, rtol=1e-13)


# ---- the experiment's statistics ---------------------------------------------------------------------------

def test_mean_se_slopes_and_measure_by_loops():
    x = np.array([3.0, 1.0, 4.0, 1.5])
    assert X._mean_se(x) == (pytest.approx(statistics.mean(x)), pytest.approx(statistics.stdev(x) / 2))
    Y = np.array([[1.0, 2.0, 4.0, 3.0], [0.0, -1.0, 2.0, 5.0]])
    t = np.array([1.0, 2.0, 3.0, 5.0])
    np.testing.assert_allclose(X._slopes(t, Y), [np.polyfit(t, row, 1)[0] for row in Y], rtol=1e-13)
    rng = np.random.default_rng(0)
    grams = rng.standard_normal((2, 3, 2, 2))
    ref = rng.standard_normal((3, 2, 2)) + 3 * np.eye(2)
    error, gap = X.measure(grams, ref)
    for r in range(2):
        for l in range(3):
            tr_ref = ref[l, 0, 0] + ref[l, 1, 1]
            tr = grams[r, l, 0, 0] + grams[r, l, 1, 1]
            e = math.sqrt(sum((grams[r, l, i, j] - ref[l, i, j]) ** 2 for i in range(2) for j in range(2)))
            g = math.sqrt(sum((grams[r, l, i, j] / tr - ref[l, i, j] / tr_ref) ** 2
                              for i in range(2) for j in range(2)))
            assert error[r, l] == pytest.approx(e * 2 / tr_ref, rel=1e-13)
            assert gap[r, l] == pytest.approx(g, rel=1e-13)


def test_depth_check_is_the_mean_relative_drift_with_its_interval():
    error = np.array([[9.0, 1.0, 1.1, 1.3, 1.2, 1.6], [9.0, 2.0, 1.9, 2.4, 2.6, 2.2], [9.0, 1.0, 0.8, 0.9, 1.2, 1.0]])
    out = X.depth_check("row-scale", error, 1, 8)
    layers = [2.0, 3.0, 4.0, 5.0]
    window = error[:, 2:]
    drift = [np.polyfit(layers, row, 1)[0] * 3.0 / window.mean() for row in window]
    se = statistics.stdev(drift) / math.sqrt(3)
    assert out["value"] == pytest.approx(statistics.mean(drift), rel=1e-12) and out["se"] == pytest.approx(se)
    assert out["ci95"] == pytest.approx([out["value"] - Z95 * se, out["value"] + Z95 * se], rel=1e-12)
    assert out["layers"] == [2, 5] and out["predicted"] == 0.0
    assert X.depth_check("row-scale", error[:, :4], 0, 8)["value"] is not None       # layers 1..3: three
    assert X.depth_check("row-scale", error[:, :4], 1, 8)["value"] is None           # layers 2..3: two
    with pytest.raises(AsymexpError):
        X.depth_check("none", error, 1, 8)


def test_per_layer_log_variance_by_quadrature_and_monte_carlo():
    d = 6
    dens = stats.chi2(d).pdf
    mean = integrate.quad(lambda v: math.log(v / d) * dens(v), 0, np.inf)[0]
    var = integrate.quad(lambda v: (math.log(v / d) - mean) ** 2 * dens(v), 0, np.inf)[0]
    assert X.per_layer_log_variance("linear", d) == pytest.approx(var, rel=1e-7)
    assert X.per_layer_log_variance("identity", d) == X.per_layer_log_variance("linear", d)
    assert X.per_layer_log_variance("tanh", d) is None
    rng = np.random.default_rng(3)
    k = rng.binomial(d, 0.5, 400_000)
    k = k[k > 0]
    y = np.log(2.0 / d * rng.chisquare(k))
    dev2 = (y - y.mean()) ** 2
    se = dev2.std() / math.sqrt(y.size)                 # standard error of the sample variance
    assert abs(X.per_layer_log_variance("relu", d) - dev2.mean()) < 4 * se


def test_log_scale_check_by_loops():
    rng = np.random.default_rng(1)
    runs, depth, n, width = 5, 4, 2, 10
    y = np.cumsum(rng.standard_normal((runs, depth + 1, n)) * 0.1, axis=1)
    y[:, 0] = 0.0
    ref = np.broadcast_to(np.eye(n) * 2.0, (depth + 1, n, n))
    grams = np.zeros((runs, depth + 1, n, n))
    for i in range(n):
        grams[:, :, i, i] = 2.0 * np.exp(y[:, :, i])
    out = X.log_scale_check(grams, ref, "linear", width)
    inc = np.diff(y, axis=1)
    m = [statistics.mean(inc[:, :, i].ravel()) for i in range(n)]      # each input's mean increment
    per_run = [statistics.mean([(inc[r, l, i] - m[i]) ** 2 for l in range(depth) for i in range(n)])
               for r in range(runs)]
    v1, v1_se = statistics.mean(per_run), statistics.stdev(per_run) / math.sqrt(runs)
    assert out["beta"] == pytest.approx(width * v1, rel=1e-12) and out["beta_se"] == pytest.approx(width * v1_se)
    prof = [statistics.mean([statistics.variance(y[:, l, i]) for i in range(n)]) for l in range(1, depth + 1)]
    np.testing.assert_allclose(out["variance_profile"], prof, rtol=1e-12)
    ratio = prof[-1] / (depth * v1)
    assert out["accumulation"] == pytest.approx(ratio, rel=1e-12)
    assert out["accumulation_ci95"] == pytest.approx([ratio * 4 / stats.chi2.ppf(0.975, 4),
                                                      ratio * 4 / stats.chi2.ppf(0.025, 4)], rel=1e-12)
    assert out["predicted"] == pytest.approx(width * X.per_layer_log_variance("linear", width), rel=1e-14)
    assert out["ci95"] == pytest.approx([width * (v1 - Z95 * v1_se), width * (v1 + Z95 * v1_se)], rel=1e-12)
    assert out["value"] == out["beta"]
    assert X.log_scale_check(grams, ref, "tanh", width)["value"] is None


def test_depth_verdict_uses_the_bonferroni_level():
    one = {"value": 2.1, "se": 1.0, "predicted": 0.0, "quantity": "relative drift", "width": 8, "verdict": "x"}
    two = dict(one, value=0.0, width=16)
    assert X.depth_verdict([one]).startswith("disagrees") and "d = 8" in X.depth_verdict([one])
    # z = Phi^-1(1 - 0.025 / 2) = 2.2414: 2.1 SEs off is no longer a disagreement
    assert X.depth_verdict([one, two]).startswith("agrees") and "z = 2.24" in X.depth_verdict([one, two])
    assert X.depth_verdict([one, dict(two, value=None)]).startswith("disagrees")
    assert X.depth_verdict([dict(one, value=None, verdict="undetermined: few")]) == "undetermined: few"


def test_width_fit_and_closed_form_check_by_hand():
    widths = [8.0, 32.0, 128.0]
    err = [3.0 * w ** -0.5 for w in widths]
    out = X.width_fit(widths, err, [1e-3 * e for e in err])
    assert out["exponent"] == pytest.approx(-0.5, abs=1e-9) and out["verdict"].startswith("agrees")
    assert "untested" not in out["verdict"]
    two = X.width_fit(widths[:2], err[:2], [1e-3 * e for e in err[:2]])
    assert "untested" in two["verdict"]
    assert X.width_fit(widths[:1], err[:1], [1.0])["exponent"] is None
    assert X.closed_form_check(1.0, 1.0, None) is None
    c = X.closed_form_check(2.02, 0.01, 2.0)
    assert c["ratio"] == pytest.approx(1.01) and c["ci95"] == pytest.approx([1.01 - Z95 * 0.005, 1.01 + Z95 * 0.005])
    assert c["verdict"] == "within 5%"
    # the band's edges belong to it: 2.1 / 2 and 1.9 / 2 round to the same doubles as 1 + 0.05 and 1 - 0.05
    assert 2.1 / 2.0 == 1 + 0.05 and 1.9 / 2.0 == 1 - 0.05
    assert X.closed_form_check(2.1, 0.0, 2.0)["verdict"] == "within 5%"
    assert X.closed_form_check(1.9, 0.0, 2.0)["verdict"] == "within 5%"
    assert X.closed_form_check(2.2, 0.01, 2.0)["verdict"] == "outside 5%"
    assert X.closed_form_check(1.8, 0.01, 2.0)["verdict"] == "outside 5%"
    assert X.closed_form_check(2.1, 0.01, 2.0)["verdict"].startswith("undetermined")
    assert X.closed_form_check(1.9, 0.01, 2.0)["verdict"].startswith("undetermined")


def test_run_experiment_rows_are_the_run_means_of_measure():
    doc = X.run_experiment("row-scale", "linear", 2, [6, 4], depth=4, burn_in=1, runs=3, seed=2, samples=2000)
    assert [r["width"] for r in doc["rows"]] == [4, 6]
    ref = np.broadcast_to(doc["fixed_point"], (5, 2, 2))
    for row in doc["rows"]:
        error, gap = X.measure(C.simulate("row-scale", "linear", 2, row["width"], 4, 3, 2), ref)
        e = error[:, 2:].mean(axis=1)
        g2 = (gap[:, 2:] ** 2).mean(axis=1)
        assert row["error_mean"] == pytest.approx(statistics.mean(e), rel=1e-12)
        assert row["error_se"] == pytest.approx(statistics.stdev(e) / math.sqrt(3), rel=1e-10)
        assert row["gap_rms"] == pytest.approx(math.sqrt(statistics.mean(g2)), rel=1e-12)
        assert row["gap_rms_se"] == pytest.approx(statistics.stdev(g2) / math.sqrt(3) / (2 * row["gap_rms"]),
                                                  rel=1e-10)
    prof = doc["depth_profile"]
    assert prof["layers"] == [0, 1, 2, 3, 4] and len(prof["error"]) == 2
    assert [c["width"] for c in doc["depth_check"]] == [4, 6]
    with pytest.raises(AsymexpError):
        X.run_experiment("row-scale", "linear", 2, [4], depth=4, burn_in=4, runs=3)
    with pytest.raises(AsymexpError):
        X.run_experiment("row-scale", "linear", 2, [4], depth=4, burn_in=1, runs=1)
    X.run_experiment("row-scale", "linear", 2, [4], depth=4, burn_in=0, runs=2, samples=2000)


def test_run_experiment_without_bn_reports_the_last_mean_field_gram():
    from asymexp.bn.gram.gram_mean_field import mean_field_trajectory

    doc = X.run_experiment("none", "relu", 2, [4, 6], depth=3, burn_in=0, runs=2, seed=1)
    np.testing.assert_array_equal(doc["fixed_point"], mean_field_trajectory("relu", 2, 3)[0][-1])
    # a batch of one: G / tr G = 1 = G_ref / tr G_ref exactly, so the gap and its SE are 0
    one = X.run_experiment("none", "linear", 1, [4, 6], depth=3, burn_in=0, runs=2, seed=1)
    assert all(r["gap_rms"] == 0.0 and r["gap_rms_se"] == 0.0 for r in one["rows"])
