"""The Gram chain in batch size and depth (docs/batchnorm.md, "The Gram chain": "Batch size", "Mixing rate", "The
BN kernel by one integral"): the n-exponent fit, the mixing-rate estimate, the one-integral BN kernel against the
other routes, and the command's contract."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymexp.bn.gram import gram_bn_kernel as kernel
from asymexp.bn.gram.gram_batch_sweep import batch_fit, bound_gap, sweep_verdicts
from asymexp.bn.gram.gram_mean_field import fixed_point as mean_field_fixed_point
from asymexp.bn.gram.gram_mean_field import predicted_gap_rms
from asymexp.bn.gram.gram_mixing import measured_rate, mixing_rate, window_rate
from asymexp.cli import main

BATCHES = [2, 4, 8, 16, 32]
ROUNDING = 1e-9      # the one-integral kernel is adaptive to 1e-13; fixed points and eigenvalues to ~1e-9


def _rows(values, se, closed=None):
    return [{"batch": n, "gap_rms": v, "gap_rms_se": s, "gap_mean": v, "gap_mean_se": s,
             "closed_form": None if closed is None else closed[i], "bound": None}
            for i, (n, v, s) in enumerate(zip(BATCHES, values, se))]


# --- the n-exponent fit --------------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None)
@given(p=st.floats(0.1, 2.5), c=st.floats(0.01, 10.0))
def test_fit_recovers_an_exact_power(p, c):
    values = [c * n ** p for n in BATCHES]
    fit = batch_fit(_rows(values, [1e-3 * v for v in values]))
    assert fit["exponent"] == pytest.approx(p, abs=1e-7)
    assert fit["ci95"][0] < p < fit["ci95"][1]


def test_closed_form_exponent_is_the_fit_of_the_closed_form_itself():
    closed = [predicted_gap_rms("row-scale", "linear", n, 512) for n in BATCHES]
    fit = batch_fit(_rows(closed, [1e-4 * v for v in closed], closed))
    assert fit["closed_form_exponent"] == pytest.approx(fit["exponent"], abs=1e-9)
    # sqrt((n-1)(n+2)^2 / (4n(n+1)d)) tends to sqrt(n/(4d)): its effective exponent over 2..32 is a bit below 1/2
    assert 0.4 < fit["closed_form_exponent"] < 0.5


def test_noisy_power_law_interval_covers_the_truth():
    rng = np.random.default_rng(3)
    values = np.array([0.3 * n ** 0.5 for n in BATCHES])
    se = 0.01 * values
    fit = batch_fit(_rows(values * (1 + 0.01 * rng.standard_normal(5)), se))
    assert fit["ci95"][0] < 0.5 < fit["ci95"][1]


@pytest.mark.parametrize("p,rel,word", [(0.5, 0.01, "agree"), (2.6, 0.001, "disagree"), (2.0, 0.3, "undetermined")])
def test_bound_exponent_verdict(p, rel, word):
    values = [0.1 * n ** p for n in BATCHES]
    rows = [dict(r, bound=1e9) for r in _rows(values, [rel * v for v in values])]   # the linear row-scale chain's
    entries = sweep_verdicts(rows, batch_fit(rows), 512)["verdicts"]
    bound = next(e for e in entries if e["quantity"] == "n-exponent of gap_rms against the bound's 2")
    assert bound["verdict"] == word


def test_bound_exponent_not_judged_without_the_theorem():
    values = [0.1 * n ** 0.3 for n in BATCHES]
    rows = _rows(values, [0.01 * v for v in values])                  # bound None: not the theorem's chain
    out = sweep_verdicts(rows, batch_fit(rows), 512)
    assert not any("bound" in e["quantity"] for e in out["verdicts"])
    assert any("bound" in e["quantity"] for e in out["not_judged"])


def test_bound_reading():
    # 2 (n/(n+2))^l + n (n+2)/sqrt(d): at n = 4, d = 256, one layer l = 1: 2 * 2/3 + 24/16
    assert bound_gap(4, 256, [1]) == pytest.approx(4 / 3 + 1.5, rel=1e-15)


# --- the mixing-rate estimate ---------------------------------------------------------------------------------

def test_rate_estimate_recovers_a_known_geometric_decay():
    lam, floor, layers = 0.7, 1e-3, np.arange(61)
    rng = np.random.default_rng(0)
    amplitude = 2.0 * (1 + 0.01 * rng.standard_normal((8, 1)))          # per-run amplitude: slope unchanged
    distance = np.sqrt((amplitude * lam ** layers) ** 2 + floor ** 2)
    m = measured_rate(distance)
    assert m["floor"] == pytest.approx(floor, rel=1e-6)                   # the tail is floor alone to 1e-6
    assert m["rate"] == pytest.approx(lam, abs=1e-6)
    assert window_rate(amplitude[0] * lam ** layers, m["window"]) == pytest.approx(lam, abs=1e-12)


def test_rate_estimate_undetermined_without_a_window():
    distance = np.full((4, 20), 0.5) + 1e-3 * np.arange(4)[:, None]     # no decay at all
    assert measured_rate(distance)["rate"] is None


@pytest.mark.slow
def test_linear_chain_mixes_at_its_exact_rate():
    """The linear row-scale chain: every eigenvalue of the linearization is n/(n+2) exactly; at d = 2^16 the
    finite-width decay over the window agrees with the infinite-width trajectory (its exact prediction there);
    at d = 2^16 the noise floor (about 0.018) leaves a window of about 5 layers."""
    doc = mixing_rate("row-scale", "linear", 4, 2 ** 16, 24, 8, seed=1)
    assert doc["predicted"]["rate"] == pytest.approx(4 / 6, abs=doc["predicted"]["error"])
    assert doc["measured"]["rate"] is not None
    trajectory = next(e for e in doc["verdicts"] if "trajectory" in e["quantity"])
    assert trajectory["verdict"] == "agree"
    # the trajectory tends to lambda: at its deepest layer D_l / D_0 < 1e-3, so the map's nonlinearity (relative
    # corrections of order D_l) is below 1e-3 there
    assert doc["mean_field_distance"][-1] / doc["mean_field_distance"][0] < 1e-3
    assert doc["predicted"]["tail_rate"] == pytest.approx(4 / 6, abs=1e-3)


@pytest.mark.parametrize("chain,n,rate", [("row-scale", 3, 3 / 5), ("row-center", 4, 3 / 5), ("row-center", 5, 4 / 6)])
def test_linear_jacobian_closed_forms(chain, n, rate):
    jac = kernel.jacobian(chain, "linear", n)
    nonzero = [v for v in jac["eigenvalues"] if v > 1e-6]
    assert nonzero and all(v == pytest.approx(rate, abs=jac["largest_error"]) for v in nonzero)
    # with centring the batch-symmetric mode is forgotten in one layer
    assert jac["symmetric"] == pytest.approx(0.0 if chain == "row-center" else rate, abs=jac["symmetric_error"])


def test_relu_symmetric_mode_is_an_eigenvalue():
    jac = kernel.jacobian("row-scale", "relu", 3)
    assert min(abs(v - jac["symmetric"]) for v in jac["eigenvalues"]) <= jac["largest_error"] + jac["symmetric_error"]
    assert jac["largest"] > jac["symmetric"]


# --- the one-integral BN kernel -------------------------------------------------------------------------------

def test_quadrature_matches_the_angular_rule_at_n2():
    new = kernel.fixed_point("row-scale", "relu", 2)
    old = mean_field_fixed_point("row-scale", "relu", 2)
    assert old.method.startswith("quadrature")
    assert np.abs(new["gram"] - old.gram).max() <= new["error"] + old.error + ROUNDING
    assert new["off_diagonal"] == pytest.approx(0.2368, abs=5e-5)          # the value docs/batchnorm.md rounds


def test_quadrature_within_the_monte_carlo_error_at_n4():
    new = kernel.fixed_point("row-scale", "relu", 4)
    old = mean_field_fixed_point("row-scale", "relu", 4, samples=100_000)
    assert np.linalg.norm(new["gram"] - old.gram) <= 3 * old.error         # 3 SE of the batch-means error


def test_pre_bn_relu_has_a_closed_form():
    """With centring the centred r is isotropic in the plane orthogonal to 1, so G* = n/(n-1) kappa(P), P = I -
    11^T/n, kappa the arc-cosine kernel: diagonal 1/2, off-diagonal ((sin t + (pi - t) cos t) / (2 pi)), cos t =
    -1/(n-1)."""
    for n in (3, 4, 7):
        fp = kernel.fixed_point("pre-bn", "relu", n)
        t = math.acos(-1 / (n - 1))
        assert fp["diagonal"] == pytest.approx(0.5, abs=ROUNDING)
        assert fp["off_diagonal"] == pytest.approx((math.sin(t) + (math.pi - t) * math.cos(t)) / (2 * math.pi),
                                                   abs=ROUNDING)


def test_maps_of_a_generic_gram_against_monte_carlo():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 3))
    K = X @ X.T + 0.3 * np.eye(3)
    A, B, err = kernel.bn_maps(K, False, "relu")
    assert err < 1e-9 and np.trace(B) == pytest.approx(3, abs=1e-10)
    r = rng.standard_normal((400_000, 3)) @ np.linalg.cholesky(K).T
    b = math.sqrt(3) * r / np.linalg.norm(r, axis=1, keepdims=True)
    f = np.maximum(b, 0)
    for exact, samples in ((A, f), (B, b)):
        mc = np.einsum("mi,mj->ij", samples, samples) / len(samples)
        se = np.einsum("mi,mj->mij", samples, samples).std(axis=0) / math.sqrt(len(samples))
        assert np.all(np.abs(mc - exact) <= 5 * se + 1e-12)


def test_kernel_refuses_other_activations():
    with pytest.raises(Exception, match="tanh"):
        kernel.fixed_point("row-scale", "tanh", 4)


# --- the command ----------------------------------------------------------------------------------------------

def test_cli_batch_sweep_json(tmp_path, capsys):
    assert main(["gram", "--batch", "2,4,8", "--widths", "32", "--depth", "30", "--burn-in", "10", "--runs", "3",
                 "--json", "--out", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["study"] == "gram batch sweep" and [r["batch"] for r in doc["rows"]] == [2, 4, 8]
    assert {"gap_mean", "gap_mean_se", "gap_rms", "gap_rms_se", "closed_form", "bound"} <= set(doc["rows"][0])
    assert {"exponent", "ci95", "closed_form_exponent", "bound_exponent"} <= set(doc["fit"])
    assert doc["verdict"] in ("agree", "disagree", "undetermined")
    assert {"gram_batch.json", "gram_batch.png"} <= {p.name for p in tmp_path.iterdir()}


def test_cli_mixing_json(tmp_path, capsys):
    assert main(["gram", "--mixing", "--batch", "3", "--widths", "2048", "--depth", "16", "--runs", "3",
                 "--activation", "relu", "--json", "--out", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["study"] == "gram mixing" and doc["batch"] == 3
    assert {"rate", "ci95", "window", "floor"} <= set(doc["measured"])
    assert {"rate", "error", "symmetric_mode", "window_rate"} <= set(doc["predicted"])
    assert {"gram_mixing.json", "gram_mixing.png"} <= {p.name for p in tmp_path.iterdir()}


def test_text_report_names_the_modes(capsys):
    assert main(["gram", "--batch", "2,3", "--widths", "16", "--depth", "12", "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert "over batch sizes" in out and "n-exponent" in out and "verdict:" in out


@pytest.mark.parametrize("argv,named", [
    (["--batch", "2,4", "--widths", "16,32"], "--widths"),
    (["--batch", "2,x", "--widths", "16"], "'x'"),
    (["--batch", "2,2", "--widths", "16"], "repeats"),
    (["--batch", "2,4", "--widths", "16", "--norm", "none"], "norm none"),
    (["--batch", "2,64", "--widths", "16"], "width 16"),
    (["--mixing", "--batch", "2,4", "--widths", "64"], "--mixing"),
    (["--mixing", "--widths", "64,128"], "--widths"),
    (["--mixing", "--widths", "64", "--burn-in", "3"], "--burn-in 3"),
    (["--mixing", "--widths", "64", "--depth", "3"], "depth 3"),
    (["--mixing", "--widths", "64", "--norm", "none"], "norm none"),
])
def test_bad_input_is_one_line_and_exit_2(argv, named, capsys):
    try:
        rc = main(["gram", "--runs", "2"] + argv)
    except SystemExit as exc:
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err


def test_the_gram_result_of_a_mixing_study_says_which_fields_it_lacks():
    import asymexp
    from asymexp.api.gram_studies import gram_mixing
    from asymexp.errors import AsymexpError

    result = gram_mixing(batch=2, width=64, depth=8, runs=3)
    assert asymexp.api.gram_mixing is gram_mixing
    assert "measured" in result.to_dict()
    with pytest.raises(AsymexpError, match="gram mixing.*no 'rows'"):
        result.rows


# --- the mixing study's start and fit window by hand ------------------------------------------------------------

@pytest.mark.parametrize("batch", [2, 3, 6])
def test_collinear_start_is_c_ones_plus_one_minus_c_times_a_correlation_matrix(batch):
    """G_0 = c 11^T + (1 - c) R, c = 0.9, R a correlation matrix (docs/batchnorm.md, "Mixing rate"): unit
    diagonal, and (G_0 - c 11^T) / (1 - c) has unit diagonal, off-diagonals in [-1, 1] and no negative eigenvalue
    (to rounding)."""
    from asymexp.bn.gram.gram_mixing import collinear_start

    c = 0.9                                         # docs/batchnorm.md, "Mixing rate"
    G0 = collinear_start(batch, seed=3)
    R = (G0 - c * np.ones((batch, batch))) / (1 - c)
    assert np.allclose(np.diag(G0), 1.0, rtol=0, atol=1e-14)
    assert np.allclose(np.diag(R), 1.0, rtol=0, atol=1e-13) and np.allclose(R, R.T, rtol=0, atol=0)
    assert np.all(np.abs(R) <= 1 + 1e-13) and np.linalg.eigvalsh(R).min() >= -1e-13
    assert np.all(G0 >= 2 * c - 1 - 1e-14)          # every pair of inputs at correlation at least 0.8


@pytest.mark.parametrize("mean, floor, expected", [
    ([1.0, 0.5, 0.2, 0.15, 0.12, 0.1, 0.01, 0.01], 0.02, (2, 5)),     # from <= D_0/4 to the last >= 5 F = 0.1
    ([1.0, 0.2, 0.15, 0.12, 0.01, 0.01], 0.02, (1, 3)),               # exactly MIN_LAYERS = 3 layers
    ([1.0, 0.2, 0.15, 0.01, 0.01, 0.01], 0.02, None),                  # 2 layers: too short
    ([1.0, 0.2, 0.01, 0.3, 0.3, 0.3, 0.001], 0.02, None),              # ends where the mean first falls below 5 F
    ([1.0, 0.9, 0.5, 0.3, 0.26], 0.001, None),                         # never below D_0/4
    ([4.0, 1.0, 0.8, 0.6, 0.04], 0.08, (1, 3)),                        # D_l = D_0/4 starts it; 5 F = 0.4
    ([1.0, 0.2, 0.15, 0.12], 0.001, (1, 3)),                           # never below 5 F: to the last layer
])
def test_fit_window_follows_its_rule_by_hand(mean, floor, expected):
    from asymexp.bn.gram.gram_mixing import window

    assert window(np.array(mean), floor) == expected


def test_measured_rate_is_the_least_squares_slope_over_the_window_of_a_curved_decay():
    """D_l = sqrt(f_l^2 + F^2) in each of 4 identical runs, log f_l = -0.3 l - 0.01 l^2 (not geometric, so the
    slope depends on the window), and D_l = F exactly in the last third: the rate is exp of np.polyfit's slope of
    log f over the window the rule gives by hand; identical runs give a jackknife SE of 0."""
    layers = np.arange(31)
    floor = 1e-3
    f = np.exp(-0.3 * layers - 0.01 * layers ** 2)
    D = np.sqrt(f ** 2 + floor ** 2)
    D[20:] = floor
    distance = np.tile(D, (4, 1))
    first = int(np.argmax(D <= 0.25 * D[0]))
    last = int(np.argmax(D < 5 * floor)) - 1
    m = measured_rate(distance)
    assert m["floor"] == pytest.approx(floor, rel=1e-14) and m["window"] == [first, last]
    lw = layers[first:last + 1]
    slope = np.polyfit(lw, np.log(f[first:last + 1]), 1)[0]
    assert m["slope"] == pytest.approx(slope, rel=1e-9) and m["rate"] == pytest.approx(math.exp(slope), rel=1e-9)
    assert m["slope_se"] == pytest.approx(0.0, abs=1e-12)
    assert window_rate(f, (first, last)) == pytest.approx(math.exp(slope), rel=1e-12)


def test_measured_rate_se_is_the_jackknife_over_runs_by_hand():
    """Runs decaying at different rates: the slope is that of log(mean over runs of f_r^2) / 2 over the window,
    its SE the leave-one-run-out jackknife sqrt((R - 1)/R sum (theta_i - mean theta)^2), the CI exp(slope +- t SE)
    with Student's t at R - 1 degrees of freedom; each recomputed here with np.polyfit."""
    from scipy.stats import t as student

    layers = np.arange(40)
    floor = 1e-4
    rates = np.array([0.55, 0.6, 0.62, 0.7, 0.66])
    f = rates[:, None] ** layers[None, :]
    D = np.sqrt(f ** 2 + floor ** 2)
    D[:, 26:] = floor                                # the last third: layers 26..39
    m = measured_rate(D)
    mean = D.mean(axis=0)
    first = int(np.argmax(mean <= 0.25 * mean[0]))
    last = int(np.argmax(mean < 5 * floor)) - 1
    assert m["window"] == [first, last]
    lw, cols = layers[first:last + 1], slice(first, last + 1)

    def slope(keep):
        return np.polyfit(lw, 0.5 * np.log((f[keep, cols] ** 2).mean(axis=0)), 1)[0]

    runs = len(rates)
    theta = np.array([slope([i for i in range(runs) if i != r]) for r in range(runs)])
    se = math.sqrt((runs - 1) / runs * ((theta - theta.mean()) ** 2).sum())
    q = student.ppf(0.975, runs - 1)
    assert m["slope"] == pytest.approx(slope(list(range(runs))), rel=1e-9)
    assert m["slope_se"] == pytest.approx(se, rel=1e-7) and se > 0.01
    assert m["ci95"] == pytest.approx([math.exp(m["slope"] - q * se), math.exp(m["slope"] + q * se)], rel=1e-7)
    assert m["mean_distance_se"] == pytest.approx(D.std(axis=0, ddof=1) / math.sqrt(runs), rel=1e-12)


def test_linear_row_scale_jacobian_has_every_mode_at_n_over_n_plus_2():
    """The linear row-scale chain at n = 3: the Jacobian acts on the n(n+1)/2 = 6 coordinates of a symmetric
    matrix; the scale direction K* (eigenvalue 0) is left out, and each of the other 5 modes decays at
    n/(n+2) = 3/5 exactly."""
    jac = kernel.jacobian("row-scale", "linear", 3)
    assert len(jac["eigenvalues"]) == 5
    assert all(v == pytest.approx(3 / 5, abs=jac["largest_error"]) for v in jac["eigenvalues"])
