"""One verdict vocabulary: a 95% interval held against a prediction (docs/batchnorm.md, "What asymexp fim
reports"; docs/validation.md).

Every study of the toolkit answers in the same words: ``agree`` (the interval contains the prediction),
``disagree`` (it excludes it) or ``undetermined`` (the data cannot tell: no interval, a rejected model, or an
interval too wide to mean anything), plus ``no prediction`` where the theory predicts nothing. :func:`decide` is
the one place that chooses among them; the callers phrase the reason in their own documents.

The two width limits differ on purpose:

- ``max_width``: an interval wider than this cannot tell the competing predictions apart, whatever it contains,
  so it is undetermined even when it excludes the prediction (the FIM exponents: 0 against 1);
- ``target_half_width``: an interval that *contains* the prediction but is wider than this is not tight enough
  to call agreement (undetermined); one that excludes the prediction still disagrees (the b0 of the
  validations).
"""
from __future__ import annotations

from dataclasses import dataclass

AGREE = "agree"
DISAGREE = "disagree"
UNDETERMINED = "undetermined"
NO_PREDICTION = "no prediction"
#: The verdicts, in the words every document uses.
WORDS = (AGREE, DISAGREE, UNDETERMINED, NO_PREDICTION)

_VERB = {AGREE: "agrees", DISAGREE: "disagrees"}


@dataclass(frozen=True)
class Verdict:
    """``word``: one of :data:`WORDS`; ``reason``: the numbers behind it, one clause; ``settle``: for an
    undetermined verdict, what would settle it (None otherwise or when the caller gave nothing)."""

    word: str
    reason: str
    settle: str | None = None

    def sentence(self) -> str:
        """``"agrees: <reason>"``, ``"disagrees: <reason>"``, ``"undetermined: <reason>"`` (the Gram chain's
        verdict strings)."""
        return f"{_VERB.get(self.word, self.word)}: {self.reason}"


def decide(interval, predicted, what: str = "estimate", *, max_width: float | None = None,
           target_half_width: float | None = None, rejected: str | None = None,
           settle: str | None = None) -> Verdict:
    """The verdict on ``predicted`` from a 95% ``interval`` [lo, hi] (or None) of the ``what``.

    In order: a ``rejected`` model (its reason given) is undetermined; no prediction is ``no prediction``; no
    interval is undetermined; an interval wider than ``max_width`` is undetermined; one that excludes the
    prediction disagrees; one that contains it but has a half-width above ``target_half_width`` is
    undetermined; otherwise agree. ``settle`` is attached to an undetermined verdict.
    """
    if rejected is not None:
        return Verdict(UNDETERMINED, rejected, settle)
    if predicted is None:
        return Verdict(NO_PREDICTION, f"no prediction for the {what}")
    if interval is None:
        return Verdict(UNDETERMINED, f"no 95% CI of the {what}", settle)
    lo, hi = interval
    if max_width is not None and hi - lo > max_width:
        return Verdict(UNDETERMINED, f"the 95% CI of the {what} [{lo:.4g}, {hi:.4g}] is wider than {max_width:g}",
                       settle)
    if not lo <= predicted <= hi:
        return Verdict(DISAGREE, f"the 95% CI of the {what} excludes {predicted:g}")
    if target_half_width is not None and (hi - lo) / 2 > target_half_width:
        return Verdict(UNDETERMINED, f"the 95% CI of the {what} contains {predicted:g} but is wide (half-width "
                                     f"{(hi - lo) / 2:.4g} > {target_half_width:g})", settle)
    return Verdict(AGREE, f"the 95% CI of the {what} contains {predicted:g}")
