"""A-posteriori error estimates of the theory layer and the refinement towards a tolerance (docs/theory-layer.md,
"Error estimates").

Every reported number v comes with an estimate of |v - exact|, entry by entry::

    error = 2 max(|v(rule) - v(coarse rule)|, q |v(coarse rule) - v(coarser rule)|) + (ODE error)
            + ROUNDING * (|v| + max |v|),        q = max |first difference| / max |second difference| (<= 1)

The coarse and coarser rules are the previous rules of a geometric sequence. For the projected trapezoid rule the design
exponent grows by STEP (kappa_j = kappa_0 STEP^j), so the coarse error is larger than the fine one by about
e^{kappa (1 - 1/STEP)}; the difference is then about the coarse rule's error, an upper estimate of the fine rule's.
The first difference fails to bound the fine error e_f only when the coarse error e_c falls between 0 and 2 e_f
at that entry (a coincidental near cancellation of the larger error); the second term, the previous difference
scaled by the contraction q observed over all entries, covers that case unless it happens at two levels at once.
The factor 2 (SAFETY) covers a slow step: a fine error up to 2/3 of the coarse one with the same sign.
For Gauss rules (two rules only) the coarse rule has 3/4 of the nodes per dimension.

:func:`refine` raises kappa until every entry meets |error| <= abs + rel |v| (:class:`Tolerance`) or the node or
time budget is spent; the caller reports what was achieved.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from asymexp.errors import SpecError

#: Growth of the trapezoid design exponent from one rule to the next (node count ~ STEP^r).
STEP = 1.25
#: Factor on the differences: under a geometric model e_f = rho e_c (same sign) the difference e_c - e_f bounds
#: e_f only for rho <= 1/2; with the factor 2 the estimate holds for a per-step contraction rho <= 2/3 at every
#: entry (measured: rho drops below 0.1 past kappa ~ 20, but a sign change of the error can make one step slow).
SAFETY = 2.0
#: Relative rounding floor of a value accumulated over up to 1e6 weighted terms and solved through eigen-
#: decompositions (about 1e3 units of the last place; below every tolerance one can ask for).
ROUNDING = 2.0e-13
#: Budgets of one refinement: w-nodes of the finest rule and wall-clock seconds.
MAX_W_NODES = 1_500_000
MAX_SECONDS = 120.0


@dataclass(frozen=True)
class Tolerance:
    """The target |error| <= abs + rel |value|, entry by entry."""

    abs: float = 1e-8
    rel: float = 1e-6

    def met(self, values: dict, errors: dict) -> bool:
        return all(np.all(errors[k] <= self.abs + self.rel * np.abs(values[k])) for k in errors)

    def worst(self, values: dict, errors: dict) -> dict:
        """Per quantity, the largest ratio error / (abs + rel |value|) (met where <= 1)."""
        return {k: float(np.max(errors[k] / (self.abs + self.rel * np.abs(values[k])))) for k in errors}


def parse_tolerance(text: str) -> Tolerance:
    """``"ABS"`` or ``"ABS,REL"`` (both >= 0, not both 0) -> :class:`Tolerance`."""
    parts = str(text).split(",")
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise SpecError(f"--tol {text!r}: not numbers; ABS or ABS,REL with numbers >= 0 is required") from None
    if len(vals) not in (1, 2) or any(not math.isfinite(v) or v < 0 for v in vals) or not any(vals):
        raise SpecError(f"--tol {text!r}: ABS or ABS,REL with finite numbers >= 0, not both 0, is required")
    return Tolerance(vals[0], vals[1] if len(vals) == 2 else 0.0)


def difference_errors(fine: dict, coarse: dict, extra: dict | None = None, coarser: dict | None = None) -> dict:
    """Per quantity (arrays of the same shape): SAFETY max(|fine - coarse|, q |coarse - coarser|) + extra + ROUNDING
    (|fine| + max |fine|), q = min(1, max |fine - coarse| / max |coarse - coarser|) the observed contraction per
    step (the second term only with ``coarser``: it covers an entry whose coarse error happens to nearly equal
    the fine one)."""
    out = {}
    for k, v in fine.items():
        if v is None:
            continue
        v = np.asarray(v, dtype=np.float64)
        floor = ROUNDING * (np.abs(v) + (float(np.max(np.abs(v))) if v.size else 0.0))
        d1 = np.abs(v - np.asarray(coarse[k]))
        if coarser is not None and v.size:
            d2 = np.abs(np.asarray(coarse[k]) - np.asarray(coarser[k]))
            q = min(1.0, float(np.max(d1)) / max(float(np.max(d2)), 1e-300))
            d1 = np.maximum(d1, q * d2)
        out[k] = SAFETY * d1 + floor + (extra or {}).get(k, 0.0)
    return out


@dataclass(frozen=True)
class Refinement:
    """The outcome of :func:`refine`: the finest evaluation, its errors and how it was reached."""

    value: object
    errors: dict
    kappa: float
    w_nodes: int
    met: bool
    seconds: float
    reason: str


def refine(evaluate, count_nodes, tol: Tolerance, kappa0: float, max_nodes: int = MAX_W_NODES,
           max_seconds: float = MAX_SECONDS) -> Refinement:
    """Raise kappa by STEP until the tolerance is met or a budget is spent.

    Args:
        evaluate: kappa -> (result, values dict, extra-error dict); count_nodes: kappa -> w-node count (an
        estimate serves: it only guards the budget);
        tol: the target; kappa0: the first fine exponent (the first coarse ones are kappa0 / STEP, / STEP^2).
    Returns:
        :class:`Refinement` (``reason`` says why it stopped: met, node budget or time budget).
    """
    start = time.perf_counter()
    kappa = kappa0
    coarser, coarse, fine = (evaluate(kappa / STEP**j) for j in (2, 1, 0))
    while True:
        errs = difference_errors(fine[1], coarse[1], fine[2], coarser[1])
        nodes = count_nodes(kappa)
        elapsed = time.perf_counter() - start
        if tol.met(fine[1], errs):
            return Refinement(fine[0], errs, kappa, nodes, True, elapsed, "met")
        nxt = count_nodes(kappa * STEP)
        if nxt > max_nodes:
            return Refinement(fine[0], errs, kappa, nodes, False, elapsed,
                              f"node budget: the next rule would have {nxt} w-nodes (at most {max_nodes})")
        if elapsed * (1.0 + nxt / max(nodes, 1)) > max_seconds:
            return Refinement(fine[0], errs, kappa, nodes, False, elapsed,
                              f"time budget: {elapsed:.1f} s spent, the next rule would exceed {max_seconds:g} s")
        kappa *= STEP
        coarser, coarse, fine = coarse, fine, evaluate(kappa)


#: The smallest design exponent of a reported rule: below ~25 the errors of Q2 are not yet geometric in kappa
#: (measured on random problems: sign changes, and steps that gain nothing, e.g. 1.2e-6 at kappa 16 and 1.1e-6 at
#: kappa 20, then 7e-8 at 25 and 5e-10 at 31), and the difference estimate can miss by a factor 4.
MIN_KAPPA = 25.0


def first_kappa(tol: Tolerance) -> float:
    """A first design exponent for ``tol``: errors behave like C e^{-kappa}, C up to ~1e4 for the Q2 tensors."""
    return max(MIN_KAPPA, 0.9 * math.log(1.0 / max(tol.abs, 1e-300)))
