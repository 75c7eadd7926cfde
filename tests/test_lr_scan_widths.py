"""asymexp lr-scan --widths: the width sweep, its exponent fits and verdicts, the creeping search and the
command's contract (the gradients of the two norms lr-scan gained, bn-last and ln: tests/test_lr_scan.py) (docs/batchnorm.md, "Learning-rate
thresholds", "Against width"; docs/interfaces.md, "asymexp lr-scan"). Synthetic rows are exact power laws with
declared SEs; the tolerances are float rounding or the fits' own 95% intervals."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymexp.bn.lrscan import width_fits as W
from asymexp.bn.lrscan.thresholds import bisect_threshold, creep_threshold

WIDTHS = (32, 64, 128, 256, 512)
SCATTER = (0.5, -0.3, 0.1, -0.6, 0.4)


def _rows(values, se_rel=0.02, count=6, widths=WIDTHS, norm="none"):
    """Rows of one norm and depth: lr_stable = values[i] times (1 + z_i se_rel), z a fixed scatter of at most
    0.6 SE that the fits' chi2 tests accept, with the relative SE ``se_rel`` and ``count`` networks."""
    return [{"width": m, "layers": 2, "norm": norm, "lr_stable": v * (1 + SCATTER[i] * se_rel),
             "lr_stable_se": se_rel * v, "lr_stable_count": count, "lr_stable_status": "bracketed"}
            for i, (m, v) in enumerate(zip(widths, values))]


def test_offset_law_agrees_with_minus_one_where_the_bare_power_law_alone_would_not():
    """lr = 2 / (A M + B) exactly: the local slope over 32..512 is above -1, the 1/M-corrected model holds -1;
    the judged interval is the union over the accepted models and must contain -1."""
    rows = _rows([2.0 / (0.7 * m + 12.0) for m in WIDTHS], se_rel=0.01)
    bare = np.polyfit(np.log(WIDTHS), np.log([r["lr_stable"] for r in rows]), 1)[0]
    assert -0.9 < bare < -0.8                        # the pure power's slope misses -1 by far more than 1% SEs
    f = W.exponent_entry(rows, "lr_stable", -1.0, "test", fixed_rho=True)
    lo, hi = f["ci95"]
    assert f["verdict"] == "agree" and lo <= -1.0 <= hi and hi - lo <= W.MAX_INTERVAL
    assert {m["model"] for m in f["models"]} == {"y = M^p / V", "y = M^p / V / (1 + b1*1/M)"}


@pytest.mark.parametrize("exponent, predicted, verdict", [(0.0, 0.0, "agree"), (-1.0, -1.0, "agree"),
                                                          (-0.5, -1.0, "disagree"), (-0.5, 0.0, "disagree"),
                                                          (-0.5, None, "no prediction")])
def test_pure_power_laws_are_judged_by_their_interval(exponent, predicted, verdict):
    f = W.exponent_entry(_rows([0.3 * m ** exponent for m in WIDTHS], se_rel=0.005), "lr_stable", predicted,
                         "test", fixed_rho=True)
    assert f["verdict"] == verdict and f["ci95"][0] <= exponent <= f["ci95"][1]
    assert set(f) >= {"norm", "layers", "quantity", "exponent", "ci95", "predicted", "verdict", "why"}


def test_too_few_or_too_noisy_widths_are_undetermined():
    three = W.exponent_entry(_rows([0.3 / m for m in WIDTHS[:3]]), "lr_stable", -1.0, "t", fixed_rho=True)
    assert three["verdict"] == "undetermined" and "fourth width" in three["settle"]
    two = W.exponent_entry(_rows([0.3 / m for m in WIDTHS[:2]]), "lr_stable", -1.0, "t", fixed_rho=True)
    assert two["verdict"] == "undetermined" and two["exponent"] is None
    wide = W.exponent_entry(_rows([0.3 / m for m in WIDTHS], se_rel=0.5), "lr_stable", -1.0, "t", fixed_rho=True)
    assert wide["verdict"] == "undetermined" and "wider than 1" in wide["why"]
    rows = _rows([0.3 / m for m in WIDTHS])
    rows[0].update(lr_stable=None, lr_stable_se=None, lr_stable_status="1 of 6 networks not bracketed (x)")
    dropped = W.exponent_entry(rows, "lr_stable", -1.0, "t", fixed_rho=True)
    assert dropped["verdict"] == "agree" and "M = 32: 1 of 6 networks not bracketed" in dropped["why"]


def test_log_mean_and_the_fits_sigma_by_hand():
    out = W.log_mean([1.0, 4.0, None], [[0.9, 1.1], [3.9, 4.1], None])
    assert out["value"] == pytest.approx(2.0, rel=1e-15) and out["count"] == 2
    assert out["log_se"] == pytest.approx(math.sqrt(math.log(4.0) ** 2 / 2 / 2), rel=1e-14)
    floor = W.log_mean([2.0, 2.0, 2.0], [[1.9, 2.1]] * 3)        # no spread: the brackets' rounding remains
    assert floor["log_se"] == pytest.approx(math.log(2.1 / 1.9) / math.sqrt(12 * 3), rel=1e-14)
    assert W.log_mean([1.0, None]) is None
    assert W.fit_sigma(1.0, 2) == pytest.approx(12.706204736174707 / 1.959963984540054, rel=1e-12)


@pytest.mark.parametrize("norm, activation, fixed_rho, expected", [
    ("none", "relu", True, -1.0), ("none", "relu", False, -1.0), ("none", "tanh", True, 0.0),
    ("none", "tanh", False, -1.0), ("mean-last", "relu", True, 0.0), ("mean-last", "relu", False, -1.0),
    ("bn-last", "tanh", True, 0.0), ("bn", "relu", True, -1.0), ("ln", "sigmoid", False, -1.0),
    ("bn", "tanh", True, None), ("ln", "identity", True, None)])
def test_predicted_exponents_follow_the_case(norm, activation, fixed_rho, expected):
    predicted, why = W.predicted_exponent(norm, activation, 2, fixed_rho, "lr_stable")
    assert predicted == expected and why
    assert W.predicted_exponent(norm, activation, 2, fixed_rho, "lr_max")[0] is None


@settings(max_examples=60, deadline=None)
@given(threshold=st.floats(1e-4, 1e4), guess=st.floats(1e-4, 1e4), ratio=st.floats(1.01, 3.0))
def test_creep_bracket_invariants(threshold, guess, ratio):
    """For a rule that passes iff lr < threshold: lo passes, hi fails, hi = lo * ratio; beyond the span: said so."""
    out = creep_threshold(lambda lr: lr < threshold, guess, ratio, span=64.0)
    lo, hi = out["bracket"]
    if out["status"] != "bracketed":
        assert out["value"] is None and (threshold > guess * 60 or threshold <= guess / 60)
        return
    assert lo < threshold <= hi and hi == pytest.approx(lo * ratio, rel=1e-12) and lo <= out["value"] <= hi


def test_creep_finds_the_transition_nearest_the_guess_where_bisection_jumps_over_it():
    """A rule passing on (0, 1) and again on [1.5, 100) (a scale-invariant net passes again at large rates): from
    0.5 the expansion by 4 passes at 2, 8, 32 and brackets the transition at 100; creeping stops at 1."""
    def passes(lr):
        return lr < 1.0 or 1.5 <= lr < 100.0

    creep = creep_threshold(passes, 0.5, 1.1)
    assert creep["bracket"][0] < 1.0 <= creep["bracket"][1]
    far = bisect_threshold(passes, 0.5, 1.1)
    assert far["bracket"][0] < 100.0 <= far["bracket"][1]


def test_sweep_rows_are_the_single_width_scans_of_their_seeds():
    """Network n at width M is asymexp lr-scan --width M --seed S + 1000 M + n --search creep, exactly."""
    from asymexp import lr_scan

    doc = lr_scan("1", widths="6,8", samples=6, steps=4, networks=2, seed=3, norm="none").document
    row = next(r for r in doc["rows"] if r["width"] == 8)
    single = lr_scan("1", 8, samples=6, steps=4, seed=3 + 8000 + 1, search="creep").document["rows"][0]
    net = row["per_network"][1]
    assert net["seed"] == 8004 and net["lr_stable"] == single["lr_stable"] and net["lr_max"] == single["lr_max"]
    logs = [math.log(p["lr_stable"]) for p in row["per_network"]]
    assert row["lr_stable"] == pytest.approx(math.exp(sum(logs) / 2), rel=1e-14)


def test_cli_contract_rows_fits_and_figure(tmp_path, capsys):
    from asymexp.cli import main

    assert main(["lr-scan", "--widths", "6,8,12,16", "--layers", "1", "--samples", "6", "--steps", "4",
                 "--networks", "2", "--norm", "none,bn-last,ln", "--json", "--out", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["rows"]) == 12 and doc["settings"]["search"] == "creep"
    for r in doc["rows"]:
        assert {"width", "layers", "norm", "lr_stable", "lr_max", "predicted_lr_stable", "lr_stable_se",
                "per_network"} <= set(r) and len(r["per_network"]) == 2
    assert [(f["norm"], f["quantity"]) for f in doc["fits"]] == [
        (n, q) for n in ("none", "bn-last", "ln") for q in ("lr_stable", "lr_max")]
    for f in doc["fits"]:
        assert {"norm", "layers", "quantity", "exponent", "ci95", "predicted", "verdict", "why"} <= set(f)
        assert f["verdict"] in ("agree", "disagree", "undetermined", "no prediction")
    assert doc["verdict"] in ("agree", "disagree", "undetermined")
    for name in ("lr_scan.png", "lr_scan.pdf", "lr_scan.json"):
        assert (tmp_path / name).is_file()


def test_the_verb_returns_the_commands_document(capsys):
    from asymexp import lr_scan
    from asymexp.cli import main

    result = lr_scan([1], widths=[6, 8], samples=6, steps=3, networks=2, norm="mean-last", seed=1)
    assert main(["lr-scan", "--layers", "1", "--widths", "6,8", "--samples", "6", "--steps", "3", "--networks",
                 "2", "--norm", "mean-last", "--seed", "1", "--json"]) == 0
    assert result.to_dict() == json.loads(capsys.readouterr().out)
    assert result.fits == result.document["fits"] and len(result.fits) == 2


@pytest.mark.slow
def test_small_real_sweep_does_not_disagree_without_normalization():
    """relu, H = 2, T = M (rho 1), widths 32..256, 4 networks (about 10 s): the exponent of lr_stable is judged
    against -1 and must not disagree; the bare power law's slope lies between -1.1 and -0.8 (the offset of
    lambda_max = A M + B keeps it above -1 at these widths; with mean subtraction it would be near 0)."""
    from asymexp import lr_scan

    doc = lr_scan("2", widths="32,64,128,256", rho=1, networks=4, seed=0, norm="none").document
    fit = next(f for f in doc["fits"] if f["quantity"] == "lr_stable")
    assert fit["predicted"] == -1.0 and fit["verdict"] in ("agree", "undetermined")
    assert -1.1 < fit["models"][0]["exponent"] < -0.8 and fit["models"][0]["model"] == "y = M^p / V"
    assert [r["samples"] for r in doc["rows"]] == [32, 64, 128, 256]


@pytest.mark.parametrize("argv, names", [
    (["--width", "8", "--widths", "8,16"], "not allowed with argument"),
    (["--widths", "8"], "at least 2 distinct widths"),
    (["--widths", "8,8"], "repeats a value"),
    (["--widths", "8,x"], "'x'"),
    (["--widths", "1,8"], "an integer >= 2"),
    (["--widths", "8,16", "--networks", "1"], "networks = 1"),
    (["--width", "8", "--networks", "3"], "--networks 3 needs --widths"),
    (["--widths", "8,16", "--samples", "8", "--rho", "1"], "not allowed with argument"),
    (["--widths", "8,16", "--rho", "0"], "rho = 0.0"),
    (["--widths", "6,16", "--rho", "5"], "gives T = 1 samples at width 6; T = round(M / rho) >= 2 is required"),
    (["--widths", "8,16", "--rho", "nan"], "--rho 'nan'"),
    (["--width", "8", "--rho", "8"], "--rho 8.0 with --width 8"),
    (["--widths", "8,16", "--search", "binary"], "'binary'"),
])
def test_bad_input_is_one_line_and_exit_2(argv, names, capsys):
    from asymexp.cli import main

    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["lr-scan", "--layers", "1"] + argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and names in err and "Traceback" not in err


@pytest.mark.parametrize("norm, activation, mean_phi", [
    ("bn", "relu", 1 / math.sqrt(2 * math.pi)), ("ln", "sigmoid", 0.5), ("bn", "gelu", 0.5 / math.sqrt(math.pi))])
def test_the_why_of_a_non_centred_activation_prints_its_mean_squared(norm, activation, mean_phi):
    """The output block's bound lambda_max >= M (E phi(z))^2, z ~ N(0, 1), by hand: E relu(z) = 1/sqrt(2 pi),
    E sigmoid(z) = 1/2 (sigmoid(z) + sigmoid(-z) = 1), E gelu(z) = E z Phi(z) = E Phi'(z) = 1/(2 sqrt(pi)) (Stein).
    The why prints 3 significant digits."""
    predicted, why = W.predicted_exponent(norm, activation, 2, True, "lr_stable")
    assert predicted == -1.0
    printed = float(why.split("(E phi(z))^2 = ")[1].split(" ")[0])
    assert printed == pytest.approx(mean_phi ** 2, rel=5e-3)


def _exact_rows(values, se_rel, count=6, widths=WIDTHS):
    return [{"width": m, "layers": 2, "norm": "none", "lr_stable": v, "lr_stable_se": se_rel * v,
             "lr_stable_count": count, "lr_stable_status": "bracketed"} for m, v in zip(widths, values)]


@pytest.mark.parametrize("count", [3, 6])
def test_bare_power_interval_is_students_over_the_log_width_spread(count):
    """Exact y = 0.3 M^-1/2 with relative SE s from ``count`` networks: the weighted fit of 1/y = V M^q has
    var(q) = sigma_rel^2 / sum (ln M - mean ln M)^2 (equal relative sigmas, the linearized log fit), sigma_rel =
    s t_{0.975, count-1} / 1.96 (fit_sigma), so the 95% interval of p = -q is -1/2 +- t s / sqrt(Sxx)."""
    from scipy.stats import t as student

    s = 0.01
    f = W.exponent_entry(_exact_rows([0.3 * m ** -0.5 for m in WIDTHS], s, count), "lr_stable", -1.0, "t",
                         fixed_rho=True)
    bare = f["models"][0]
    x = np.log(WIDTHS)
    half = student.ppf(0.975, count - 1) * s / math.sqrt(((x - x.mean()) ** 2).sum())
    assert bare["model"] == "y = M^p / V" and bare["exponent"] == pytest.approx(-0.5, abs=1e-12)
    assert bare["ci95"] == pytest.approx([-0.5 - half, -0.5 + half], rel=1e-6)   # the fit's own convergence


@pytest.mark.parametrize("fixed_rho, exponent, b, model", [
    (True, -1.0, [15.0], "y = M^p / V / (1 + b1*1/M)"),
    (False, -0.7, [3.0, -4.0], "y = M^p / V / (1 + b1*M^-1/2 + b2*1/M)")])
def test_the_declared_corrections_fit_exact_data_of_the_law(fixed_rho, exponent, b, model):
    """docs/batchnorm.md, "Against width": 2 / lambda_max carries a relative 1/M at fixed rho, M^-1/2 then 1/M at
    fixed T. Exact y = M^p / (V (1 + sum b_k M^{s_k})) of those s_k: the fully corrected model recovers p to the
    fit's rounding (chi2 ~ 0), the bare power law does not."""
    powers = [-1.0] if fixed_rho else [-0.5, -1.0]
    y = [m ** exponent / (2.0 * (1 + sum(bk * m ** s for bk, s in zip(b, powers)))) for m in WIDTHS]
    f = W.exponent_entry(_exact_rows(y, 0.01), "lr_stable", exponent, "t", fixed_rho=fixed_rho)
    full = f["models"][-1]
    assert len(f["models"]) == len(powers) + 1 and full["model"] == model
    assert full["exponent"] == pytest.approx(exponent, abs=1e-9) and full["chi2"] < 1e-12
    assert abs(f["models"][0]["exponent"] - exponent) > 0.05


def test_a_single_width_is_undetermined_not_an_error():
    one = W.exponent_entry(_exact_rows([0.3], 0.01, widths=(64,)), "lr_stable", -1.0, "t", fixed_rho=True)
    assert one["verdict"] == "undetermined" and one["exponent"] is None and "1 width(s)" in one["why"]
    assert (one["norm"], one["layers"], one["quantity"]) == ("none", 2, "lr_stable")


def test_log_mean_without_brackets_by_hand():
    """1, 2, 4: geometric mean 2, logs 0, ln 2, 2 ln 2 with sample variance ln(2)^2, so log SE ln 2 / sqrt(3) and
    SE 2 ln 2 / sqrt(3); no bracket rounding is added."""
    out = W.log_mean([1.0, 2.0, 4.0])
    assert out["value"] == pytest.approx(2.0, rel=1e-15) and out["count"] == 3
    assert out["log_se"] == pytest.approx(math.log(2.0) / math.sqrt(3), rel=1e-14)
    assert out["se"] == pytest.approx(2 * math.log(2.0) / math.sqrt(3), rel=1e-14)


def test_rows_without_a_value_or_an_se_are_left_out_and_named():
    """A width whose networks did not all bracket has no value or no SE: it is left out of the fit (the rest is an
    exact M^-1 law, so the exponent is -1 to rounding) and named in the why unless its status is 'bracketed'."""
    rows = _exact_rows([0.3 / m for m in WIDTHS], 0.01)
    rows[1].update(lr_stable_se=None, lr_stable_status="1 of 6 networks bracketed")    # a value, no SE
    rows[2].update(lr_stable=None, lr_stable_se=None)                                   # no value, no status
    del rows[2]["lr_stable_status"]
    f = W.exponent_entry(rows, "lr_stable", -1.0, "t", fixed_rho=True)
    assert f["exponent"] == pytest.approx(-1.0, abs=1e-9) and [m["dof"] for m in f["models"]] == [1]   # 3 widths left
    assert "M = 64: 1 of 6 networks bracketed" in f["why"] and "M = 128" not in f["why"]


def test_three_widths_keep_the_bare_exponent_of_exact_data():
    f = W.exponent_entry(_exact_rows([0.3 * m ** -0.8 for m in WIDTHS[:3]], 0.01), "lr_stable", -1.0, "t",
                         fixed_rho=True)
    assert f["verdict"] == "undetermined" and f["exponent"] == pytest.approx(-0.8, abs=1e-9)
    assert f["ci95"][0] < -0.8 < f["ci95"][1]


def test_every_model_rejected_is_undetermined():
    """Scatter of +-30 SE about a power law: every model's chi2 test rejects it, nothing is judged."""
    rows = _exact_rows([0.3 / m * (1 + 0.3 * (-1) ** i) for i, m in enumerate(WIDTHS)], 0.01)
    f = W.exponent_entry(rows, "lr_stable", -1.0, "t", fixed_rho=True)
    assert f["verdict"] == "undetermined" and f["exponent"] is None and "more widths" in f["settle"]
    assert all(m["p_value"] < 0.05 for m in f["models"])


def test_the_why_of_output_centring_names_its_mechanism():
    assert "mean subtraction" in W.predicted_exponent("mean-last", "relu", 2, True, "lr_stable")[1]
    assert "output batch norm" in W.predicted_exponent("bn-last", "relu", 2, True, "lr_stable")[1]


def test_summary_entries_are_the_judged_fits_only():
    fits = [{"quantity": "lr_stable", "norm": "bn", "layers": 2, "verdict": "agree"},
            {"quantity": "lr_max", "norm": "bn", "layers": 2, "verdict": "no prediction"}]
    assert W.summary_entries(fits) == [{"quantity": "lr_stable width exponent, bn, H = 2", "verdict": "agree"}]
