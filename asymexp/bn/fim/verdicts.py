"""Fits and verdicts of ``asymexp fim`` (docs/batchnorm.md, "What asymexp fim reports").

Width exponent of a quantity y (lambda_max or m_lambda): weighted fits of y = V M^p, then with the relative
corrections the laws predict, slowest first (:func:`corrections`): at fixed rho an O(1) offset on top of O(M),
y = V M^p (1 + b / M); at fixed T first the spread of the T x T dual around its mean, relative O(sqrt(T / M)),
y = V M^p (1 + b1 M^-1/2 (+ b2 / M)); each through :func:`asymexp.stats.fits.exponent_fit` with the SEs
over networks as known sigmas (a model is fitted only when it leaves a degree of freedom). A judged interval
wider than :data:`MAX_INTERVAL` gives "undetermined" (the words and their order:
:func:`asymexp.stats.interval_verdicts.decide`). The verdict model is the first one that a chi2 test at the 5% level
does not reject; the judged interval is the union of the 95% intervals of all accepted models
(:func:`asymexp.stats.fits.judge`); neither choice looks at the prediction. The constant: a weighted straight
line y = A M + B for lambda_max (A against alpha kappa2 at fixed rho, alpha ((T-1)/T kappa2 + kappa1/T) at fixed T)
and M y = A + B / M for m_lambda (A against C kappa1).
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import AsymexpError
from asymexp.stats.fits import ci, exponent_fit, judge, linear_fit, p_value
from asymexp.stats.interval_verdicts import UNDETERMINED, decide

#: A judged exponent interval wider than this cannot tell the two regimes (exponent 0 or 1) apart: undetermined.
MAX_INTERVAL = 1.0


def corrections(fixed_rho: bool) -> list:
    """The declared relative corrections, slowest first (docs/batchnorm.md, "What asymexp fim reports")."""
    return [(-1.0, "1/M")] if fixed_rho else [(-0.5, "M^-1/2"), (-1.0, "1/M")]


def predicted_exponent(norm: str, activation: str, fixed_rho: bool, quantity: str) -> tuple:
    """(predicted width exponent or None, why) for ``quantity`` = ``lambda_max`` or ``mean_eig``."""
    if quantity == "mean_eig":
        return -1.0, "tr F grows like M and P like M^2"
    if norm == "none":
        return 1.0, "the C mean-gradient outliers alpha M kappa2"
    if norm in ("mean-last", "bn-last"):
        if fixed_rho:
            return 0.0, "outliers removed; the bulk alpha rho (kappa1 - kappa2) is fixed at fixed rho"
        return 1.0, "outliers removed, but at fixed T the bulk (M/T) alpha (kappa1 - kappa2) grows like M"
    if activation == "relu":
        return 1.0, "relu after the normalization is not centred: the output block alone gives ~ M qhat_st"
    return None, f"docs/batchnorm.md predicts the {norm} exponent for relu only"


def exponent_verdict(rows: list, quantity: str, predicted, why: str, fixed_rho: bool = True) -> dict:
    """The fit of the width exponent of ``quantity`` over ``rows`` (one norm) and its verdict."""
    widths = np.array([r["width"] for r in rows], dtype=float)
    y = np.array([r[quantity] for r in rows], dtype=float)
    se = np.array([r[f"{quantity}_se"] for r in rows], dtype=float)
    out = {"quantity": quantity, "norm": rows[0]["norm"], "predicted": predicted, "reason": why}
    if widths.size < 3:
        return dict(out, exponent=None, ci95=None, verdict=UNDETERMINED,
                    settle=f"{widths.size} width(s): at least 3 widths (4 for the 1/M model) are needed")
    if np.any(~np.isfinite(y)) or np.any(y <= 0) or np.any(~(se > 0)):
        return dict(out, exponent=None, ci95=None, verdict=UNDETERMINED,
                    settle=f"{quantity} is not positive with a positive SE at every width")
    try:
        terms = corrections(fixed_rho)
        cands = [exponent_fit(widths, y, se, [], predicted)]
        cands += [exponent_fit(widths, y, se, terms[:k], predicted)
                  for k in range(1, len(terms) + 1) if widths.size >= 3 + k]
    except AsymexpError as exc:
        return dict(out, exponent=None, ci95=None, verdict=UNDETERMINED, settle=str(exc))
    chosen, reason = judge(cands)
    if chosen is None:
        return dict(out, exponent=None, ci95=None, verdict=UNDETERMINED, model_choice=reason,
                    models=[_brief(c) for c in cands],
                    settle="more widths (a wider range) or more networks to pin the finite-width correction")
    interval = chosen["ci95_models"]
    verdict = decide(interval, predicted, f"{quantity} exponent", max_width=MAX_INTERVAL,
                     settle=f"the 95% interval is wider than {MAX_INTERVAL}, the distance between the competing "
                            "exponents 0 and 1: more widths (a wider range) or more networks")
    out = dict(out, exponent=chosen["fit"], exponent_se=(chosen["ci95"][1] - chosen["ci95"][0]) / 3.919927969,
               ci95=interval, model=chosen["model"], model_choice=reason,
               models=[_brief(c) for c in cands], verdict=verdict.word)
    if verdict.word == UNDETERMINED:
        out["settle"] = verdict.settle
    return out


def _brief(c: dict) -> dict:
    return {"model": c["model"], "exponent": c["fit"], "ci95": c["ci95"], "chi2": c["chi2"], "dof": c["dof"],
            "p_value": c["p_value"]}


def constant_verdict(rows: list, quantity: str, predicted_constant) -> dict:
    """The constant of the leading law: lambda_max = A M + B, or M m_lambda = A + B / M; A against the theory."""
    widths = np.array([r["width"] for r in rows], dtype=float)
    y = np.array([r[quantity] for r in rows], dtype=float)
    se = np.array([r[f"{quantity}_se"] for r in rows], dtype=float)
    if quantity == "lambda_max":
        x, yy, ss, form = widths, y, se, "lambda_max = A M + B"
    else:
        x, yy, ss, form = 1.0 / widths, widths * y, widths * se, "M m_lambda = A + B / M"
    out = {"quantity": quantity, "form": form, "predicted": predicted_constant}
    if widths.size < 3 or np.any(~(ss > 0)):
        return dict(out, constant=None, ci95=None, verdict=UNDETERMINED,
                    settle="at least 3 widths with positive SEs are needed")
    f = linear_fit(x, yy, ss)
    a, va = (f["b"], f["cov"][1, 1]) if quantity == "lambda_max" else (f["a"], f["cov"][0, 0])
    b, vb = (f["a"], f["cov"][0, 0]) if quantity == "lambda_max" else (f["b"], f["cov"][1, 1])
    pv = p_value(f["chi2"], f["dof"])
    interval = ci(a, va)
    verdict = decide(interval, predicted_constant, "constant A",
                     rejected=f"the straight line's chi2 p = {pv:.3g} < 0.05" if pv is not None and pv < 0.05 else None,
                     settle="the straight line is rejected by its chi2 test: more widths or a correction term")
    return dict(out, constant=a, ci95=interval, offset=b, offset_ci95=ci(b, vb), chi2=f["chi2"], dof=f["dof"],
                p_value=pv, verdict=verdict.word,
                **({"settle": verdict.settle} if verdict.word == UNDETERMINED else {}))
