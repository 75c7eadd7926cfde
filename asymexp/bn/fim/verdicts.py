"""Fits and verdicts of ``asymexp fim`` (docs/batchnorm.md, "What asymexp fim reports").

Width exponent of a quantity y (lambda_max or m_lambda), rows of one norm with the SEs over networks as known
sigmas. The models are y = V M^p times the relative corrections the laws predict (:func:`corrections`), added
slowest first: for lambda_max at fixed rho the O(1) offset on top of O(M), y = V M^p (1 + b / M); at fixed T
first the spread of the T x T dual, relative O(sqrt(T / M)), y = V M^p (1 + b1 M^-1/2 (+ b2 / M)); for m_lambda
1/M (tr F / P is a ratio of polynomials in M). Every model with no more parameters than widths is fitted
(:func:`fit_model`): one with a degree of freedom through :func:`asymexp.stats.fits.exponent_fit`, one with none
exactly (it interpolates the widths; its 95% interval still comes from the covariance, the SEs being known).

The judged interval is the union of the 95% intervals of every model the data cannot reject (chi2 p >= 5%) or
cannot test (no degree of freedom): a model that cannot be tested cannot be rejected either, so the theory's own
correction always counts, even at 3 widths. A union wider than :data:`MAX_INTERVAL` (the distance between the
competing exponents 0 and 1) is "undetermined", with a forecast of the widths and networks that would narrow it
(:func:`forecast`); else the union decides (:func:`asymexp.stats.interval_verdicts.decide`). The reported
exponent is the first model, fewest corrections, that passes its chi2 test (the first untestable one when none
can be tested); no choice looks at the prediction.

The constant: a weighted straight line y = A M + B for lambda_max (A against alpha kappa2 at fixed rho,
alpha ((T-1)/T kappa2 + kappa1/T) at fixed T) and M y = A + B / M for m_lambda (A against C kappa1). The line
presumes the predicted exponent (1, or 0 when the predicted slope is 0; -1 for m_lambda), so its verdict is judged
only where it cannot contradict the exponent's (:func:`contradiction`): an "agree" on the constant next to a
"disagree" on the exponent, or a slope that excludes a predicted 0 next to an exponent that agrees with no growth,
turns the constant's verdict into "undetermined", saying why.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from asymexp.errors import AsymexpError
from asymexp.stats.fits import P_FIT, Z95, ci, exponent_fit, linear_fit, p_value, raw_slope
from asymexp.stats.interval_verdicts import AGREE, DISAGREE, UNDETERMINED, decide
from asymexp.bn.fim.predictions import predicted_exponent  # noqa: F401  (the verdicts' predictions, re-exported)

#: A judged exponent interval wider than this cannot tell the two regimes (exponent 0 or 1) apart: undetermined.
MAX_INTERVAL = 1.0


def corrections(fixed_rho: bool, quantity: str = "lambda_max") -> list:
    """The declared relative corrections of ``quantity``, slowest first (docs/batchnorm.md, "What asymexp fim
    reports")."""
    if quantity == "mean_eig" or fixed_rho:
        return [(-1.0, "1/M")]
    return [(-0.5, "M^-1/2"), (-1.0, "1/M")]


def fit_model(widths, y, se, terms, predicted=None) -> dict:
    """y = V M^p (1 + sum_k b_k M^{s_k}) for the (s, name) ``terms``: :func:`asymexp.stats.fits.exponent_fit`
    when a degree of freedom is left, else the exact solution through the widths (chi2 0, dof 0, p_value None)
    with its linearized covariance. Raises AsymexpError when it does not converge or has more parameters than
    widths."""
    from scipy.optimize import OptimizeWarning

    widths, y, se = (np.asarray(a, dtype=np.float64) for a in (widths, y, se))
    with warnings.catch_warnings():       # a covariance that cannot be estimated is checked below, not warned
        warnings.simplefilter("ignore", OptimizeWarning)
        return _fit_model(widths, y, se, terms, predicted)


def _fit_model(widths, y, se, terms, predicted):
    k = 2 + len(terms)
    if widths.size > k:
        return exponent_fit(widths, y, se, terms, predicted)
    if widths.size < k:
        raise AsymexpError(f"{len(terms)} correction(s) need at least {k} widths, got {widths.size}")
    from scipy.optimize import curve_fit

    logn, powers = np.log(widths), np.array([s for s, _ in terms])

    def model(ln, logv, p, *b):
        return np.exp(logv + p * ln) * (1.0 + sum(bk * np.exp(sk * ln) for bk, sk in zip(b, powers)))

    start = raw_slope(widths, y, se)["slope"]
    p0 = [float(np.log(y[0]) - start * logn[0]), start] + [0.0] * len(terms)
    try:
        coef, cov = curve_fit(model, logn, y, p0=p0, sigma=se, absolute_sigma=True, maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise AsymexpError(f"the exact {k}-parameter fit did not converge: {exc}") from None
    if not np.all(np.isfinite(cov)):
        raise AsymexpError(f"the exact {k}-parameter fit has a singular covariance")
    resid = (y - model(logn, *coef)) / se
    out = {"fit": float(coef[1]), "ci95": ci(coef[1], cov[1, 1]), "b": [float(c) for c in coef[2:]],
           "chi2": float(resid @ resid), "dof": 0, "p_value": None, "corrections": [[s, n] for s, n in terms],
           "model": "V*N^p" + (f"*(1 + {' + '.join(f'b{i}*{n}' for i, (_, n) in enumerate(terms, 1))})"
                               if terms else "")}
    if predicted is not None:
        out["predicted"] = float(predicted)
    return out


def in_union(model: dict) -> bool:
    """Not rejected by its chi2 test at 5%, or without a degree of freedom to test it."""
    return model["dof"] == 0 or (model["p_value"] is not None and model["p_value"] >= P_FIT)


def _arrays(rows, quantity):
    return tuple(np.array([r[k] for r in rows], dtype=float) for k in ("width", quantity, f"{quantity}_se"))


def exponent_verdict(rows: list, quantity: str, predicted, why: str, fixed_rho: bool = True) -> dict:
    """The fit of the width exponent of ``quantity`` over ``rows`` (one norm) and its verdict; ``why`` names the
    case behind ``predicted`` (:func:`asymexp.bn.fim.predictions.predicted_exponent`)."""
    widths, y, se = _arrays(rows, quantity)
    out = {"quantity": quantity, "norm": rows[0]["norm"], "predicted": predicted, "why": why}
    if widths.size < 3:
        return dict(out, exponent=None, ci95=None, verdict=UNDETERMINED,
                    settle=f"{widths.size} width(s): at least 3 widths are needed (V M^p with the leading "
                           "predicted correction has 3 parameters, and 4 widths test it)")
    if np.any(~np.isfinite(y)) or np.any(y <= 0) or np.any(~(se > 0)):
        return dict(out, exponent=None, ci95=None, verdict=UNDETERMINED,
                    settle=f"{quantity} is not positive with a positive SE at every width")
    terms = corrections(fixed_rho, quantity)
    cands, failed = [], []
    for k in range(len(terms) + 1):
        if widths.size >= 2 + k:
            try:
                cands.append(fit_model(widths, y, se, terms[:k], predicted))
            except AsymexpError as exc:
                failed.append(f"{k} correction(s): {exc}")
    union = [c for c in cands if in_union(c)]
    briefs = [dict(_brief(c), in_union=in_union(c)) for c in cands]
    if failed:
        return dict(out, exponent=None, ci95=None, verdict=UNDETERMINED, models=briefs,
                    settle="a model the data cannot reject was not fitted (" + "; ".join(failed)
                           + "): more widths or more networks")
    if not union:
        worst = ", ".join(f"{c['model']}: p = {c['p_value']:.2g}" for c in cands)
        return dict(out, exponent=None, ci95=None, verdict=UNDETERMINED, models=briefs,
                    model_choice=f"every model is rejected by its chi2 test at level {P_FIT} ({worst})",
                    settle="more widths (a wider range) or more networks to pin the finite-width correction")
    tested = [c for c in union if c["dof"] > 0]
    chosen = (tested or union)[0]
    choice = (f"fewest corrections with chi2 p-value >= {P_FIT} (p = {chosen['p_value']:.3g})" if tested else
              "no model that can be tested passes its chi2 test; the untestable one (no degree of freedom)")
    interval = [min(c["ci95"][0] for c in union), max(c["ci95"][1] for c in union)]
    choice += (f"; the judged interval is the union over {', '.join(c['model'] for c in union)} "
               "(not rejected, or untestable without a degree of freedom)")
    verdict = decide(interval, predicted, f"{quantity} exponent", max_width=MAX_INTERVAL)
    if verdict.word == UNDETERMINED:
        verdict = decide(interval, predicted, f"{quantity} exponent", max_width=MAX_INTERVAL,
                         settle=f"the judged 95% interval is wider than {MAX_INTERVAL:g}, the distance between the "
                                "competing exponents 0 and 1; "
                                + forecast(widths, y, se, union, rows[0].get("networks")))
    out = dict(out, exponent=chosen["fit"], exponent_se=(chosen["ci95"][1] - chosen["ci95"][0]) / (2 * Z95),
               ci95=interval, model=chosen["model"], model_choice=choice, models=briefs, verdict=verdict.word)
    if verdict.word == UNDETERMINED:
        out["settle"] = verdict.settle
    return out


def _brief(c: dict) -> dict:
    return {"model": c["model"], "exponent": c["fit"], "ci95": c["ci95"], "chi2": c["chi2"], "dof": c["dof"],
            "p_value": c["p_value"]}


def _curve(widths, model: dict):
    """The fitted curve of ``model`` at ``widths``, from its exponent, corrections and V (refitted in log V)."""
    p, b = model["fit"], model["b"]
    return widths ** p * (1.0 + sum(bk * widths ** s for bk, (s, _) in zip(b, model["corrections"])))


def forecast(widths, y, se, union: list, networks=None, more=(0, 1, 2, 3, 4), factors=(1, 2, 4, 8, 16)) -> str:
    """What would narrow the union below :data:`MAX_INTERVAL`, forecast from the fit: the model of the union
    with the most corrections is taken as the truth, the relative SE per width as the measured median (an SE
    falling like networks^-1/2), and every model of the union is refitted to that curve at the widths continued
    by doubling (``more`` of them) with ``factors`` times the networks. Suggests the fewest networks at these
    widths and the fewest added widths at these networks (each where one of the grid narrows it)."""
    truth = max(union, key=lambda c: len(c["corrections"]))
    shape = _curve(widths, truth)
    scale = float(np.sum(y * shape / se ** 2) / np.sum(shape ** 2 / se ** 2))     # V of the truth, by least squares
    rel = float(np.median(se / y))
    terms = [[(float(s), str(n)) for s, n in c["corrections"]] for c in union]
    found = {} if math.isfinite(scale) and scale > 0 else {"none": None}
    for extra in (more if not found else ()):
        grid = np.concatenate([widths, widths[-1] * 2.0 ** np.arange(1, extra + 1)])
        y_star = scale * _curve(grid, truth)
        if np.any(~(y_star > 0)):
            break
        for f in factors:
            try:
                fits = [fit_model(grid, y_star, rel * y_star / math.sqrt(f), t) for t in terms]
            except AsymexpError:
                continue
            width = max(c["ci95"][1] for c in fits) - min(c["ci95"][0] for c in fits)
            if width <= MAX_INTERVAL:
                found.setdefault("networks" if extra == 0 else "widths" if f == 1 else "both", (grid, f, width))
                break
    options = [found[k] for k in ("networks", "widths", "both") if k in found][:2]
    if not options:
        return (f"no forecast up to {max(more)} more widths (doubling) and {max(factors)}x the networks narrows it "
                f"below {MAX_INTERVAL:g} (from {truth['model']}, relative SE {rel:.2g}): a wider range of widths")
    said = [f"--widths {','.join(str(int(m)) for m in grid)} with "
            + (f"{math.ceil(f * networks)} networks" if networks else "the same networks" if f == 1
               else f"{f}x the networks")
            + f" (a union about {width:.2f} wide)" for grid, f, width in options]
    return f"forecast from {truth['model']} with the measured relative SE {rel:.2g}: " + ", or ".join(said)


def contradiction(exponent: dict, constant: dict) -> str | None:
    """Why the two verdicts on one quantity and norm contradict each other, or None: the line presumes the
    predicted exponent, so "agree" on its constant contradicts "disagree" on the exponent; and when the line's
    predicted slope is 0 (no growth), a slope that excludes 0 ("disagree") contradicts an exponent that agrees."""
    if constant["verdict"] == AGREE and exponent["verdict"] == DISAGREE:
        return (f"the line {constant['form']} presumes the predicted exponent {exponent['predicted']:g}, which the "
                "exponent's judged interval excludes")
    if constant["verdict"] == DISAGREE and constant["predicted"] == 0 and exponent["verdict"] == AGREE:
        return (f"the slope of {constant['form']} excludes the predicted 0 (growth like M) while the exponent "
                f"agrees with {exponent['predicted']:g}")
    return None


def constant_verdict(rows: list, quantity: str, predicted_constant, exponent: dict | None = None) -> dict:
    """The constant of the leading law: lambda_max = A M + B, or M m_lambda = A + B / M; A against the theory.
    ``exponent``: the exponent verdict of the same quantity and norm; where the two would contradict each
    other (:func:`contradiction`) the constant is "undetermined" and ``why`` says so."""
    widths, y, se = _arrays(rows, quantity)
    if quantity == "lambda_max":
        x, yy, ss, form = widths, y, se, "lambda_max = A M + B"
    else:
        x, yy, ss, form = 1.0 / widths, widths * y, widths * se, "M m_lambda = A + B / M"
    out = {"quantity": quantity, "form": form, "predicted": predicted_constant}
    if widths.size < 3 or np.any(~(ss > 0)):
        return dict(out, constant=None, ci95=None, verdict=UNDETERMINED, why="too few widths or a zero SE",
                    settle="at least 3 widths with positive SEs are needed")
    f = linear_fit(x, yy, ss)
    a, va = (f["b"], f["cov"][1, 1]) if quantity == "lambda_max" else (f["a"], f["cov"][0, 0])
    b, vb = (f["a"], f["cov"][0, 0]) if quantity == "lambda_max" else (f["b"], f["cov"][1, 1])
    pv = p_value(f["chi2"], f["dof"])
    interval = ci(a, va)
    verdict = decide(interval, predicted_constant, "constant A",
                     rejected=f"the straight line's chi2 p = {pv:.3g} < 0.05" if pv is not None and pv < 0.05 else None,
                     settle="the straight line is rejected by its chi2 test: more widths or a correction term")
    out = dict(out, constant=a, ci95=interval, offset=b, offset_ci95=ci(b, vb), chi2=f["chi2"], dof=f["dof"],
               p_value=pv, verdict=verdict.word, why=verdict.reason)
    clash = None if exponent is None else contradiction(exponent, out)
    if clash is not None:
        out.update(verdict=UNDETERMINED, why=f"not judged: {clash} (alone it would {verdict.word})",
                   settle="more widths (a wider range) or more networks, until the exponent and the line agree")
    elif verdict.word == UNDETERMINED:
        out["settle"] = verdict.settle
    return out
