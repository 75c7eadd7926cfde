"""asymexp.stats.interval_verdicts.decide: the one place that says agree / disagree / undetermined
(docs/batchnorm.md, "What asymexp fim reports"; docs/validation.md)."""
from hypothesis import given, strategies as st

from asymexp.stats.interval_verdicts import AGREE, DISAGREE, NO_PREDICTION, UNDETERMINED, WORDS, Verdict, decide

finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(finite, st.floats(0, 1e3), finite)
def test_the_word_is_whether_the_interval_contains_the_prediction(lo, width, predicted):
    v = decide([lo, lo + width], predicted, "slope")
    assert v.word == (AGREE if lo <= predicted <= lo + width else DISAGREE)
    assert ("contains" if v.word == AGREE else "excludes") in v.reason and v.settle is None


@given(finite, st.floats(0, 1e3), finite, st.floats(0, 1e3))
def test_max_width_makes_any_wide_interval_undetermined(lo, width, predicted, limit):
    v = decide([lo, lo + width], predicted, max_width=limit, settle="more widths")
    if (lo + width) - lo > limit:                      # the width as stored (lo + width rounds)
        assert (v.word, v.settle) == (UNDETERMINED, "more widths")
    else:
        assert v == decide([lo, lo + width], predicted)


@given(finite, st.floats(0, 1e3), finite, st.floats(0, 1e3))
def test_a_wide_interval_that_excludes_the_prediction_still_disagrees_under_a_target(lo, width, predicted, half):
    v = decide([lo, lo + width], predicted, target_half_width=half)
    inside = lo <= predicted <= lo + width
    assert v.word == (DISAGREE if not inside else UNDETERMINED if ((lo + width) - lo) / 2 > half else AGREE)


def test_no_prediction_no_interval_and_a_rejected_model():
    assert decide([0, 1], None).word == NO_PREDICTION
    assert decide(None, 0.5, settle="s") == Verdict(UNDETERMINED, "no 95% CI of the estimate", "s")
    assert decide([0, 1], None, rejected="chi2 p = 0.01").word == UNDETERMINED
    assert decide([0, 1], 0.5, rejected="chi2 p = 0.01", settle="s") == Verdict(UNDETERMINED, "chi2 p = 0.01", "s")
    assert set(WORDS) == {AGREE, DISAGREE, UNDETERMINED, NO_PREDICTION}


def test_the_gram_chain_sentences():
    assert decide([-0.6, -0.4], -0.5, "width exponent").sentence() == \
        "agrees: the 95% CI of the width exponent contains -0.5"
    assert decide([0.1, 0.2], 0.0, "relative drift").sentence() == \
        "disagrees: the 95% CI of the relative drift excludes 0"
