"""Jonckheere-Terpstra trend test and Holm's adjustment (asymexp.stats.trend; docs/mnist.md, "How a trend is
tested"). Exact cases are checked against counts by hand and, for two groups, against SciPy's exact Mann-Whitney
test (J is then the U statistic); the Monte Carlo branch against the exact one within 4 of its own SEs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import mannwhitneyu

from asymexp.mnist.grid_report import trend_tests
from asymexp.stats import trend
from asymexp.stats.trend import holm, jonckheere


def test_perfectly_ordered_groups_have_the_smallest_p_value():
    r = jonckheere([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert r["statistic"] == 27 and r["mean"] == 13.5 and r["assignments"] == 1680
    assert r["p_rise"] == pytest.approx(1 / 1680) and r["p_fall"] == 1.0


def test_equal_values_are_no_evidence_either_way():
    r = jonckheere([[0.1265] * 3] * 3)
    assert r["statistic"] == r["mean"] and r["p_rise"] == 1.0 and r["p_fall"] == 1.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1, 1), min_size=2, max_size=5, unique=True),
       st.lists(st.floats(-1, 1), min_size=2, max_size=5, unique=True))
def test_two_groups_agree_with_the_exact_mann_whitney_test(x, y):
    if set(x) & set(y):
        return
    r = jonckheere([x, y])
    assert r["p_rise"] == pytest.approx(mannwhitneyu(x, y, alternative="less", method="exact").pvalue, rel=1e-9)
    assert r["p_fall"] == pytest.approx(mannwhitneyu(x, y, alternative="greater", method="exact").pvalue, rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=3), min_size=2, max_size=3))
def test_reversing_the_order_swaps_rise_and_fall(groups):
    a, b = jonckheere(groups), jonckheere(groups[::-1])
    assert a["p_rise"] == pytest.approx(b["p_fall"]) and a["p_fall"] == pytest.approx(b["p_rise"])


def test_monte_carlo_branch_agrees_with_the_exact_count(monkeypatch):
    groups = [[0.12, 0.2, 0.15], [0.18, 0.3, 0.22], [0.25, 0.19, 0.4]]
    exact = jonckheere(groups)
    monkeypatch.setattr(trend, "EXACT_LIMIT", 10)
    mc = jonckheere(groups)
    assert mc["method"] == "monte carlo" and mc["assignments"] == trend.MC_PERMUTATIONS
    worst = max(p * (1 - p) for p in (mc["p_rise"], mc["p_fall"]))
    assert mc["mc_se"] == pytest.approx((worst / trend.MC_PERMUTATIONS) ** 0.5)
    assert abs(mc["p_rise"] - exact["p_rise"]) < 4 * mc["mc_se"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_adjusted_p_values(p):
    a = np.array(holm(p))
    p = np.array(p)
    assert np.all(a >= p - 1e-15) and np.all(a <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(a[order]) >= -1e-15)        # monotone in the raw p-values
    assert a[order[0]] == pytest.approx(min(1.0, p.size * p[order[0]]))


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])


def _run(g, seed, acc):
    return {"gammas": g, "seed": seed, "lr_scale": 1.0, "loss": "ce", "status": "finished",
            "history": [{"epoch": 1, "test_acc": acc, "train_loss": 2.0}]}


def test_grid_trend_tests_find_falls_as_well_as_rises():
    runs = [_run(("1/2", g), s, base + 0.01 * s) for g, base in (("1/2", 0.3), ("7/10", 0.5), ("1", 0.7))
            for s in range(3)]
    runs += [_run(("1", g), s, base + 0.01 * s) for g, base in (("1/2", 0.7), ("7/10", 0.5), ("1", 0.3))
             for s in range(3)]
    t = trend_tests(runs)
    rows = {tuple(r["inner"]): r for r in t["rows"]}
    assert t["tests"] == 4 and t["rises"] == 1 and t["falls"] == 1
    assert rows[("1/2",)]["p_rise_holm"] == pytest.approx(4 / 1680)
    assert rows[("1",)]["p_fall_holm"] == pytest.approx(4 / 1680)


def test_grid_trend_tests_at_depth_three_with_two_outer_values():
    """Inner tuples are all but the last gamma (here two gammas), and two gamma_L values are enough for a test."""
    runs = [_run(("1", a, g), s, base + 0.1 * (a == "1") + 0.01 * s) for a in ("1/2", "1")
            for g, base in (("1/2", 0.3), ("1", 0.6)) for s in range(3)]
    t = trend_tests(runs)
    assert [r["inner"] for r in t["rows"]] == [["1", "1/2"], ["1", "1"]]
    assert all(r["last_gammas"] == ["1/2", "1"] and r["p_rise"] == pytest.approx(1 / 20) for r in t["rows"])


def test_diverged_runs_are_counted_and_a_configuration_that_only_diverged_has_no_points():
    from asymexp.mnist.grid_report import analyse

    runs = [_run(("1/2", "1/2"), s, 0.3) for s in range(2)] + [_run(("1/2", "1"), s, 0.5) for s in range(2)]
    runs += [dict(_run(("1/2", "1"), 2, 0.5), status="diverged", history=[])]
    runs += [dict(_run(("1", "1"), s, 0.5), status="diverged", history=[]) for s in range(2)]
    table = {tuple(r["gammas"]): r for r in analyse(runs)["table"]}
    assert table[("1/2", "1")]["diverged"] == 1 and table[("1/2", "1")]["seeds"] == 2
    assert table[("1", "1")]["diverged"] == 2 and table[("1", "1")]["seeds"] == 0
    assert table[("1", "1")]["epochs"] == 0 and table[("1", "1")]["final_test_acc"] is None
