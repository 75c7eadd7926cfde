"""Fits across widths: the variance exponent with its predicted correction, the raw log-log slope, and the
variance constant r(N) = b0 + b1 eps^2 (THEORY.md section 5: "fit, never trust a raw slope").

All fits are weighted least squares with the Monte Carlo standard errors as known sigmas
(``absolute_sigma``); 95% intervals are estimate +- 1.96 sd from the covariance. chi2 / dof is reported so a
model that does not describe the data shows up as such.
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import AsymexpError

Z95 = 1.959963984540054


def _arrays(*arrs):
    out = [np.asarray(a, dtype=np.float64).ravel() for a in arrs]
    n = out[0].size
    if any(a.size != n for a in out):
        raise AsymexpError("fit inputs have different lengths")
    if np.any(out[-1] <= 0) or not all(np.all(np.isfinite(a)) for a in out):
        raise AsymexpError("fit inputs must be finite with standard errors > 0 (more replicas?)")
    return out


def linear_fit(x, y, se) -> dict:
    """y = a + b x by weighted least squares. Returns {"a", "b", "cov" (2x2), "chi2", "dof"}."""
    x, y, se = _arrays(x, y, se)
    if x.size < 2:
        raise AsymexpError("a linear fit needs at least two widths")
    X = np.column_stack([np.ones_like(x), x]) / se[:, None]
    cov = np.linalg.inv(X.T @ X)
    coef = cov @ X.T @ (y / se)
    resid = (y - coef[0] - coef[1] * x) / se
    return {"a": float(coef[0]), "b": float(coef[1]), "cov": cov, "chi2": float(resid @ resid),
            "dof": int(x.size - 2)}


def ci(value: float, var: float) -> list[float]:
    half = Z95 * float(np.sqrt(max(var, 0.0)))
    return [float(value - half), float(value + half)]


def ratio_fit(eps2, r, se) -> dict:
    """r(N) = b0 + b1 eps^2. Returns {"b0", "b1", "ci95", "b1_ci95", "chi2", "dof", "model"}."""
    f = linear_fit(eps2, r, se)
    return {"b0": f["a"], "ci95": ci(f["a"], f["cov"][0, 0]), "b1": f["b"], "b1_ci95": ci(f["b"], f["cov"][1, 1]),
            "chi2": f["chi2"], "dof": f["dof"], "model": "b0 + b1*eps^2"}


def raw_slope(widths, var, se) -> dict:
    """Weighted log-log slope of var against N (sd of log var = se / var)."""
    widths, var, se = _arrays(widths, var, se)
    f = linear_fit(np.log(widths), np.log(var), se / var)
    return {"slope": f["b"], "ci95": ci(f["b"], f["cov"][1, 1]), "chi2": f["chi2"], "dof": f["dof"]}


def exponent_fit(widths, var, se, eps2_power: float, predicted: float | None = None) -> dict:
    """Var = V N^p (1 + b N^eps2_power) by weighted nonlinear least squares (scipy.optimize.curve_fit).

    eps2_power = 2 gamma_L - 2 (eps^2 = N^{2gamma-2}). With fewer than 4 widths (no degree of freedom left), or
    eps2_power = 0 (gamma = 1), the correction is dropped and the model is V N^p (named in "model"). Returns {"fit", "ci95", "b", "chi2", "dof", "model"}.
    """
    from scipy.optimize import curve_fit

    widths, var, se = _arrays(widths, var, se)
    start = raw_slope(widths, var, se)["slope"]
    logn = np.log(widths)
    if widths.size >= 4 and eps2_power < 0:
        def model(ln, logv, p, b):
            return np.exp(logv + p * ln) * (1.0 + b * np.exp(eps2_power * ln))
        p0 = [float(np.log(var[0]) - start * logn[0]), start, 0.0]
        name = "V*N^p*(1+b*eps^2)"
    else:
        def model(ln, logv, p):
            return np.exp(logv + p * ln)
        p0 = [float(np.log(var[0]) - start * logn[0]), start]
        name = "V*N^p"
    try:
        coef, cov = curve_fit(model, logn, var, p0=p0, sigma=se, absolute_sigma=True, maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise AsymexpError(f"the variance-exponent fit did not converge: {exc}") from None
    resid = (var - model(logn, *coef)) / se
    out = {"fit": float(coef[1]), "ci95": ci(coef[1], cov[1, 1]), "chi2": float(resid @ resid),
           "dof": int(widths.size - len(coef)), "model": name}
    if len(coef) == 3:
        out["b"] = float(coef[2])
    if predicted is not None:
        out["predicted"] = float(predicted)
    return out


def next_order_fits(widths, var, se, ratio, ratio_se, eps2_power: float) -> dict | None:
    """A diagnostic beside the main fits: the same models with the next relative order eps^4 added,
    Var = V N^p (1 + b eps^2 + b2 eps^4) and r(N) = b0 + b1 eps^2 + b2 eps^4 (needs >= 5 widths).

    Not used by the verdict; it shows how much the main intervals depend on the neglected order."""
    from scipy.optimize import curve_fit

    widths, var, se = _arrays(widths, var, se)
    if widths.size < 5 or eps2_power >= 0:
        return None
    e2 = widths ** eps2_power
    r, rse = np.asarray(ratio, float), np.asarray(ratio_se, float)
    X = np.column_stack([np.ones_like(e2), e2, e2 ** 2]) / rse[:, None]
    cov = np.linalg.inv(X.T @ X)
    coef = cov @ X.T @ (r / rse)
    logn = np.log(widths)

    def model(ln, logv, p, b, b2):
        e = np.exp(eps2_power * ln)
        return np.exp(logv + p * ln) * (1.0 + b * e + b2 * e * e)

    start = raw_slope(widths, var, se)["slope"]
    try:
        pc, pcov = curve_fit(model, logn, var, p0=[float(np.log(var[0]) - start * logn[0]), start, 0.0, 0.0],
                             sigma=se, absolute_sigma=True, maxfev=20000)
        exponent = {"fit": float(pc[1]), "ci95": ci(pc[1], pcov[1, 1]), "model": "V*N^p*(1+b*eps^2+b2*eps^4)"}
    except (RuntimeError, ValueError):
        exponent = None
    return {"var_slope": exponent,
            "var_ratio": {"b0": float(coef[0]), "ci95": ci(coef[0], cov[0, 0]), "model": "b0 + b1*eps^2 + b2*eps^4"}}
