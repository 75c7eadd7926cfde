"""The verdict entries of ``asymexp gram`` (docs/batchnorm.md, "The Gram chain"; the shape: docs/interfaces.md,
"Verdict entries"), each built by :func:`asymexp.stats.interval_verdicts.judge`.

- the width exponent of the post-burn-in mean error against -1/2 (with BN; without BN no exponent is predicted);
- per width, the depth check: with BN the relative drift of the error over the window against 0, without BN the
  log-scale beta against its exact value d x per-layer variance and the accumulation ratio against 1;
- per width, the linear chain's RMS gap over its closed form against 1, widened by the closed form's first
  omitted order, relative 1/d (coefficient taken as 1).

A quantity judged at several widths is one family: each width at the Bonferroni limit over the family
(:func:`asymexp.stats.interval_verdicts.family_z`), the rule of docs/validation.md, "Verdict".
"""
from __future__ import annotations

from asymexp.stats.interval_verdicts import family_rule, family_z, judge, not_judged, summary, undetermined

PREDICTED_WIDTH_EXPONENT = -0.5
MORE_WIDTHS = "more widths (a wider range) or more --runs"
#: An accumulation interval spanning more than this factor cannot tell 1 from half or double the variance.
ACCUMULATION_SPAN = 4.0


def width_entry(fit: dict, why: str | None = None) -> dict:
    """The width exponent's entry from a fit {exponent, ci95, predicted, p_value}; ``why``: the reason
    when nothing could be fitted."""
    if fit.get("exponent") is None:
        return undetermined("width exponent", None, fit["predicted"], why or "no exponent was fitted",
                            "3 or more widths (a wider range) or more --runs")
    note = None if fit.get("p_value") is not None else "model untested: no degree of freedom; 3 or more widths test it"
    return judge("width exponent", fit["exponent"], fit["predicted"], ci95=fit["ci95"], settle=MORE_WIDTHS,
                 note=note)


def depth_entries(checks: list[dict]) -> list[dict]:
    """One entry per width of the depth check (value, se, predicted; checks without a prediction left out), at
    the Bonferroni limit over the widths that have a value; a width without one is undetermined."""
    checks = [c for c in checks if c["predicted"] is not None]
    usable = [c for c in checks if c["value"] is not None]
    z = family_z(max(len(usable), 1))
    out = []
    for c in checks:
        name = f"{c['quantity']} at d = {c['width']}"
        if c["value"] is None:
            out.append(undetermined(name, None, c["predicted"], c["verdict"].split(": ", 1)[-1],
                                    "a larger --depth (3 or more layers after the burn-in)"))
        else:
            out.append(judge(name, c["value"], c["predicted"], se=c["se"], z=z, rule="interval",
                             settle="more --runs", note=family_rule(len(usable))))
    return out


def accumulation_entries(checks: list[dict], runs: int) -> list[dict]:
    """Without BN: Var y_L / (L x increment variance) against 1 per width, with the chi-square interval of a
    variance from ``runs`` networks at the Bonferroni level over the widths; an interval spanning more than
    :data:`ACCUMULATION_SPAN` is undetermined."""
    from scipy.stats import chi2

    a = 0.05 / len(checks)
    dof = runs - 1
    out = []
    for c in checks:
        r = c["accumulation"]
        interval = [r * dof / chi2.ppf(1 - a / 2, dof), r * dof / chi2.ppf(a / 2, dof)]
        out.append(judge(f"accumulation at d = {c['width']}", r, 1.0, interval=interval, max_ratio=ACCUMULATION_SPAN,
                         rule="chi-square interval", settle="more --runs", note=family_rule(len(checks))))
    return out


def closed_form_entries(rows: list[dict]) -> list[dict]:
    """gap_rms / closed form against 1 per width (linear row-scale and row-center chains only)."""
    judged = [r for r in rows if r["closed_form"] is not None]
    if not judged:
        return []
    z = family_z(len(judged))
    return [judge(f"gap_rms / closed form at d = {r['width']}", r["gap_rms"] / r["predicted_gap_rms"], 1.0,
                  se=r["gap_rms_se"] / r["predicted_gap_rms"], z=z, rule="interval",
                  predicted_error=1.0 / r["width"], settle="more --runs or a larger --depth",
                  note=f"{family_rule(len(judged))}; the closed form is leading order: its omitted term 1/d")
            for r in judged]


def study_verdicts(doc: dict, width: dict | None) -> dict:
    """``verdicts``, ``not_judged`` and the summary ``verdict``, ``verdict_reason`` of a gram document;
    ``width``: the width exponent's entry (None without BN, where no exponent is predicted)."""
    entries, unjudged = [], []
    if width is None:
        unjudged.append(not_judged("width exponent", doc["fit"]["exponent"],
                                         "without BN the post-burn-in error is heavy-tailed, not a power of d"))
    else:
        entries.append(width)
    checks = doc["depth_check"]
    entries += depth_entries(checks)
    unjudged += [not_judged(f"{c['quantity']} at d = {c['width']}", c.get("beta"), c["verdict"].split(": ", 1)[-1])
                    for c in checks if c["predicted"] is None]
    if doc["chain"] == "none" and checks[0]["predicted"] is not None:
        entries += accumulation_entries(checks, doc["runs"])
    entries += closed_form_entries(doc["rows"])
    return {"verdicts": entries, "not_judged": unjudged, **summary(entries)}
