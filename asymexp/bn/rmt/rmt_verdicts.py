"""The verdicts of ``asymexp rmt`` (docs/rmt.md, "Verdicts"; the entries' shape: docs/interfaces.md, "Verdict
entries").

- Moments: every m_k of every (L, N) row against the Fuss-Catalan m_k, mean +- SE over the samples; all of them
  are one family, each judged at the Bonferroni limit over the family (the rule of docs/validation.md,
  "Verdict"). m_1 = 1 holds exactly at every N. For k >= 2 the real Gaussian case has an O(1/N) bias, so an
  interval that excludes the limit is undetermined, not a disagreement: the bias is judged by the finite-N fit.
- Finite-N slopes (two or more sizes): the fitted slope of each moment's relative error against -1, the order of
  that bias (m_1 has none: not judged), the family being the fitted slopes.
- Edge: the mean top eigenvalue against (L+1)^(L+1) / L^L, a family of its own. The soft edge sits below the
  limit by a bias of order N^(-2/3) (Tracy-Widom scaling), so an interval that excludes the limit is undetermined
  with one size; with sizes the edge's relative error is fitted like a moment's and its slope judged against -2/3.
"""
from __future__ import annotations

from asymexp.stats.interval_verdicts import (DISAGREE, Z95, decide, family_rule, family_z, judge, not_judged,
                                             summary, undetermined)

MOMENT_BIAS_SLOPE = -1.0
EDGE_BIAS_SLOPE = -2.0 / 3.0


def _biased(quantity, measured, se, predicted, z, rule, bias: str, several_sizes: bool) -> tuple[list, list]:
    """([entry], []) or ([], [not judged]) for an estimate whose limit may be missed by a finite-N ``bias``: a
    family-wise interval that excludes the limit is undetermined with one size, and left to the fitted slope of
    the bias (not judged here) with several."""
    excluded = decide([measured - z * se, measured + z * se], predicted).word == DISAGREE
    why = (f"the interval excludes the N -> infinity limit {predicted:g}, which a finite-N bias of order {bias} "
           "moves the estimate away from")
    if excluded and several_sizes:
        return [], [not_judged(quantity, measured, why + "; judged by the finite-N slope over the sizes", predicted)]
    return [judge(quantity, measured, predicted, se=se, z=z, rule="interval", note=None if excluded else rule,
                  rejected=f"{why} ({rule})" if excluded else None,
                  settle=f"several --sizes (three or more) to fit the {bias} bias")], []


def moment_entries(rows: list[dict], several_sizes: bool) -> tuple[list, list]:
    """(entries, not judged) of every moment of every row."""
    n = sum(len(r["moments"]) for r in rows)
    z, rule = family_z(n), family_rule(n)
    out, unjudged = [], []
    for r in rows:
        for k, (m, se, p) in enumerate(zip(r["moments"], r["moments_se"], r["predicted_moments"]), start=1):
            name = f"m{k}, L = {r['factors']}, N = {r['size']}"
            if k == 1:
                out.append(judge(name, m, p, se=se, z=z, rule="interval", settle="more --samples",
                                 note=f"E m_1 = 1 exactly at every N; {rule}"))
            else:
                more, skip = _biased(name, m, se, p, z, rule, "1/N", several_sizes)
                out, unjudged = out + more, unjudged + skip
    return out, unjudged


def edge_entries(rows: list[dict], several_sizes: bool) -> tuple[list, list]:
    """(entries, not judged) of the edge of every row."""
    z, rule = family_z(len(rows)), family_rule(len(rows))
    out, unjudged = [], []
    for r in rows:
        more, skip = _biased(f"edge, L = {r['factors']}, N = {r['size']}", r["edge"], r["edge_se"],
                             r["predicted_edge"], z, rule, "N^-2/3", several_sizes)
        out, unjudged = out + more, unjudged + skip
    return out, unjudged


def slope_entries(fits: list[dict], predicted: float, what: str) -> tuple[list, list]:
    """(entries, not judged) of finite-N fits ({factors, moment, slope, ci95, why}) against ``predicted``."""
    judged = [f for f in fits if f.get("moment") != 1 or what == "edge"]
    z, rule = family_z(max(len(judged), 1)), family_rule(max(len(judged), 1))
    entries, unjudged = [], []
    for f in fits:
        name = (f"edge slope, L = {f['factors']}" if what == "edge"
                else f"m{f['moment']} slope, L = {f['factors']}")
        if what != "edge" and f["moment"] == 1:
            unjudged.append(not_judged(name, f["slope"], "E m_1 = 1 exactly: no finite-N term to fit"))
        elif f["slope"] is None:
            why, _, settle = f["why"].rpartition("; ")
            entries.append(undetermined(name, None, predicted, why or settle, settle if why else "more --samples"))
        else:
            se = (f["ci95"][1] - f["ci95"][0]) / (2 * Z95)
            entries.append(judge(name, f["slope"], predicted, se=se, z=z, rule="interval", note=rule,
                                 settle="more --samples, or more sizes"))
    return entries, unjudged


def study_verdicts(doc: dict, edge_fits: list[dict] | None) -> dict:
    """``verdicts``, ``not_judged`` and the summary ``verdict``, ``verdict_reason`` of an rmt document;
    ``edge_fits``: the edge's finite-N fits per L (None with one size)."""
    several = "finite_size" in doc
    entries, unjudged = moment_entries(doc["rows"], several)
    more, skip = edge_entries(doc["rows"], several)
    entries, unjudged = entries + more, unjudged + skip
    if several:
        more, skip = slope_entries(doc["finite_size"], MOMENT_BIAS_SLOPE, "moment")
        entries, unjudged = entries + more, unjudged + skip
        more, skip = slope_entries(edge_fits or [], EDGE_BIAS_SLOPE, "edge")
        entries, unjudged = entries + more, unjudged + skip
    return {"verdicts": entries, "not_judged": unjudged, **summary(entries)}
