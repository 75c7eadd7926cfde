"""The two learning-rate thresholds of full-batch GD, each located by bisection in log step size
(docs/batchnorm.md, "Learning-rate thresholds").

- :func:`falls_monotonically`: every loss finite and each strictly below the one before (the ``lr_stable`` rule);
- :func:`ends_below_start`: every loss finite and the last strictly below the first (the ``lr_max`` rule);
- :func:`bisect_threshold`: a bracket [lo, hi] with ``passes(lo)`` and not ``passes(hi)``, hi / lo <= ``ratio``,
  found by geometric expansion from a guess and then bisection of log(lr). The rules are not proven monotone in
  the step size: the bracket holds one pass/fail transition, the largest one reached from the guess;
- :func:`creep_threshold`: the same bracket with hi / lo = ``ratio`` exactly, found by stepping from the guess by
  the factor ``ratio`` (up while the rule passes, down while it fails): the transition nearest the guess, the
  lowest one above it. Where the rule is not monotone (a scale-invariant net, ``bn-last``, whose loss is bounded
  and passes again at large rates) this is the classical threshold, which the expansion by 4 may jump over.
"""
from __future__ import annotations

import math

from asymexp.errors import SpecError


def falls_monotonically(losses) -> bool:
    """True iff every value is finite and each is strictly smaller than its predecessor (needs >= 2 values)."""
    if len(losses) < 2 or not all(math.isfinite(v) for v in losses):
        return False
    return all(b < a for a, b in zip(losses, losses[1:]))


def ends_below_start(losses) -> bool:
    """True iff every value is finite and the last is strictly smaller than the first (needs >= 2 values)."""
    if len(losses) < 2 or not all(math.isfinite(v) for v in losses):
        return False
    return losses[-1] < losses[0]


def bisect_threshold(passes, guess: float, ratio: float = 1.1, factor: float = 4.0, max_expand: int = 12) -> dict:
    """The largest passing rate near ``guess`` > 0: ``{"value", "bracket": [lo, hi], "evaluations",
    "status"}``, value = sqrt(lo hi) (its error: the bracket, a factor sqrt(hi / lo) <= sqrt(ratio) either side).

    Expansion multiplies (or divides) by ``factor`` at most ``max_expand`` times; when no transition is found the
    status says so ("no failing rate up to X" / "no passing rate down to X") and value is None."""
    if not (guess > 0 and math.isfinite(guess)):
        raise SpecError(f"the starting step size {guess!r} must be finite and > 0")
    if not ratio > 1 or not factor > 1:
        raise SpecError(f"ratio {ratio!r} and factor {factor!r} must both be > 1")
    calls = 0

    def check(lr):
        nonlocal calls
        calls += 1
        return bool(passes(lr))

    lo = hi = None
    lr = guess
    if check(lr):
        lo = lr
        for _ in range(max_expand):
            lr *= factor
            if not check(lr):
                hi = lr
                break
            lo = lr
        if hi is None:
            return {"value": None, "bracket": [lo, None], "evaluations": calls,
                    "status": f"undetermined: no failing rate up to {lo:.4g}"}
    else:
        hi = lr
        for _ in range(max_expand):
            lr /= factor
            if check(lr):
                lo = lr
                break
            hi = lr
        if lo is None:
            return {"value": None, "bracket": [None, hi], "evaluations": calls,
                    "status": f"undetermined: no passing rate down to {hi:.4g}"}
    while hi / lo > ratio:
        mid = math.sqrt(lo * hi)
        if check(mid):
            lo = mid
        else:
            hi = mid
    return {"value": math.sqrt(lo * hi), "bracket": [lo, hi], "evaluations": calls, "status": "bracketed"}


def creep_threshold(passes, guess: float, ratio: float = 1.1, span: float = 64.0) -> dict:
    """The pass/fail transition nearest ``guess`` > 0, in steps of the factor ``ratio``: ``bisect_threshold``'s
    dict, bracket [lo, hi] with hi = lo * ratio. At most a factor ``span`` either way from the guess; beyond, the
    status says which end was reached and value is None."""
    if not (guess > 0 and math.isfinite(guess)):
        raise SpecError(f"the starting step size {guess!r} must be finite and > 0")
    if not ratio > 1 or not span > 1:
        raise SpecError(f"ratio {ratio!r} and span {span!r} must both be > 1")
    steps = math.ceil(math.log(span) / math.log(ratio))
    up = bool(passes(guess))
    lr = guess
    for calls in range(2, steps + 2):
        nxt = lr * ratio if up else lr / ratio
        if bool(passes(nxt)) != up:
            lo, hi = (lr, nxt) if up else (nxt, lr)
            return {"value": math.sqrt(lo * hi), "bracket": [lo, hi], "evaluations": calls, "status": "bracketed"}
        lr = nxt
    if up:
        return {"value": None, "bracket": [lr, None], "evaluations": steps + 1,
                "status": f"undetermined: no failing rate up to {lr:.4g}"}
    return {"value": None, "bracket": [None, lr], "evaluations": steps + 1,
            "status": f"undetermined: no passing rate down to {lr:.4g}"}
