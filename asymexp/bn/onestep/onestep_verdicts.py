"""The verdicts of ``asymexp one-step`` (docs/batchnorm.md, "One-step divergence and gradients at
initialization"; the entries' shape: docs/interfaces.md, "Verdict entries").

What is predicted, and judged:

- without normalization, the input-independent fraction of the output's gradient against the finite-B theory
  ((B - 1) K2 + K1) / (B K1), mean +- SE over the seeds, the interval widened by the theory's own quadrature
  bound; all such configurations are one family, each judged at the Bonferroni limit over the family (the rule
  of docs/validation.md, "Verdict"). An interval wider than 1, the fraction's whole range, says nothing:
  undetermined;
- with mean-last, the same fraction against 0, widened by its rounding bound 8 B^2 eps (1^T P_B = 0 exactly; the
  sums of B^2 entries of Theta, each at most B times the mean diagonal, carry the rounding);

not judged: the fraction under bn (no law), the explosion rates (docs/batchnorm.md derives no value: the claim is
only that normalization raises them, which ``decades_above_none`` measures), and anything the document holds no
estimate of (the large-rate powers lr^(2L) and lr^2 are checked by the tests, not by a run).
"""
from __future__ import annotations

import numpy as np

from asymexp.stats.interval_verdicts import family_rule, family_z, judge, not_judged, summary, undetermined

#: The fraction lies in [0, 1]: a wider judged interval cannot tell any two predictions apart.
FRACTION_RANGE = 1.0


def _name(r: dict) -> str:
    return f"fraction {r['activation']} H = {r['layers']} s_b^2 = {r['bias_var']:g} {r['norm']}"


def fraction_verdicts(rows: list[dict]) -> tuple[list, list]:
    """(entries, not judged) of the fraction rows."""
    judged = [r for r in rows if r["norm"] == "none" and r["theory"] is not None and r["fraction_se"] is not None]
    z = family_z(max(len(judged), 1))
    entries, unjudged = [], []
    for r in rows:
        if r["norm"] == "mean-last":
            bound = 8.0 * r["samples"] ** 2 * np.finfo(float).eps
            entries.append(judge(_name(r), r["fraction"], 0.0, se=r["fraction_se"] or 0.0, z=z, rule="interval",
                                 predicted_error=bound, settle="more --seeds",
                                 note=f"0 exactly up to rounding; {family_rule(max(len(judged), 1))}"))
        elif r["theory"] is None:
            unjudged.append(not_judged(_name(r), r["fraction"], "no law for the fraction under bn" if r["norm"] == "bn"
                                       else "the theory's Gaussian integrals overflow or underflow here"))
        elif r["fraction_se"] is None:
            entries.append(undetermined(_name(r), r["fraction"], r["theory"], "one seed gives no standard error",
                                        "--seeds 2 or more"))
        else:
            entries.append(judge(_name(r), r["fraction"], r["theory"], se=r["fraction_se"], z=z, rule="interval",
                                 predicted_error=r["theory_error"] or 0.0, max_width=FRACTION_RANGE,
                                 settle="more --seeds, or a configuration whose quadrature bound (theory_error) "
                                        "is below the SE", note=family_rule(len(judged))))
    return entries, unjudged


def study_verdicts(doc: dict) -> dict:
    """``verdicts``, ``not_judged`` and the summary ``verdict``, ``verdict_reason`` of a one-step document."""
    entries, unjudged = fraction_verdicts(doc["fraction"])
    for t in doc["thresholds"]:
        unjudged.append(not_judged(f"explosion rate, {t['norm']}", t["lr_explode"],
                                   "no prediction: docs/batchnorm.md derives no value of the explosion rate, only "
                                   "that normalization raises it (decades_above_none)"))
    return {"verdicts": entries, "not_judged": unjudged, **summary(entries)}
