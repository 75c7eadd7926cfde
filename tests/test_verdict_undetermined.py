"""Too few widths to fit the predicted corrections give the verdict "undetermined" and say how many widths
would be needed; the bare power law (the raw slope) is never judged (docs/validation.md, "Fits and verdict").

Synthetic data are exact power laws with the predicted corrections and SEs of 1e-3 relative (no noise unless
stated), so a fit that is allowed to judge them must say "agree": the tests can fail either way."""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.cli import main
from asymexp.stats import fits
from asymexp.validation.markdown_report import markdown
from asymexp.validation.shallow_validation import fit_models, verdict

GAMMA = 0.75
PRED = 1 - 2 * GAMMA


def _data(widths, b1=0.3, slope=PRED, b0=1.0, noise=None):
    N = np.asarray(widths, dtype=float)
    ratio = b0 * N ** (slope - PRED) * (1 + b1 * N ** (2 * GAMMA - 2))
    ratio_se = 1e-3 * ratio
    if noise is not None:
        ratio = ratio + ratio_se * noise[:N.size]
    tot, tot_se = ratio * N ** PRED, ratio_se * N ** PRED
    return N, tot, tot_se, ratio, ratio_se


def _judge(widths, **kw):
    N, tot, tot_se, ratio, ratio_se = _data(widths, **kw)
    raw = fits.raw_slope(N, tot, tot_se)
    slope, ratio_fit, sel = fit_models(N, tot, tot_se, ratio, ratio_se, GAMMA, PRED, raw)
    return slope, ratio_fit, sel, verdict(slope, ratio_fit, PRED, sel)


def test_three_widths_are_undetermined_and_name_the_widths_needed():
    slope, _, sel, (word, why) = _judge([16, 32, 64])
    assert word == "undetermined"
    assert slope["fit"] is None and slope["raw"] is not None            # the raw slope is reported, not judged
    need = sel["widths_needed"]
    assert (need["have"], need["minimum"], need["all_candidates"], need["enough"]) == (3, 4, 5, False)
    assert need["suggestion"] == [16, 32, 64, 128, 256]
    assert "at least 4 widths" in why and "--widths 16,32,64,128,256" in why and "chi2" in why


def test_a_raw_slope_far_from_the_prediction_does_not_make_three_widths_disagree():
    """The case of the README example: with 3 widths the old code judged the bare power law (the raw slope)."""
    _, _, _, (word, _) = _judge([16, 32, 64], slope=PRED - 0.2)
    assert word == "undetermined"


def test_enough_widths_judge_both_ways():
    widths = [16, 32, 64, 128, 256, 512]
    assert _judge(widths)[3][0] == "agree"
    assert _judge(widths, b0=1.1)[3][0] == "disagree"                   # b0's interval excludes 1
    assert _judge(widths, slope=PRED - 0.2)[3][0] == "undetermined"     # no predicted model fits: not judged


@settings(max_examples=40, deadline=None, derandomize=True)
@given(n=st.integers(1, 3), slope=st.floats(-1.0, 0.0), b1=st.floats(-2.0, 2.0),
       noise=st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3))
def test_fewer_than_four_widths_never_judge(n, slope, b1, noise):
    widths = [16 * 2 ** k for k in range(n)]
    N, tot, tot_se, ratio, ratio_se = _data(widths, b1=b1, slope=slope, noise=np.array(noise))
    raw = fits.raw_slope(N, tot, tot_se) if n >= 2 else None
    s, r, sel = fit_models(N, tot, tot_se, ratio, ratio_se, GAMMA, PRED, raw)
    assert verdict(s, r, PRED, sel)[0] == "undetermined" and s["fit"] is None


def test_widths_needed_counts_parameters_plus_one_degree_of_freedom():
    terms = fits.correction_terms(GAMMA, 2)
    assert fits.widths_needed(terms, 3)["minimum"] == 4                   # V, p, b1 + 1 dof
    assert fits.widths_needed(terms, 4)["enough"]
    assert fits.widths_needed(terms[:1], 4)["all_candidates"] == 4
    assert fits.widths_needed([], 3) | {"reason": ""} == {"have": 3, "minimum": 3, "all_candidates": 3,
                                                         "enough": True, "reason": ""}
    assert fits.exponent_candidates([16, 32, 64], [1.0, 0.7, 0.5], [0.01] * 3, terms) == []
    assert len(fits.exponent_candidates([16, 32, 64], [1.0, 0.7, 0.5], [0.01] * 3, [])) == 1


def test_select_model_never_takes_an_untested_candidate():
    chosen, why = fits.select_model([{"ci95": [0, 1], "p_value": None}])
    assert chosen is None and "nothing is judged untested" in why


def test_readme_example_is_undetermined_and_says_why(tmp_path, capsys):
    """The README's quick example, with 3 widths (theory quadrature at 12 nodes to keep it short)."""
    assert main(["validate", "--problem", "tanh4.toml", "--gamma", "0.75", "--widths", "16,32,64", "--replicas",
                 "16", "--time", "0.1", "--seed", "1", "--quad-order", "12", "--out", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "undetermined" and doc["widths_needed"]["minimum"] == 4
    assert "too few widths to judge" in (tmp_path / "report.md").read_text()
    assert "too few widths to judge" in markdown(doc)


def test_the_exponent_reason_names_the_widths_only_when_they_are_too_few():
    """With too few widths the reason is the count; with enough, it is the fit's own (the chi2 rule)."""
    few = _judge([16, 32, 64])[2]["exponent"]["reason"]
    assert few.startswith("3 widths: ")
    enough = _judge([16, 32, 64, 128, 256, 512], slope=PRED - 0.2)[2]["exponent"]["reason"]
    assert not enough.startswith("6 widths") and "chi2" in enough
