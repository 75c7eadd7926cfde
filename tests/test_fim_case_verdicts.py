"""asymexp fim's verdicts name the net's case and judge the exponent over every model the data cannot reject or
cannot test (docs/batchnorm.md, "What asymexp fim reports"): the theory's 1/M offset at 3 widths, kappa2 = 0
predicting no growth, the forecast of what settles an undetermined exponent, and no document whose constant
agrees while its exponent disagrees."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.stats import binom

from asymexp.bn.fim import experiment as E
from asymexp.bn.fim import verdicts as V
from asymexp.bn.fim.predictions import KAPPA_ROUNDING, NetTheory, predicted_exponent


def _rows(widths, y, se, quantity="lambda_max"):
    return [{"width": float(m), quantity: float(v), f"{quantity}_se": float(s), "norm": "none"}
            for m, v, s in zip(widths, y, se)]


def _line_rows(seed, widths, slope, offset, rel):
    """y = slope M + offset, drawn with the known SE rel * y (Gaussian, seeded)."""
    rng = np.random.default_rng(seed)
    truth = slope * np.asarray(widths, float) + offset
    se = rel * truth
    return _rows(widths, truth + se * rng.standard_normal(len(widths)), se)


def test_three_relu_widths_judge_the_offset_model_too_and_do_not_disagree():
    """The pure power alone excludes 1 (the O(1) offset bends it below 1 over 64..256); the theory's own model
    V M^p (1 + b/M) has no degree of freedom at 3 widths, so it cannot be rejected and its interval joins."""
    study = E.FimStudy(layers=2, widths=(64, 128, 256), rho=1.0, outputs=2, activation="relu", weight_var=2.0,
                       bias_var=0.0, networks=6, seed=11)
    doc, _ = E.run_study(study)
    fit = doc["fits"][0]
    pure, offset = fit["models"]
    assert fit["quantity"] == "lambda_max" and fit["predicted"] == 1.0 and "kappa2 = 0.3429 > 0" in fit["why"]
    assert not pure["ci95"][0] <= 1.0 <= pure["ci95"][1]            # the false "disagree" of the pure power
    assert offset["model"] == "V*N^p*(1 + b1*1/M)" and offset["dof"] == 0 and offset["in_union"]
    assert fit["ci95"] == [min(pure["ci95"][0], offset["ci95"][0]), max(pure["ci95"][1], offset["ci95"][1])]
    assert fit["verdict"] != "disagree"
    if fit["verdict"] == "undetermined":
        assert "--widths" in fit["settle"] and "networks" in fit["settle"]
    const = doc["constants"][0]
    assert const["verdict"] == "agree" and V.contradiction(fit, const) is None


def test_tanh_without_bias_predicts_no_growth_and_agrees():
    study = E.FimStudy(layers=2, widths=(32, 64, 128, 256), rho=1.0, outputs=2, activation="tanh", weight_var=1.0,
                       bias_var=0.0, networks=6, seed=0)
    doc, _ = E.run_study(study)
    fit, const = doc["fits"][0], doc["constants"][0]
    th = doc["theory"]
    assert abs(th["kappa2"]) <= th["kappa_error"] + KAPPA_ROUNDING * th["kappa1"]
    assert fit["predicted"] == 0.0 and "zero within its quadrature error" in fit["why"]
    assert fit["verdict"] == "agree", fit
    assert const["predicted"] == 0.0 and const["verdict"] == "agree"


def test_the_case_follows_the_computed_kappa2_not_the_activation_name():
    tanh_bias = E.FimStudy(layers=2, widths=(8, 16), rho=1.0, activation="tanh", weight_var=1.0, bias_var=0.3)
    theory = E.theory_summary(tanh_bias)
    net = E.net_theory(tanh_bias, theory, "none")
    assert theory["kappa2"] > 0 and not net.kappa2_is_zero()
    assert predicted_exponent("none", "tanh", True, "lambda_max", net)[0] == 1.0
    for act in ("tanh", "sin", "identity"):
        centred = E.FimStudy(layers=2, widths=(8, 16), rho=1.0, activation=act, weight_var=1.0, bias_var=0.0)
        net = E.net_theory(centred, E.theory_summary(centred), "none")
        assert net.kappa2_is_zero(), act
        assert predicted_exponent("none", act, True, "lambda_max", net)[0] == 0.0
        # at fixed T, K1 / T = alpha M kappa1 / T grows like M even without outliers
        assert predicted_exponent("none", act, False, "lambda_max", net)[0] == 1.0
        assert predicted_exponent("none", act, True, "mean_eig", net)[0] == -1.0
    relu = E.FimStudy(layers=2, widths=(8, 16), rho=1.0)
    assert predicted_exponent("none", "relu", True, "lambda_max", E.net_theory(relu, E.theory_summary(relu),
                                                                                  "none"))[0] == 1.0
    # a kappa2 just outside its error bound is not zero
    just = NetTheory(kappa1=1.0, kappa2=2e-6, kappa_error=1e-6, alpha=2, rho=1.0)
    assert not just.kappa2_is_zero() and NetTheory(1.0, 1e-6, 1e-6, 2, 1.0).kappa2_is_zero()


@pytest.mark.parametrize("norm", ["bn", "bn-hidden", "ln"])
def test_hidden_normalization_predicts_growth_only_where_the_output_block_floor_is_positive(norm):
    def case(act, bias):
        study = E.FimStudy(layers=2, widths=(8, 16), rho=1.0, activation=act, weight_var=1.0, bias_var=bias,
                           norms=(norm,))
        return predicted_exponent(norm, act, True, "lambda_max", E.net_theory(study, E.theory_summary(study), norm))

    assert case("relu", 0.0)[0] == 1.0 and case("sigmoid", 0.0)[0] == 1.0
    pred, why = case("tanh", 0.0)
    assert pred is None and why.startswith("no law")
    # a bias survives layer norm (it is shared by the samples) but not batch norm (centred per unit)
    assert case("tanh", 0.3)[0] == (None if norm != "ln" else 1.0)


def test_three_widths_of_a_line_rarely_disagree_where_the_pure_power_nearly_always_does():
    """y = A M + B with B comparable to A M at the smallest width, 3 widths, 5% SEs: the pure power's interval
    excludes 1 in most draws; the judged union (with the 1/M model, the truth) excludes 1 at about the 5% rate of
    a 95% interval. Bound: the 99.9% binomial quantile at 5%."""
    draws, pure_out, union_out = 200, 0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(draws):
            rows = _line_rows(seed, [64, 128, 256], 0.7, 30.0, 0.02)
            fit = V.exponent_verdict(rows, "lambda_max", 1.0, "w")
            pure = fit["models"][0]["ci95"]
            pure_out += not pure[0] <= 1.0 <= pure[1]
            union_out += fit["verdict"] == "disagree"
    assert pure_out > draws / 2
    assert union_out <= binom.ppf(0.999, draws, 0.05)


def test_a_wide_union_is_undetermined_with_a_forecast_that_the_forecast_grid_confirms():
    """3 widths, 5% SEs: the untestable 1/M model leaves the union wide; the forecast suggests 64..1024 with the
    same networks (a union about 0.75 wide); measured there, the union's median width over 20 draws is below 1."""
    rows = _line_rows(3, [64, 128, 256], 0.7, 30.0, 0.05)
    fit = V.exponent_verdict(rows, "lambda_max", 1.0, "w")
    assert fit["ci95"][1] - fit["ci95"][0] > V.MAX_INTERVAL and fit["verdict"] == "undetermined"
    assert "wider than 1" in fit["settle"] and "--widths 64,128,256,512,1024 with the same networks" in fit["settle"]
    grid = [64, 128, 256, 512, 1024]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spans = [np.ptp(V.exponent_verdict(_line_rows(100 + s, grid, 0.7, 30.0, 0.05), "lambda_max", 1.0,
                                           "w")["ci95"] or [0, np.inf]) for s in range(20)]
    assert np.median(spans) <= V.MAX_INTERVAL


def test_the_union_is_over_exactly_the_models_not_rejected_or_untestable():
    rows = _line_rows(5, [64, 128, 256, 512], 0.7, 30.0, 0.002)
    fit = V.exponent_verdict(rows, "lambda_max", 1.0, "w")
    kept = [m for m in fit["models"] if m["in_union"]]
    assert [m["in_union"] for m in fit["models"]] == [m["dof"] == 0 or m["p_value"] >= 0.05 for m in fit["models"]]
    assert fit["ci95"] == [min(m["ci95"][0] for m in kept), max(m["ci95"][1] for m in kept)]
    # the pure power is rejected here (chi2 of a line bent by B = 30 with 0.2% SEs), the 1/M model is not
    assert not fit["models"][0]["in_union"] and fit["models"][1]["in_union"] and fit["verdict"] == "agree"


def test_a_contradicting_constant_is_not_judged():
    """seed 96 of the line (3 widths, 5% SEs): alone, A agrees with the slope while the union excludes 1."""
    rows = _line_rows(96, [32, 64, 128], 0.7, 13.2, 0.05)
    fit = V.exponent_verdict(rows, "lambda_max", 1.0, "w")
    alone = V.constant_verdict(rows, "lambda_max", 0.7)
    assert (fit["verdict"], alone["verdict"]) == ("disagree", "agree") and V.contradiction(fit, alone)
    judged = V.constant_verdict(rows, "lambda_max", 0.7, fit)
    assert judged["verdict"] == "undetermined" and judged["why"].startswith("not judged")
    assert judged["constant"] == alone["constant"] and "settle" in judged


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(3, 6), slope=st.sampled_from([0.0, 0.01, 0.7]),
       offset=st.floats(0.5, 40.0), rel=st.sampled_from([0.002, 0.01, 0.05, 0.2]),
       predicted_slope=st.sampled_from([0.0, 0.7]))
def test_no_document_has_an_agreeing_constant_and_a_disagreeing_exponent(seed, n, slope, offset, rel,
                                                                         predicted_slope):
    widths = 32.0 * 2.0 ** np.arange(n)
    rows = _line_rows(seed, widths, slope, offset, rel)
    predicted = 1.0 if predicted_slope else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = V.exponent_verdict(rows, "lambda_max", predicted, "w")
    const = V.constant_verdict(rows, "lambda_max", predicted_slope, fit)
    assert V.contradiction(fit, const) is None
    assert not (const["verdict"] == "agree" and fit["verdict"] == "disagree")
    if predicted_slope == 0.0:
        assert not (const["verdict"] == "disagree" and fit["verdict"] == "agree")
    assert fit["verdict"] in ("agree", "disagree", "undetermined")
    if fit["ci95"] is not None and fit["verdict"] != "undetermined":
        assert fit["ci95"][1] - fit["ci95"][0] <= V.MAX_INTERVAL


def test_mnist_names_kappa2_at_the_batches_overlaps():
    rows = [{"width": m, "predicted_lambda_max": 3.0 * m, "qhat0": 0.1, "qhat_st0": 0.03} for m in (16, 32)]
    study = E.FimStudy(layers=2, widths=(16, 32), samples=8, activation="tanh", weight_var=1.0, data="mnist")
    slope, why = E._effective_exponent(rows, "lambda_max", study)
    assert slope == pytest.approx(1.0, rel=1e-12) and "qhat_st^0 = 0.03" in why
    kappa2 = float(why.split("kappa2 = ")[1].split(" ")[0])
    assert kappa2 > 0 and math.isfinite(kappa2)


_NUMBER = r"(-?[0-9.]+(?:e[-+]?[0-9]+)?)"


def _printed(why: str, label: str) -> float:
    """The number that ``why`` prints right after ``label``."""
    import re

    found = re.search(re.escape(label) + r"\s*" + _NUMBER, why)
    assert found, (label, why)
    return float(found.group(1))


@pytest.mark.parametrize("rho", [2.5, 0.3])
def test_the_why_of_a_growing_net_prints_slope_offset_and_crossing_of_its_theory_block(rho):
    """kappa2 > 0 at fixed rho (docs/batchnorm.md, "The laws"): the why prints the slope alpha kappa2, the O(1)
    offset alpha rho (kappa1 - kappa2) and the width M where slope M equals the offset, each recomputed here from
    the theory block's kappa1, kappa2, alpha. Tolerance: the printed digits (4 significant, 3 for M)."""
    study = E.FimStudy(layers=2, widths=(8, 16), rho=rho)
    theory = E.theory_summary(study)
    k1, k2, a = theory["kappa1"], theory["kappa2"], theory["alpha"]
    assert k2 > 0 and abs(k1 - k2 - 1.0) > 0.1 and abs(a * k2 - 1.0) > 0.1   # / and * give other numbers
    pred, why = predicted_exponent("none", "relu", True, "lambda_max", E.net_theory(study, theory, "none"))
    assert pred == 1.0
    assert _printed(why, "kappa2 =") == pytest.approx(k2, rel=5e-4)
    slope = _printed(why, "slope alpha kappa2 =")
    offset = _printed(why, "alpha rho (kappa1 - kappa2) =")
    crossing = _printed(why, "equal at M =")
    assert slope == pytest.approx(a * k2, rel=5e-4)
    assert offset == pytest.approx(a * rho * (k1 - k2), rel=5e-4)
    assert crossing == pytest.approx(rho * (k1 - k2) / k2, rel=5e-3)
    assert slope * crossing == pytest.approx(offset, rel=6e-3)              # the meaning of the crossing


@given(k1=st.floats(0.05, 20.0), k2_frac=st.floats(0.01, 0.99), alpha=st.integers(1, 9), rho=st.floats(0.05, 20.0))
@settings(max_examples=60, deadline=None)
def test_the_why_numbers_of_any_growing_net_are_its_slope_offset_and_crossing(k1, k2_frac, alpha, rho):
    k2 = k2_frac * k1
    net = NetTheory(kappa1=k1, kappa2=k2, kappa_error=0.0, alpha=alpha, rho=rho)
    _, why = predicted_exponent("none", "relu", True, "lambda_max", net)
    assert _printed(why, "slope alpha kappa2 =") == pytest.approx(alpha * k2, rel=5e-4)
    assert _printed(why, "alpha rho (kappa1 - kappa2) =") == pytest.approx(alpha * rho * (k1 - k2), rel=5e-4)
    assert _printed(why, "equal at M =") == pytest.approx(rho * (k1 - k2) / k2, rel=5e-3)
    # at fixed T (no rho) there is no O(1) offset to print
    _, why_t = predicted_exponent("none", "relu", False, "lambda_max", net)
    assert "offset" not in why_t and "equal at M" not in why_t


@pytest.mark.parametrize("rho", [2.5, 0.3])
def test_the_why_of_a_centred_net_prints_k1_over_t_of_its_theory_block(rho):
    """kappa2 = 0 (tanh, no bias): at fixed rho the why prints K1/T = alpha rho kappa1 from the theory block
    (4 significant digits)."""
    study = E.FimStudy(layers=2, widths=(8, 16), rho=rho, activation="tanh", weight_var=1.0, bias_var=0.0)
    theory = E.theory_summary(study)
    k1, a = theory["kappa1"], theory["alpha"]
    assert abs(k1 - 1.0) > 0.1
    pred, why = predicted_exponent("none", "tanh", True, "lambda_max", E.net_theory(study, theory, "none"))
    assert pred == 0.0
    assert _printed(why, "K1/T = alpha rho kappa1 =") == pytest.approx(a * rho * k1, rel=5e-4)
    assert _printed(why, "quadrature error") == pytest.approx(theory["kappa_error"], rel=0.05)


def test_kappa2_is_zero_up_to_64_eps_of_kappa1_as_documented():
    """docs/batchnorm.md, "What asymexp fim reports": zero within its error is
    |kappa2| <= kappa_error + 64 eps kappa1. Both sides of 64 eps, with no quadrature error (all exact in binary)."""
    eps = np.finfo(float).eps
    for k1 in (1.0, 4.0):
        assert NetTheory(kappa1=k1, kappa2=64 * eps * k1, kappa_error=0.0, alpha=1).kappa2_is_zero()
        assert NetTheory(kappa1=k1, kappa2=-64 * eps * k1, kappa_error=0.0, alpha=1).kappa2_is_zero()
        assert not NetTheory(kappa1=k1, kappa2=64.5 * eps * k1, kappa_error=0.0, alpha=1).kappa2_is_zero()
        assert not NetTheory(kappa1=-k1, kappa2=64.5 * eps * k1, kappa_error=0.0, alpha=1).kappa2_is_zero()


def test_without_the_net_the_laws_of_a_net_that_is_not_centred_are_assumed():
    """predicted_exponent without ``net``: kappa2 > 0 (no normalization: the outliers alpha M kappa2, exponent 1)
    and relu's floor E relu(z)^2 > 0 after bn/ln (exponent 1); another activation after bn has no law (None)."""
    assert predicted_exponent("none", "relu", True, "lambda_max")[0] == 1.0
    assert predicted_exponent("none", "tanh", False, "lambda_max")[0] == 1.0
    assert predicted_exponent("bn", "relu", True, "lambda_max")[0] == 1.0
    assert predicted_exponent("ln", "relu", False, "lambda_max")[0] == 1.0
    assert predicted_exponent("bn", "tanh", True, "lambda_max")[0] is None
    floorless = NetTheory(kappa1=1.0, kappa2=0.3, kappa_error=0.0, alpha=2, rho=1.0, floor=None)
    assert predicted_exponent("bn", "relu", True, "lambda_max", floorless)[0] == 1.0


def test_a_floor_equal_to_its_error_is_not_beyond_it():
    """docs/batchnorm.md: c > 0 *beyond its error* gives exponent 1, so |c| = its error counts as zero."""
    at = NetTheory(kappa1=1.0, kappa2=0.3, kappa_error=0.0, alpha=2, rho=1.0, floor=0.25, floor_error=0.25)
    above = NetTheory(kappa1=1.0, kappa2=0.3, kappa_error=0.0, alpha=2, rho=1.0, floor=0.5, floor_error=0.25)
    assert at.floor_is_zero() and not above.floor_is_zero()
    assert predicted_exponent("bn", "relu", True, "lambda_max", at)[0] is None
    assert predicted_exponent("bn", "relu", True, "lambda_max", above)[0] == 1.0


def test_the_why_of_a_hidden_normalization_names_its_floor_and_prints_it():
    """c is (E phi(zhat))^2 for batch norm (it centres every pre-activation per unit) and qhat_st^{L-1} of the
    unit-variance chain for layer norm (module docstring); the why prints c (4 significant digits)."""
    net = NetTheory(kappa1=1.0, kappa2=0.3, kappa_error=0.0, alpha=2, rho=1.0, floor=0.123456, floor_error=1e-9)
    bn_why = predicted_exponent("bn", "relu", True, "lambda_max", net)[1]
    ln_why = predicted_exponent("ln", "relu", True, "lambda_max", net)[1]
    assert "c = (E phi(zhat))^2 = 0.1235 > 0" in bn_why and "qhat_st" not in bn_why
    assert "c = qhat_st^{L-1} = 0.1235 > 0" in ln_why and "E phi(zhat)" not in ln_why


@pytest.mark.parametrize("norm", ["mean-last", "bn-last"])
def test_output_centring_predicts_the_bulk_exponent(norm):
    """mean-last, bn-last: the outliers are removed and the bulk (K1 - K2) / T remains: exponent 0 at fixed rho,
    1 at fixed T (docs/batchnorm.md, "The laws"); m_lambda falls like 1/M in every case."""
    assert predicted_exponent(norm, "relu", True, "lambda_max")[0] == 0.0
    assert predicted_exponent(norm, "relu", False, "lambda_max")[0] == 1.0
    assert predicted_exponent(norm, "relu", True, "mean_eig")[0] == -1.0
