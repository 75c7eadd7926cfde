"""The two learning-rate thresholds of full-batch GD, each located by bisection in log step size
(docs/batchnorm.md, "Learning-rate thresholds").

- :func:`falls_monotonically`: every loss finite and each strictly below the one before (the ``lr_stable`` rule);
- :func:`ends_below_start`: every loss finite and the last strictly below the first (the ``lr_max`` rule);
- :func:`bisect_threshold`: a bracket [lo, hi] with ``passes(lo)`` and not ``passes(hi)``, hi / lo <= ``ratio``,
  found by geometric expansion from a guess and then bisection of log(lr). The rules are not proven monotone in
  the step size: the bracket holds one pass/fail transition, the largest one reached from the guess.
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
