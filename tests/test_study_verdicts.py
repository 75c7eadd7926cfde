"""One verdict vocabulary in every study that checks a prediction (docs/interfaces.md, "Verdict entries"): the
shared builder :func:`asymexp.stats.interval_verdicts.judge` on constructed inputs, the summary rule, and a small
seeded run of each study giving entries of the right shape and words."""
import math

import pytest
from hypothesis import given, strategies as st

from asymexp.stats.interval_verdicts import (AGREE, DISAGREE, UNDETERMINED, Z95, family_z, judge, line, sentence,
                                             summary, undetermined)

VERDICTS = {AGREE, DISAGREE, UNDETERMINED}


def check_entries(doc: dict) -> None:
    """Every entry in the shape of docs/interfaces.md; the summary follows the rule."""
    assert doc["verdicts"], "a study that checks a prediction judges something"
    for e in doc["verdicts"]:
        assert {"quantity", "measured", "predicted", "verdict", "why"} <= set(e), e
        assert e["verdict"] in VERDICTS and e["why"]
        assert ("settle" in e) == (e["verdict"] == UNDETERMINED) and e.get("settle") is not False
        assert e["measured"] is None or any(k in e for k in ("se", "ci95", "bracket", "interval")), e
        assert isinstance(line(e), str) and "\n" not in line(e)
    for e in doc.get("not_judged", []):
        assert {"quantity", "measured", "why"} <= set(e) and "verdict" not in e
    assert {k: doc[k] for k in ("verdict", "verdict_reason")} == summary(doc["verdicts"])


def test_measured_equal_to_predicted_agrees():
    e = judge("x", 1.5, 1.5, se=0.1, settle="more")
    assert e["verdict"] == AGREE and "settle" not in e and e["judged"] == [1.5 - Z95 * 0.1, 1.5 + Z95 * 0.1]
    assert sentence(e).startswith("agrees: ")


def test_far_off_with_a_small_se_disagrees():
    e = judge("x", 2.0, 1.0, se=0.01, settle="more")
    assert e["verdict"] == DISAGREE and "excludes 1" in e["why"] and "settle" not in e


def test_a_huge_se_is_undetermined_with_a_settle_text():
    e = judge("x", 2.0, 1.0, se=1e3, max_width=1.0, settle="more samples")
    assert e["verdict"] == UNDETERMINED and e["settle"] == "more samples" and "wider than 1" in e["why"]
    assert sentence(e).endswith("; more samples")


def test_the_prediction_error_widens_the_interval_on_its_side():
    # the prediction may lie up to 0.5 above its value: a bracket [1.2, 1.3] is consistent with 1.0 -> agree
    assert judge("lr", 1.25, 1.0, bracket=[1.2, 1.3], predicted_error=(0.0, 0.5), settle="s")["verdict"] == AGREE
    assert judge("lr", 1.25, 1.0, bracket=[1.2, 1.3], predicted_error=(0.5, 0.0), settle="s")["verdict"] == DISAGREE
    assert judge("lr", 1.25, 1.0, bracket=[1.2, 3.0], max_ratio=2.0, settle="s")["verdict"] == UNDETERMINED


@given(st.integers(1, 10_000))
def test_family_z_is_the_bonferroni_limit(n):
    from scipy.stats import norm

    assert math.isclose(family_z(n), norm.ppf(1 - 0.025 / n), rel_tol=1e-12)
    assert family_z(n + 1) > family_z(n) and math.isclose(family_z(1), Z95, rel_tol=1e-12)


words = st.lists(st.sampled_from(sorted(VERDICTS)), max_size=8)


@given(words)
def test_the_summary_rule(ws):
    entries = [judge("a", 0.0, 0.0, se=1.0, settle="s") if w == AGREE else
               judge("d", 5.0, 0.0, se=1.0, settle="s") if w == DISAGREE else
               undetermined("u", None, 0.0, "no data", "more") for w in ws]
    s = summary(entries)
    expected = (DISAGREE if DISAGREE in ws else AGREE if ws and all(w == AGREE for w in ws) else UNDETERMINED)
    assert s["verdict"] == expected and s["verdict_reason"]


def test_gram_run():
    from asymexp import gram

    doc = gram("8,16,32", depth=12, burn_in=2, runs=3, seed=0).document
    check_entries(doc)
    assert doc["verdicts"][0]["quantity"] == "width exponent"
    assert doc["fit"]["verdict"] == sentence(doc["verdicts"][0])           # the sentence is derived, not separate
    assert any(e["quantity"].startswith("gap_rms / closed form") for e in doc["verdicts"])


def test_gram_without_bn_lists_the_unpredicted_exponent():
    from asymexp import gram

    doc = gram("8,16", depth=12, burn_in=2, runs=3, norm="none", seed=0).document
    check_entries(doc)
    assert [e["quantity"] for e in doc["not_judged"]] == ["width exponent"]


def test_lr_scan_run():
    from asymexp import lr_scan

    doc = lr_scan("1", 16, norm="none,mean-last", samples=16, steps=5, seed=0).document
    check_entries(doc)
    for row, e in zip(doc["rows"], doc["verdicts"]):
        lo, hi = row["linear_lr_stable_bracket"]
        assert hi >= row["predicted_lr_stable"] * (1 - 1e-12)       # the linearized model fails only above 2/lambda
        assert e["predicted"] == row["predicted_lr_stable"] and e["bracket"] == row["lr_stable_bracket"]


def test_lr_scan_linear_losses_fall_below_two_over_lambda():
    import numpy as np

    from asymexp.bn.lrscan.lr_verdicts import linear_losses
    from asymexp.bn.lrscan.thresholds import falls_monotonically

    mu, w = np.array([0.5, 2.0]), np.array([1.0, 1.0])
    assert falls_monotonically(linear_losses(mu, w, 4, 10, 0.99))        # 2 / lambda_max = 1
    assert not falls_monotonically(linear_losses(mu, w, 4, 10, 1.2))     # top mode grows by 1.4^2 per step
    small_top = np.array([1.0, 0.01])                                   # little residual along the top mode:
    assert falls_monotonically(linear_losses(mu, small_top, 4, 1, 1.2))  # one step still falls above 2 / lambda,
    assert not falls_monotonically(linear_losses(mu, small_top, 4, 30, 1.2))  # thirty do not (the finite-K excess)
    assert linear_losses(mu, w, 4, 1, 0.0) == [0.25, 0.25]


def test_one_step_run():
    from asymexp import one_step

    doc = one_step(layers=1, width=8, batch=4, lr_points=3, seeds=2, fraction_activations="relu",
                   fraction_layers="1", fraction_bias_vars="0").document
    check_entries(doc)
    by = {e["quantity"]: e for e in doc["verdicts"]}
    assert by["fraction relu H = 1 s_b^2 = 0 mean-last"]["predicted"] == 0.0
    assert any("bn" in e["quantity"] for e in doc["not_judged"])                     # no law under bn
    assert all(t["norm"] in e["quantity"] for t, e in zip(doc["thresholds"],
                                                          [e for e in doc["not_judged"] if "explosion" in e["quantity"]]))


@pytest.mark.parametrize("sizes", [None, "8,12,16"])
def test_rmt_run(sizes):
    from asymexp import rmt

    doc = rmt("1,2", size=None if sizes else 10, sizes=sizes, samples=20, orders=2, seed=0).document
    check_entries(doc)
    if sizes:
        assert any(e["quantity"].startswith("edge slope") for e in doc["verdicts"])
        assert all(e["predicted"] == -1.0 for e in doc["verdicts"] if e["quantity"].startswith("m2 slope"))
    else:
        assert all("slope" not in e["quantity"] for e in doc["verdicts"])
        assert all(e["verdict"] != DISAGREE for e in doc["verdicts"] if e["quantity"].startswith("edge"))
