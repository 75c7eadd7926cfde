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

The studies' verdict entries (docs/interfaces.md, "Verdict entries") are built here too, in one shape:
:func:`judge` (an estimate with its SE, 95% CI or bracket against a prediction, through :func:`decide`),
:func:`undetermined` (too little data to judge), :func:`not_judged` (no prediction, or none with an error), :func:`summary` (the study's one verdict: disagree if any
entry disagrees, agree only if all agree, else undetermined), :func:`family_z` (the Bonferroni limit of a family
of tests, the rule of docs/validation.md, "Verdict") and :func:`sentence` (the entry as one sentence).
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

AGREE = "agree"
DISAGREE = "disagree"
UNDETERMINED = "undetermined"
NO_PREDICTION = "no prediction"
#: The verdicts, in the words every document uses.
WORDS = (AGREE, DISAGREE, UNDETERMINED, NO_PREDICTION)

_VERB = {AGREE: "agrees", DISAGREE: "disagrees"}
#: The two-sided 95% normal quantile.
Z95 = NormalDist().inv_cdf(0.975)
#: Family-wise error rate of a family of tests (docs/validation.md, "Verdict").
FAMILY_ALPHA = 0.05


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
           settle: str | None = None, name: str = "95% CI", max_ratio: float | None = None) -> Verdict:
    """The verdict on ``predicted`` from a 95% ``interval`` [lo, hi] (or None) of the ``what``.

    In order: a ``rejected`` model (its reason given) is undetermined; no prediction is ``no prediction``; no
    interval is undetermined; an interval wider than ``max_width`` (or, for positive values, with hi / lo above
    ``max_ratio``: its width on a log scale) is undetermined; one that excludes the prediction disagrees; one
    that contains it but has a half-width above ``target_half_width`` is undetermined; otherwise agree.
    ``settle`` is attached to an undetermined verdict; ``name`` names the interval in the reason (a family-wise
    interval, a bisection bracket).
    """
    if rejected is not None:
        return Verdict(UNDETERMINED, rejected, settle)
    if predicted is None:
        return Verdict(NO_PREDICTION, f"no prediction for the {what}")
    if interval is None:
        return Verdict(UNDETERMINED, f"no {name} of the {what}", settle)
    lo, hi = interval
    if max_width is not None and hi - lo > max_width:
        return Verdict(UNDETERMINED, f"the {name} of the {what} [{lo:.4g}, {hi:.4g}] is wider than {max_width:g}",
                       settle)
    if max_ratio is not None and not (lo > 0 and hi <= max_ratio * lo):
        return Verdict(UNDETERMINED, f"the {name} of the {what} [{lo:.4g}, {hi:.4g}] spans more than a factor "
                                     f"{max_ratio:g}", settle)
    if not lo <= predicted <= hi:
        return Verdict(DISAGREE, f"the {name} of the {what} excludes {predicted:g}")
    if target_half_width is not None and (hi - lo) / 2 > target_half_width:
        return Verdict(UNDETERMINED, f"the {name} of the {what} contains {predicted:g} but is wide (half-width "
                                     f"{(hi - lo) / 2:.4g} > {target_half_width:g})", settle)
    return Verdict(AGREE, f"the {name} of the {what} contains {predicted:g}")


def family_z(tests: int, alpha: float = FAMILY_ALPHA) -> float:
    """The Bonferroni limit Phi^-1(1 - alpha / (2 tests)) of a family of ``tests`` two-sided tests: every
    estimate within it is a family-wise ``alpha`` test, valid however the estimates are correlated (the rule of
    docs/validation.md, "Verdict"; Z95 for one test)."""
    if tests < 1:
        raise ValueError(f"tests = {tests!r}: a family needs at least one test")
    return NormalDist().inv_cdf(1.0 - alpha / (2.0 * tests))


def family_rule(tests: int) -> str:
    """The family-wise rule in words, for the reasons."""
    if tests == 1:
        return "95% interval"
    return f"family-wise 5% over {tests} tests (Bonferroni, z = {family_z(tests):.2f})"


def judge(quantity: str, measured, predicted, *, se=None, ci95=None, bracket=None, interval=None, z: float = Z95,
          predicted_error=0.0, settle: str, rule: str | None = None, note: str | None = None, **limits) -> dict:
    """One verdict entry (docs/interfaces.md, "Verdict entries"): ``measured`` with its error held against
    ``predicted`` by :func:`decide`.

    The error is one of ``se`` (the interval measured +- ``z`` se; ``z`` from :func:`family_z` for a family),
    ``ci95`` (a 95% interval as given), ``bracket`` (an interval certain to hold the quantity, e.g. a
    bisection's) or ``interval`` (another interval, named by ``rule``: a family-wise one). ``predicted_error``: the prediction's own error, a number (either side) or (below, above),
    widening the judged interval. ``limits``: ``max_width``, ``max_ratio``, ``target_half_width``,
    ``rejected`` of :func:`decide`. ``settle``: what would settle an undetermined verdict. ``rule``: the
    interval's name in the reason (default "95% CI", "bisection bracket" for a bracket); ``note``: a clause
    added to the reason.
    """
    below, above = (predicted_error, predicted_error) if not isinstance(predicted_error, (tuple, list)) \
        else predicted_error
    out = {"quantity": quantity, "measured": measured}
    if se is not None:
        out["se"] = se
        base = None if measured is None else [measured - z * se, measured + z * se]
        name = rule or ("95% CI" if z == Z95 else "interval")
    elif ci95 is not None:
        out["ci95"], base, name = list(ci95), list(ci95), rule or "95% CI"
    elif bracket is not None:
        out["bracket"], base, name = list(bracket), list(bracket), rule or "bisection bracket"
    elif interval is not None:
        out["interval"], base, name = list(interval), list(interval), rule or "interval"
    else:
        base, name = None, rule or "95% CI"
    notes = [note] if note else []
    if base is not None and (below or above):
        base = [base[0] - above, base[1] + below]
        out["predicted_error"] = [below, above]
        notes.append(f"widened by the prediction's own error, {below:.2g} below and {above:.2g} above it")
    v = decide(base, predicted, quantity, settle=settle, name=name, **limits)
    out.update(predicted=predicted, judged=base, verdict=v.word,
               why=v.reason + (f" ({'; '.join(notes)})" if notes else ""))
    if v.word == UNDETERMINED:
        out["settle"] = v.settle
    return out


def undetermined(quantity: str, measured, predicted, why: str, settle: str, **error) -> dict:
    """An entry whose data cannot be judged (too few widths, no interval): ``why`` and ``settle`` in words;
    ``error``: ``se``, ``ci95`` or ``bracket`` where there is one."""
    return {"quantity": quantity, "measured": measured, **error, "predicted": predicted, "judged": None,
            "verdict": UNDETERMINED, "why": why, "settle": settle}


def not_judged(quantity: str, measured, why: str, predicted=None) -> dict:
    """A measured quantity that gets no verdict: the theory predicts nothing for it (``predicted`` None; "no
    prediction" is not a verdict), or its prediction has no error estimate to judge it with; ``why`` says which."""
    return {"quantity": quantity, "measured": measured, "predicted": predicted, "why": why}


def summary(entries: list) -> dict:
    """The study's verdict, as ``asymexp validate`` states it: ``{"verdict", "verdict_reason"}``; disagree if
    any entry disagrees, agree only if every entry (at least one) agrees, else undetermined."""
    words = [e["verdict"] for e in entries]
    count = {w: words.count(w) for w in (AGREE, DISAGREE, UNDETERMINED)}
    tally = ", ".join(f"{n} {w}" for w, n in count.items() if n)
    if not entries:
        return {"verdict": UNDETERMINED, "verdict_reason": "nothing was judged"}
    if count[DISAGREE]:
        names = "; ".join(e["quantity"] for e in entries if e["verdict"] == DISAGREE)
        return {"verdict": DISAGREE, "verdict_reason": f"{tally} of {len(entries)} verdicts; disagree: {names}"}
    if count[AGREE] == len(entries):
        return {"verdict": AGREE, "verdict_reason": f"all {len(entries)} verdicts agree"}
    names = "; ".join(e["quantity"] for e in entries if e["verdict"] == UNDETERMINED)
    return {"verdict": UNDETERMINED, "verdict_reason": f"{tally} of {len(entries)} verdicts; undetermined: {names}"}


def sentence(entry: dict) -> str:
    """``"agrees: <why>"``, ``"disagrees: <why>"`` or ``"undetermined: <why>; <settle>"``."""
    text = f"{_VERB.get(entry['verdict'], entry['verdict'])}: {entry['why']}"
    return text + (f"; {entry['settle']}" if entry.get("settle") else "")


def line(entry: dict) -> str:
    """The entry on one line for the command printers: quantity, measured +- error, predicted, verdict, why
    (and settle)."""
    m = entry["measured"]
    if m is None:
        value = "-"
    elif "se" in entry:
        value = f"{m:.5g} +- {entry['se']:.2g}"
    else:
        lo, hi = entry.get("ci95") or entry.get("bracket") or entry.get("interval") or (None, None)
        value = f"{m:.5g}" + ("" if lo is None else f" [{lo:.4g}, {hi:.4g}]")
    pred = "-" if entry["predicted"] is None else f"{entry['predicted']:.5g}"
    return f"{entry['quantity']}: {value}, predicted {pred}: {sentence(entry)}"


def verdict_lines(doc: dict) -> list[str]:
    """The verdict block of a study's text report: one :func:`line` per entry, the quantities not judged and
    the summary."""
    out = ["verdicts:"] + [f"  {line(e)}" for e in doc["verdicts"]]
    out += [f"  {e['quantity']}: not judged ({e['why']})" for e in doc.get("not_judged", [])]
    return out + [f"verdict: {doc['verdict']} ({doc['verdict_reason']})"]
