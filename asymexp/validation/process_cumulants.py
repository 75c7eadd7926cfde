"""Gaussianity of the fluctuation at t >= 0: the standardized third and fourth cumulants of g^N_t against their
predicted width exponents (docs/validation.md, "The fluctuation process"; docs/theory/7-random-terms.md, "The
fluctuation as a process").

g^N_t is a smooth functional of the empirical measure of N i.i.d. units, so (Edgeworth) its standardized third
cumulant is O(N^{-1/2}) and its fourth O(N^{-1}). For a symmetric law of c the law of g_t(y) is that of
-g_t(-y) (flipping every c and the targets maps the flow onto itself), and the N^{-1/2} coefficient of the
skewness vanishes: the linear response's leading part eps^{-1} Phi_t f is odd in c and the kernel's fluctuation
even, so the first surviving term is one order of eps later, eps N^{-1/2} = N^{gamma - 3/2}; at t = 0 the law is
symmetric and the skewness is 0 at every N. The fourth cumulant keeps its N^{-1} (at t = 0 it is kappa_4(f) / N
exactly, docs/theory/8-initial-cumulants.md).

Each (time, point) cell gets the exponent of :func:`asymexp.stats.process_moments.power_fit` over the widths
where the cumulant is resolved, judged with a family-wise interval (Bonferroni over the cells,
:func:`asymexp.stats.interval_verdicts.family_z`); an interval wider than MAX_WIDTH cannot tell -1/2 from -1
and is undetermined. Where the skewness is predicted 0, every (width, cell) z = skew / SE is held against the
family-wise limit instead.
"""
from __future__ import annotations

import numpy as np

#: An exponent interval wider than this cannot separate the candidate exponents (-1/2, gamma - 3/2, -1).
MAX_WIDTH = 0.5


def predictions(problem, gamma: float, t: float) -> dict:
    """{"skew": exponent or None (0 at every N), "skew_reason", "kurt": -1, "generic_skew": -1/2}."""
    generic = -0.5
    if problem.c_law.is_symmetric and t == 0:
        return {"skew": None, "skew_reason": "t = 0 and the law of c is symmetric: g_0 is odd in c, its law "
                "symmetric, the skewness 0 at every N", "kurt": -1.0, "generic_skew": generic}
    if problem.c_law.is_symmetric:
        return {"skew": float(gamma) - 1.5, "skew_reason": "symmetric law of c: the N^{-1/2} coefficient vanishes "
                "(odd linear response, even kernel fluctuation); the first term left is eps N^{-1/2} = "
                f"N^{float(gamma) - 1.5:g}", "kurt": -1.0, "generic_skew": generic}
    return {"skew": generic, "skew_reason": "the law of c is not symmetric: the Edgeworth order N^{-1/2}",
            "kurt": -1.0, "generic_skew": generic}


def _settle(replicas: int, widths, values, se, exponent: float) -> str:
    """What would resolve the cumulant at the largest width: the replicas for |value| = RESOLVED SE there, with
    the value carried from the largest resolved width by the predicted exponent."""
    from asymexp.stats.process_moments import RESOLVED

    values, se = np.abs(np.asarray(values)), np.asarray(se)
    resolved = np.nonzero(values > RESOLVED * se)[0]
    if resolved.size == 0:
        return (f"nothing resolved: |value| < {RESOLVED:g} SE at every width (SE {float(np.min(se)):.2g} at "
                f"{replicas} replicas, falling as R^-1/2); more replicas, or smaller widths where the cumulant is "
                "larger")
    i = int(resolved[-1])
    at_top = values[i] * (widths[-1] / widths[i]) ** exponent
    need = replicas * (RESOLVED * se[-1] / at_top) ** 2
    return (f"resolving width {widths[-1]} needs about {need:.3g} replicas (the value at {widths[i]}, "
            f"{values[i]:.3g}, carried by N^{exponent:g}), or more widths below {widths[-1]}")


def judge_cumulants(problem, gamma: float, times, widths, replicas: int, table: dict) -> dict:
    """The exponent fits and verdicts from ``table`` {"skew", "skew_se", "kurt", "kurt_se"}, each (W, T, P).

    Returns {"fits": per quantity a list over (t, p) of {"time", "point", "predicted", fit...}, "entries":
    verdict entries (docs/interfaces.md, "Verdict entries"), "summary"}."""
    from asymexp.stats import interval_verdicts as iv
    from asymexp.stats.process_moments import power_fit

    W, T, P = np.asarray(table["skew"]).shape
    fits, entries = {"skew": [], "kurt": []}, []
    n_fits = 2 * T * P
    z_fit = iv.family_z(n_fits)
    zero_cells = [(a, p) for a, t in enumerate(times) for p in range(P)
                  if predictions(problem, gamma, t)["skew"] is None]
    z_zero = iv.family_z(max(1, len(zero_cells) * W))
    for a, t in enumerate(times):
        pred = predictions(problem, gamma, t)
        for p in range(P):
            for q in ("skew", "kurt"):
                values, se = np.asarray(table[q])[:, a, p], np.asarray(table[q + "_se"])[:, a, p]
                fit = power_fit(widths, values, se)
                row = {"time": float(t), "point": p, "predicted": pred[q], **fit}
                fits[q].append(row)
                name = f"{q} exponent, t = {t:g}, point {p}"
                if pred[q] is None:
                    worst = float(np.max(np.abs(values / se)))
                    word = iv.AGREE if worst <= z_zero else iv.DISAGREE
                    entries.append({"quantity": f"{q} / SE, t = {t:g}, point {p} (max over widths)",
                                    "measured": worst, "predicted": 0.0, "judged": [-z_zero, z_zero],
                                    "verdict": word, "why": f"max |{q} / SE| {worst:.2f} against the family-wise "
                                    f"limit {z_zero:.2f} ({pred['skew_reason']})"})
                    continue
                if fit["b"] is None:
                    entries.append(iv.undetermined(name, None, pred[q], f"resolved at {len(fit['resolved'])} of "
                                                   f"{len(widths)} widths (two needed)",
                                                   _settle(replicas, widths, values, se, pred[q])))
                    continue
                interval = [fit["b"] - z_fit * fit["b_se"], fit["b"] + z_fit * fit["b_se"]]
                note = pred["skew_reason"] if q == "skew" else None
                entries.append(iv.judge(name, fit["b"], pred[q], interval=interval, rule=iv.family_rule(n_fits),
                                        max_width=2 * MAX_WIDTH, note=note,
                                        settle=_settle(replicas, widths, values, se, pred[q])))
                if q == "skew":
                    entries[-1]["generic_-1/2_inside"] = bool(interval[0] <= -0.5 <= interval[1])
    return {"fits": fits, "entries": entries, "summary": iv.summary(entries), "fit_family_z": z_fit}
