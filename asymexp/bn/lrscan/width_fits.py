"""The width exponents of ``asymexp lr-scan --widths`` and their verdicts (docs/batchnorm.md, "Learning-rate
thresholds", "Against width").

Per width the K networks give K values of a threshold; the row's value is their geometric mean and its standard
error that of the mean of the logs (:func:`log_mean`): the larger of the spread over the networks (sample variance)
and the bisection's own rounding (each bracket [lo, hi] taken as a uniform interval in log step size, variance
ln(hi / lo)^2 / 12), over K. The fits take these SEs as known sigmas after scaling them by t_{0.975, K-1} / 1.96
(:func:`fit_sigma`): with K networks the SE is itself estimated from K - 1 degrees of freedom, and the scaling
makes each width's known-sigma 95% interval the Student-t one.

The fits (:func:`exponent_entry`) are those of ``asymexp fim``, made on the inverse rate 1 / y, the quantity the
laws are about (y follows 2 / lambda_max, and lambda_max = A M + B carries an additive offset): weighted fits of
1 / y = V M^-p and of 1 / y = V M^-p (1 + sum_k b_k M^{s_k}), i.e. y = M^p / (V (1 + sum_k b_k M^{s_k})), with the
corrections the laws declare (:func:`corrections`; at fixed rho the O(1) offset, relative 1/M; at fixed T first
M^-1/2, then 1/M), each through :func:`asymexp.stats.fits.exponent_fit` (the relative SE of 1 / y is that of y);
the verdict model is the first that its chi2 test at 5% does not reject,
the judged interval the union of every accepted model's 95% interval (:func:`asymexp.stats.fits.judge`). The bare
power law alone is never judged when a correction is declared: too few widths for the corrected model (4) give
"undetermined". A judged interval wider than :data:`MAX_INTERVAL` (the distance between the competing exponents
-1 and 0) is undetermined.

Predictions (:func:`predicted_exponent`): lr_stable follows 2 / lambda_max (docs/batchnorm.md, "Verdicts"), so its
width exponent is minus that of lambda_max (docs/batchnorm.md, "The laws"). lr_max has no law.
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.errors import AsymexpError
from asymexp.stats.fits import exponent_fit, judge
from asymexp.stats.interval_verdicts import NO_PREDICTION, UNDETERMINED, Z95, decide

#: A judged exponent interval wider than this cannot tell exponent -1 from 0: undetermined.
MAX_INTERVAL = 1.0
#: The thresholds whose width exponents are fitted and judged (``fits``).
QUANTITIES = ("lr_stable", "lr_max")


def log_mean(values, brackets=None) -> dict | None:
    """Geometric mean of the positive ``values`` (None entries dropped) with the SE of the mean of their logs:
    sqrt(max(sample variance, mean bracket variance) / n), the bracket variance ln(hi / lo)^2 / 12 (a uniform
    interval in log). ``{"value", "se" (value * log SE), "log_se", "count"}``, or None below 2 values."""
    kept = [(v, b) for v, b in zip(values, brackets or [None] * len(values)) if v is not None]
    if len(kept) < 2:
        return None
    logs = np.log([v for v, _ in kept])
    rounding = [math.log(b[1] / b[0]) ** 2 / 12.0 for _, b in kept if b is not None]
    var = max(float(np.var(logs, ddof=1)), float(np.mean(rounding)) if rounding else 0.0)
    log_se = math.sqrt(var / len(kept))
    value = math.exp(float(np.mean(logs)))
    return {"value": value, "se": value * log_se, "log_se": log_se, "count": len(kept)}


def fit_sigma(se: float, count: int) -> float:
    """The known sigma handed to the fits: the SE of a mean of ``count`` values times t_{0.975, count-1} / z."""
    from scipy.stats import t as student

    return se * float(student.ppf(0.975, count - 1)) / Z95


def corrections(fixed_rho: bool) -> list:
    """The declared relative corrections of 2 / lambda_max, slowest first (as ``asymexp fim``'s)."""
    return [(-1.0, "1/M")] if fixed_rho else [(-0.5, "M^-1/2"), (-1.0, "1/M")]


def predicted_exponent(norm: str, activation: str, layers: int, fixed_rho: bool, quantity: str,
                       data: str = "gaussian") -> tuple:
    """(predicted width exponent of ``quantity`` or None, why) for s_w^2 = 2, s_b^2 = 0 (docs/batchnorm.md,
    "The laws"): minus the exponent of lambda_max, which lr_stable follows."""
    if quantity != "lr_stable":
        return None, ("no law for the largest loss-reducing rate (the catapult range); measured, not judged")
    if norm == "none":
        if data == "gaussian" and _centred(activation, layers):
            if fixed_rho:
                return 0.0, ("kappa2 = 0 (an odd activation without bias on Gaussian inputs): no mean-gradient "
                             "outliers, and the bulk alpha rho kappa1 is fixed at fixed rho")
            return -1.0, "kappa2 = 0: no outliers, but at fixed T the bulk (M/T) alpha kappa1 grows like M"
        return -1.0, ("lambda_max = alpha kappa2 M + O(1), the mean-gradient outliers (Karakida), so "
                      "2/lambda_max falls like 1/M")
    if norm in ("mean-last", "bn-last"):
        how = "output mean subtraction" if norm == "mean-last" else "output batch norm (its centring)"
        if fixed_rho:
            return 0.0, (f"{how} removes the outliers; the bulk alpha rho (kappa1 - kappa2) is fixed at fixed "
                         "rho = M/T")
        return -1.0, (f"{how} removes the outliers, but at fixed T the bulk (M/T) alpha (kappa1 - kappa2) grows "
                      "like M")
    mean_sq = _mean_phi_squared(activation)
    if mean_sq is not None:
        return -1.0, (f"{activation} after the normalization is not centred: the output block alone gives "
                      f"lambda_max >= M (E phi(z))^2 = {mean_sq:.3g} M, and lambda_max <= tr F = O(M), so it "
                      "grows like M")
    return None, (f"E {activation}(z) = 0: the output block's lower bound vanishes and docs/batchnorm.md derives "
                  f"no law for {norm}; measured, not judged")


def _centred(activation: str, layers: int) -> bool:
    """kappa2 = 0 within its quadrature error (Gaussian inputs, s_b^2 = 0)."""
    from asymexp.bn.order_parameters import order_parameters

    op = order_parameters(activation, layers, 2.0, 0.0)
    return abs(op.kappa2) <= 10 * op.error + 1e-12


def _mean_phi_squared(activation: str):
    """(E phi(z))^2, z ~ N(0, 1), when it is above its quadrature error; else None."""
    from asymexp.activations.gaussian import pair_kernel

    value, error = pair_kernel(activation, 1.0, 1.0, 0.0)
    return value if value > 10 * error + 1e-12 else None


def exponent_entry(rows: list, quantity: str, predicted, why: str, fixed_rho: bool) -> dict:
    """The ``fits`` entry of ``quantity`` over ``rows`` (one norm and depth, one row per width, each with
    ``quantity``, ``{quantity}_se`` and ``{quantity}_count``; a width without a value is left out and its
    ``{quantity}_status`` named): exponent, its 95% interval over the accepted models, the verdict against
    ``predicted`` and why."""
    out = {"norm": rows[0]["norm"], "layers": rows[0]["layers"], "quantity": quantity, "predicted": predicted}
    kept = [r for r in rows if r.get(quantity) is not None and r.get(f"{quantity}_se")]
    widths = np.array([r["width"] for r in kept], dtype=float)
    y = np.array([r[quantity] for r in kept], dtype=float)
    sigma = np.array([fit_sigma(r[f"{quantity}_se"], r[f"{quantity}_count"]) for r in kept], dtype=float)
    terms = corrections(fixed_rho)
    dropped = "".join(f"; M = {r['width']}: {r[f'{quantity}_status']}" for r in rows
                      if r not in kept and r.get(f"{quantity}_status", "bracketed") != "bracketed")
    if widths.size < 3:
        return _undetermined(out, why, f"{widths.size} width(s) with a value and an SE{dropped}",
                             "at least 3 widths (4 for the corrected model), every network bracketed")
    inverse = None if predicted is None else -predicted  # pragma: no mutate (only recorded by the fit, never read)
    try:
        cands = [_negated(exponent_fit(widths, 1.0 / y, sigma / y ** 2, terms[:k], inverse))
                 for k in range(len(terms) + 1) if k == 0 or widths.size >= 3 + k]
    except AsymexpError as exc:
        return _undetermined(out, why, str(exc) + dropped, "more networks per width")
    chosen, reason = judge(cands)
    out.update(models=[_brief(c) for c in cands], model_choice=reason)
    if chosen is None:
        return _undetermined(out, why, reason + dropped, "more widths (a wider range) or more networks per width")
    interval = chosen["ci95_models"]
    out.update(exponent=chosen["fit"], ci95=interval, model=chosen["model"])
    if len(cands) == 1:
        return _undetermined(out, why, f"{widths.size} widths fit only the bare power law, whose local slope "
                             f"the declared correction {terms[0][1]} biases{dropped}",
                             "a fourth width, so that the corrected model keeps a degree of freedom", keep=True)
    verdict = decide(interval, predicted, f"{quantity} width exponent", max_width=MAX_INTERVAL,
                     settle="more widths (a wider range) or more networks per width")
    out.update(verdict=verdict.word, why=f"{why}; {verdict.reason}{dropped}")
    if verdict.word == UNDETERMINED:
        out["settle"] = verdict.settle
    if verdict.word == NO_PREDICTION:
        out["why"] = why + dropped
    return out


def _undetermined(out: dict, why: str, reason: str, settle: str, keep: bool = False) -> dict:
    if not keep:
        out.update(exponent=None, ci95=None)
    word = NO_PREDICTION if out["predicted"] is None else UNDETERMINED
    return dict(out, verdict=word, why=f"{why}; {reason}", **({"settle": settle} if word == UNDETERMINED else {}))


def _negated(fit: dict) -> dict:
    """A fit of 1 / y = V M^q (1 + ...) as the exponent p = -q of y, its 95% interval and the model in y."""
    lo, hi = fit["ci95"]
    terms = " + ".join(f"b{i}*{name}" for i, (_, name) in enumerate(fit["corrections"], 1))
    return dict(fit, fit=-fit["fit"], ci95=[-hi, -lo],
                model="y = M^p / V" + (f" / (1 + {terms})" if terms else ""))


def _brief(c: dict) -> dict:
    return {"model": c["model"], "exponent": c["fit"], "ci95": c["ci95"], "chi2": c["chi2"], "dof": c["dof"],
            "p_value": c["p_value"]}


def summary_entries(fits: list) -> list:
    """The judged fits as verdict entries for :func:`asymexp.stats.interval_verdicts.summary`."""
    return [{"quantity": f"{f['quantity']} width exponent, {f['norm']}, H = {f['layers']}", "verdict": f["verdict"]}
            for f in fits if f["verdict"] != NO_PREDICTION]
