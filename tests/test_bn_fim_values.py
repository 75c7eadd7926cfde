"""asymexp fim's fits, verdicts and rows against values computed another way (docs/architecture.md, "Testing";
docs/batchnorm.md, "What asymexp fim reports"): exact power laws and straight lines, whose fitted parameters and
linearized standard errors have closed forms; E phi(Z) in closed form; a row's statistics by a plain loop over the
networks with statistics.mean/stdev."""
import math
import statistics

import numpy as np
import pytest

from asymexp.bn.dual import network_theta, spectrum
from asymexp.bn.fim import experiment as E
from asymexp.bn.fim import verdicts as V
from asymexp.bn.model import FimNetwork
from asymexp.bn.order_parameters import fim_predictions, order_parameters

Z95 = 1.959963984540054


def _rows(widths, y, rel, quantity="lambda_max", norm="none"):
    return [{"width": m, quantity: v, f"{quantity}_se": rel * v, "norm": norm} for m, v in zip(widths, y)]


def test_corrections_and_predicted_exponents_by_hand():
    assert V.corrections(True) == [(-1.0, "1/M")]
    assert V.corrections(False) == [(-0.5, "M^-1/2"), (-1.0, "1/M")]
    assert V.MAX_INTERVAL == 1.0
    table = {(n, a, rho, q): V.predicted_exponent(n, a, rho, q)[0]
             for n in ("none", "mean-last", "bn-last", "bn", "ln") for a in ("relu", "tanh")
             for rho in (True, False) for q in ("lambda_max", "mean_eig")}
    for (n, a, rho, q), p in table.items():
        if q == "mean_eig":
            assert p == -1.0
        elif n == "none":
            assert p == 1.0
        elif n in ("mean-last", "bn-last"):
            assert p == (0.0 if rho else 1.0)
        else:
            assert p == (1.0 if a == "relu" else None)


@pytest.mark.parametrize("fixed_rho", [True, False])
def test_an_exact_power_law_gives_its_exponent_and_the_log_log_standard_error(fixed_rho):
    widths = np.array([8.0, 16.0, 32.0, 64.0, 128.0])
    rel = 1e-3
    y = 2.5 * widths ** 0.7
    out = V.exponent_verdict(_rows(widths, y, rel), "lambda_max", 0.7, "why", fixed_rho=fixed_rho)
    # linearized: y = V M^p with SE rel*y is the straight line log y = log V + p log M with SE rel
    sxx = float(((np.log(widths) - np.log(widths).mean()) ** 2).sum())
    assert out["exponent"] == pytest.approx(0.7, abs=1e-9)
    assert out["exponent_se"] == pytest.approx(rel / math.sqrt(sxx), rel=1e-4)
    assert out["verdict"] == "agree" and out["model"] == "V*N^p" and "settle" not in out
    assert len(out["models"]) == (2 if fixed_rho else 3)
    assert out["ci95"][0] <= 0.7 <= out["ci95"][1]
    assert (out["quantity"], out["norm"], out["predicted"], out["why"]) == ("lambda_max", "none", 0.7, "why")
    assert V.exponent_verdict(_rows(widths, y, rel), "lambda_max", 0.8, "w")["verdict"] == "disagree"
    four = V.exponent_verdict(_rows(widths[:4], y[:4], rel), "lambda_max", 0.7, "w", fixed_rho=fixed_rho)
    # every model with no more parameters than widths is fitted, the untestable (0-dof) one too
    assert len(four["models"]) == (2 if fixed_rho else 3)
    three = V.exponent_verdict(_rows(widths[:3], y[:3], rel), "lambda_max", 0.7, "w", fixed_rho=fixed_rho)
    assert len(three["models"]) == 2 and three["models"][1]["dof"] == 0 and three["verdict"] == "agree"


def test_exponent_verdict_is_undetermined_when_the_data_cannot_tell():
    widths = [8.0, 16.0, 32.0]
    two = V.exponent_verdict(_rows(widths[:2], [1.0, 2.0], 0.01, "mean_eig"), "mean_eig", -1.0, "w")
    assert two["verdict"] == "undetermined" and two["exponent"] is None and "2 width(s)" in two["settle"]
    for y, se in (([1.0, 0.0, 2.0], 0.01), ([1.0, 2.0, np.nan], 0.01), ([1.0, 2.0, 3.0], 0.0)):
        rows = [{"width": m, "mean_eig": v, "mean_eig_se": se, "norm": "bn"} for m, v in zip(widths, y)]
        out = V.exponent_verdict(rows, "mean_eig", -1.0, "w")
        assert out["verdict"] == "undetermined" and "not positive with a positive SE" in out["settle"]
    # relative SE 0.4 over a factor 4 in width: half-width 1.96 * 0.4 / sqrt(Sxx) ~ 0.8, interval wider than 1
    # (y off a power law by +-1%, so that the fit has a residual; its SE is the log-log one to O(1%))
    y = [m * (1 + 0.01 * (-1) ** i) for i, m in enumerate(widths)]
    wide = V.exponent_verdict(_rows(widths, y, 0.4), "lambda_max", 5.0, "w")
    sxx = float(((np.log(widths) - np.log(widths).mean()) ** 2).sum())
    assert 2 * Z95 * 0.4 / math.sqrt(sxx) > 1.0
    assert wide["exponent_se"] == pytest.approx(0.4 / math.sqrt(sxx), rel=0.02)
    assert wide["verdict"] == "undetermined" and "wider than 1" in wide["settle"]


def test_an_exact_line_gives_its_constant_offset_and_weighted_least_squares_errors():
    widths = np.array([8.0, 16.0, 32.0, 64.0])
    se = np.array([0.1, 0.2, 0.2, 0.5])
    y = 3.0 * widths + 5.0
    rows = [{"width": m, "lambda_max": v, "lambda_max_se": s} for m, v, s in zip(widths, y, se)]
    out = V.constant_verdict(rows, "lambda_max", 3.0)
    coef, cov = np.polyfit(widths, y, 1, w=1 / se, cov="unscaled")
    assert out["constant"] == pytest.approx(3.0, rel=1e-12) and out["offset"] == pytest.approx(5.0, rel=1e-10)
    half = Z95 * math.sqrt(cov[0, 0])
    assert out["ci95"] == pytest.approx([3.0 - half, 3.0 + half], rel=1e-6)
    half_b = Z95 * math.sqrt(cov[1, 1])
    assert out["offset_ci95"] == pytest.approx([5.0 - half_b, 5.0 + half_b], rel=1e-6)
    assert out["chi2"] == pytest.approx(0.0, abs=1e-12) and out["dof"] == 2 and out["verdict"] == "agree"
    assert out["form"] == "lambda_max = A M + B" and "settle" not in out
    assert V.constant_verdict(rows, "lambda_max", 3.0 + 3 * half)["verdict"] == "disagree"
    # M m_lambda = A + B / M: m_lambda = (A + B / M) / M, its SE scaled by M
    m = (4.0 - 6.0 / widths) / widths
    rows = [{"width": w, "mean_eig": v, "mean_eig_se": s / w} for w, v, s in zip(widths, m, se)]
    out = V.constant_verdict(rows, "mean_eig", 4.0)
    coef, cov = np.polyfit(1 / widths, widths * m, 1, w=1 / se, cov="unscaled")
    assert out["constant"] == pytest.approx(4.0, rel=1e-10) and out["offset"] == pytest.approx(-6.0, rel=1e-8)
    half = Z95 * math.sqrt(cov[1, 1])
    assert out["ci95"] == pytest.approx([4.0 - half, 4.0 + half], rel=1e-6)
    half_b = Z95 * math.sqrt(cov[0, 0])
    assert out["offset_ci95"] == pytest.approx([-6.0 - half_b, -6.0 + half_b], rel=1e-6)
    assert out["verdict"] == "agree" and out["form"] == "M m_lambda = A + B / M"


def test_the_line_is_rejected_below_p_5_percent_only():
    widths = np.array([8.0, 16.0, 32.0, 64.0])
    # a residual orthogonal to 1 and M (equal SEs 1): chi2 = delta^2 with 2 degrees of freedom, p = exp(-chi2 / 2)
    X = np.column_stack([np.ones(4), widths])
    v = np.array([1.0, -1.0, -1.0, 1.0])
    v -= X @ np.linalg.lstsq(X, v, rcond=None)[0]
    v /= np.linalg.norm(v)
    for p_target, rejected in ((0.07, False), (0.03, True)):
        chi2 = -2 * math.log(p_target)
        rows = [{"width": m, "lambda_max": 3.0 * m + 5.0 + math.sqrt(chi2) * r, "lambda_max_se": 1.0}
                for m, r in zip(widths, v)]
        out = V.constant_verdict(rows, "lambda_max", 3.0)
        assert out["chi2"] == pytest.approx(chi2, rel=1e-9) and out["p_value"] == pytest.approx(p_target, rel=1e-8)
        assert (out["verdict"] == "undetermined") == rejected


def test_three_widths_suffice_for_the_constant():
    rows = [{"width": m, "lambda_max": 2.0 * m - 1.0, "lambda_max_se": 0.1} for m in (8.0, 16.0, 32.0)]
    out = V.constant_verdict(rows, "lambda_max", 2.0)
    assert out["constant"] == pytest.approx(2.0, rel=1e-12) and out["verdict"] == "agree" and out["dof"] == 1


def test_a_rejected_line_or_too_few_widths_is_undetermined():
    widths = [8.0, 16.0, 32.0, 64.0]
    rows = [{"width": m, "lambda_max": m ** 2, "lambda_max_se": 1.0} for m in widths]
    out = V.constant_verdict(rows, "lambda_max", 1.0)
    assert out["verdict"] == "undetermined" and out["p_value"] < 0.05 and "chi2" in out["settle"]
    assert V.constant_verdict(rows[:2], "lambda_max", 1.0)["verdict"] == "undetermined"
    rows[1]["lambda_max_se"] = 0.0
    assert V.constant_verdict(rows, "lambda_max", 1.0)["constant"] is None


def test_mean_se_mean_phi_samples_and_effective_exponent_by_hand():
    assert E._mean_se([1.0, None, 4.0, 2.5]) == (pytest.approx(2.5),
                                                pytest.approx(statistics.stdev([1.0, 4.0, 2.5]) / math.sqrt(3)))
    assert E._mean_se([1.0, None]) == (None, None)
    assert E._mean_se([1.0, 3.0, None]) == (2.0, 1.0)                     # two values: stdev sqrt(2), SE 1
    assert E._mean_phi("relu") == 1 / math.sqrt(2 * math.pi)
    assert E._mean_phi("tanh") == pytest.approx(0.0, abs=1e-15)
    assert E._mean_phi("sigmoid") == pytest.approx(0.5, abs=1e-15)
    assert E._mean_phi("gelu") == pytest.approx(1 / (2 * math.sqrt(math.pi)), rel=1e-13)   # E[Z Phi(Z)]
    study = E.FimStudy(layers=1, widths=(10, 21), rho=2.0)
    assert (study.samples_at(10), study.samples_at(21)) == (5, 10) and study.input_dim(21) == 21
    assert E.FimStudy(layers=1, widths=(4,), samples=3, data="mnist").input_dim(4) == 784
    rows = [{"width": m, "predicted_mean_eig": 7.0 * m ** -0.8} for m in (8, 20, 50)]
    assert E._effective_exponent(rows, "mean_eig")[0] == pytest.approx(-0.8, rel=1e-12)
    assert E._effective_exponent(rows[:1], "mean_eig")[0] is None
    rows[1]["predicted_mean_eig"] = None
    assert E._effective_exponent(rows, "mean_eig")[0] is None


@pytest.mark.parametrize("norm", ["none", "mean-last", "bn-last", "bn", "ln"])
def test_a_row_is_the_mean_and_se_over_its_networks_and_the_theory_of_docs(norm):
    study = E.FimStudy(layers=1, widths=(6,), samples=4, outputs=2, norms=(norm,), networks=3, seed=5,
                       bias_var=0.2)
    row = E.measure_width(study, 6, norm)
    net = FimNetwork(1, 6, 2, 6, "relu", 2.0, 0.2, norm)
    per = {k: [] for k in E.STATS}
    for n in range(3):
        rng = np.random.default_rng([5, 6, n])
        x = rng.standard_normal((4, 6))
        theta, raw, _ = network_theta(net, net.draw(rng), x)
        s = spectrum(theta, 4, 2, net.parameters)
        if raw is not None:
            plain = spectrum(raw, 4, 2, net.parameters, vectors=False)
            s["plain_lambda_max"], s["plain_lambda_c_plus_1"] = plain["lambda_max"], plain["lambda_c_plus_1"]
        for k in E.STATS:
            per[k].append(s.get(k))
    for k in E.STATS:
        v = [a for a in per[k] if a is not None]
        if len(v) < 2:
            assert row[k] is None and row[f"{k}_se"] is None
        else:
            assert row[k] == pytest.approx(statistics.mean(v), rel=1e-12)
            assert row[f"{k}_se"] == pytest.approx(statistics.stdev(v) / math.sqrt(len(v)), rel=1e-9, abs=1e-300)
    assert (row["width"], row["samples"], row["networks"], row["parameters"]) == (6, 4, 3, 7 * 6 + 7 * 2)
    op = order_parameters("relu", 1, 2.0, 0.2, 1.0, 0.0)
    pr = fim_predictions(op, 6, 4, 2, 6)
    T, C, p = 4, 2, pr["parameters"]
    q_last = op.q[-1] - op.q_st[-1]
    expect = {"none": dict(predicted_lambda_max=pr["lambda_max"], predicted_mean_eig=pr["mean_eig"],
                           predicted_second_moment=pr["second_moment"], lower_bound=None),
              # mean-last: the outputs' mean removed, tr F = C (K1 - K2) (T - 1) / T; bn-last: divided by q^L - q_st^L
              "mean-last": dict(lower_bound=pr["lower_bound"],
                                predicted_mean_eig=C * (pr["bulk"] * T) * (T - 1) / (T * p)),
              "bn-last": dict(lower_bound=pr["lower_bound"] / q_last,
                              predicted_mean_eig=C * (pr["bulk"] * T) * (T - 2) / (T * p * q_last)),
              "bn": dict(lower_bound=6 / (2 * math.pi), predicted_mean_eig=None),
              "ln": dict(lower_bound=6 * order_parameters("relu", 1, 2.0, 0.2, 1.0, 0.0, normalized=True).qhat_st[-1],
                         predicted_mean_eig=None)}[norm]
    for k, v in expect.items():
        assert row[k] == (None if v is None else pytest.approx(v, rel=1e-12)), k
    assert (row["qhat0"], row["qhat_st0"], row["predicted_bulk"], row["theory_error"]) == \
        (1.0, 0.0, pr["bulk"], pr["error"])


@pytest.mark.parametrize("rho", [None, 2.0])
def test_run_study_judges_the_slope_and_trace_constants_of_the_theory(rho):
    study = E.FimStudy(layers=1, widths=(4, 6, 8), samples=None if rho else 3, rho=rho, outputs=2, networks=2,
                       seed=1)
    doc, spectra = E.run_study(study)
    th = doc["theory"]
    a, k1, k2 = th["alpha"], th["kappa1"], th["kappa2"]
    slope = a * k2 if rho else a * ((3 - 1) / 3 * k2 + k1 / 3)
    consts = doc["constants"]
    assert [c["quantity"] for c in consts] == ["lambda_max", "mean_eig"]
    assert consts[0]["predicted"] == pytest.approx(slope, rel=1e-14)
    assert consts[1]["predicted"] == pytest.approx(2 * k1, rel=1e-14)
    assert [f["quantity"] for f in doc["fits"]] == ["lambda_max", "mean_eig"] and doc["fit"] is doc["fits"][0]
    assert doc["fits"][1]["predicted"] == -1.0 and doc["fits"][0]["predicted"] == 1.0
    assert spectra["none"]["width"] == 8 and len(doc["rows"]) == 3
    assert [r["width"] for r in doc["rows"]] == [4, 6, 8]
