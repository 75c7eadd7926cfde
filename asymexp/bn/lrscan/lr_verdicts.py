"""The verdicts of ``asymexp lr-scan`` (docs/batchnorm.md, "Learning-rate thresholds"; the entries' shape:
docs/interfaces.md, "Verdict entries").

What the theory predicts. For the model linearized at initialization (the loss quadratic with Hessian
F = J^T J / T) the residual's component along an eigenvector of F is multiplied by (1 - eta lambda_i) per step,
so the loss falls at every step for every eta <= 2 / lambda_max. Over K steps it can still fall for somewhat
larger eta, until the growing top component outweighs the decay of the others: the K-step threshold of the
linearized model lies at or above 2 / lambda_max and comes down to it as K grows. The prediction judged is
therefore lr_stable = 2 / lambda_max of the same network and batch, with a one-sided error: the linearized
model's own K-step excess (:func:`linear_threshold`, computed exactly from the spectrum of Theta / T and the
initial residual, located by the same bisection). The bisection bracket [lo, hi] of the measured threshold holds
its pass/fail transition for certain; the verdict holds the bracket, lowered by that excess, against
2 / lambda_max. A judged interval spanning more than a factor 2, the distance between the classical 1 / lambda_max
and 2 / lambda_max, cannot tell them apart: undetermined (a smaller --ratio, more --steps).

Not judged: lr_max (no law for the catapult range), and the order-parameter value theory_lr_stable (an
infinite-width law whose finite-width depth correction is not derived, so it has no error to judge it with).
"""
from __future__ import annotations

import numpy as np

from asymexp.bn.lrscan.thresholds import bisect_threshold, falls_monotonically
from asymexp.stats.interval_verdicts import judge, not_judged, summary, undetermined

#: A judged interval spanning more than this factor cannot tell 2 / lambda_max from 1 / lambda_max.
MAX_SPAN = 2.0
SETTLE = ("a smaller --ratio (a narrower bracket) or more --steps (the linearized model's K-step excess above "
          "2/lambda_max shrinks as K grows)")


def linear_losses(eigenvalues: np.ndarray, weights: np.ndarray, samples: int, steps: int, lr: float) -> list:
    """The K + 1 losses of GD on the linearized model: sum_i w_i (1 - lr mu_i)^(2k) / (2T), k = 0..K, with mu the
    eigenvalues of Theta / T and w the squared components of the initial residual along their eigenvectors."""
    factors = (1.0 - lr * eigenvalues) ** 2
    return [float(weights @ factors ** k) / (2 * samples) for k in range(steps + 1)]


def linear_threshold(theta: np.ndarray, residual: np.ndarray, samples: int, steps: int, ratio: float) -> dict:
    """The K-step lr_stable bracket of the model linearized at initialization (``bisect_threshold``'s dict),
    from the dual ``theta`` (C T, C T) and the initial ``residual`` f - y (T, C)."""
    mu, vec = np.linalg.eigh(theta / samples)
    weights = (vec.T @ np.asarray(residual).T.reshape(-1)) ** 2          # rows of theta: (k, t) -> k T + t
    return bisect_threshold(lambda lr: falls_monotonically(linear_losses(mu, weights, samples, steps, lr)),
                            2.0 / float(mu[-1]), ratio)


def row_verdict(row: dict) -> dict:
    """The entry of one row: lr_stable's bracket against 2 / lambda_max, widened by the linearized excess."""
    name = f"lr_stable, {row['norm']}, H = {row['layers']}" + _network(row)
    predicted = row["predicted_lr_stable"]
    lo, hi = row["lr_stable_bracket"]
    if row["lr_stable"] is None:
        return undetermined(name, None, predicted, f"no bracket: {row['lr_stable_status']}",
                            "a different --steps, or a network whose loss falls at some rate")
    linear = row.get("linear_lr_stable_bracket") or [predicted, predicted]
    excess = max(linear[1] - predicted, 0.0) if linear[1] is not None else None
    if excess is None:
        return undetermined(name, row["lr_stable"], predicted, "the linearized model's K-step threshold was not "
                            "bracketed, so its excess above 2/lambda_max is unknown", SETTLE, bracket=[lo, hi])
    return judge(name, row["lr_stable"], predicted, bracket=[lo, hi], predicted_error=(0.0, excess),
                 max_ratio=MAX_SPAN, settle=SETTLE,
                 note=f"the linearized model's {row['steps']}-step threshold lies up to {excess / predicted:.3g} "
                      f"x 2/lambda_max above it")


def _network(row: dict) -> str:
    """", M = .., network n" for a network of a width sweep (:mod:`asymexp.bn.lrscan.widths`); "" otherwise."""
    return f", M = {row['width']}, network {row['network']}" if "network" in row else ""


def scan_verdicts(rows: list[dict]) -> dict:
    """``verdicts``, ``not_judged`` and the summary ``verdict``, ``verdict_reason`` of an lr-scan document."""
    entries = [row_verdict(r) for r in rows]
    unjudged = []
    for r in rows:
        where = f"{r['norm']}, H = {r['layers']}" + _network(r)
        unjudged.append(not_judged(f"lr_max, {where}", r["lr_max"], "no law for the largest loss-reducing rate "
                                                                    "(the catapult range)"))
        unjudged.append(not_judged(f"theory_lr_stable, {where}", r["lr_stable"],
                                   r["theory_kind"] + ("" if r["theory_lr_stable"] is None else
                                                       "; an infinite-width law whose finite-width depth correction "
                                                       "is not derived: no error to judge it with"),
                                   r["theory_lr_stable"]))
    return {"verdicts": entries, "not_judged": unjudged, **summary(entries)}
