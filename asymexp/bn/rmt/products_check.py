"""Products of Gaussian matrices against the Fuss-Catalan law: moments, edge, finite-N corrections (docs/rmt.md).

Each row compares the Monte Carlo spectral moments m_k (mean over samples, with its standard error) and the mean
top eigenvalue with the exact limits. Over several sizes, the relative error of a moment is fitted as
a N^slope by weighted nonlinear least squares (:func:`finite_size_fit`).
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.bn.rmt.fuss_catalan import edge, moment
from asymexp.bn.rmt.gaussian_products import sample_spectra
from asymexp.bn.rmt.rmt_verdicts import study_verdicts
from asymexp.stats.fits import ci
from asymexp.stats.interval_verdicts import UNDETERMINED

RESOLVED_SE = 3.0   # the amplitude of the finite-N error must be at least this many standard errors


def spectrum_row(factors: int, size: int, samples: int, orders: int, seed: int) -> dict:
    """One (L, N) row: measured and predicted moments k = 1..orders (with SE and relative error), and the edge."""
    draw = sample_spectra(factors, size, samples, orders, seed)
    m, top = draw["moments"], draw["top"]
    mean = m.mean(axis=0)
    se = m.std(axis=0, ddof=1) / math.sqrt(samples)
    exact = np.array([float(moment(factors, k)) for k in range(1, orders + 1)])
    return {"factors": factors, "size": size, "samples": samples,
            "moments": mean.tolist(), "moments_se": se.tolist(), "predicted_moments": exact.tolist(),
            "relative_error": ((mean - exact) / exact).tolist(), "relative_error_se": (se / exact).tolist(),
            "edge": float(top.mean()), "edge_se": float(top.std(ddof=1) / math.sqrt(samples)),
            "predicted_edge": float(edge(factors))}


def edge_size_fit(rows: list[dict]) -> dict:
    """The fit of :func:`finite_size_fit` for the edge's relative error (mean top eigenvalue over the limit,
    minus 1) over the rows of one L."""
    rel = [{"factors": r["factors"], "size": r["size"],
            "relative_error": [r["edge"] / r["predicted_edge"] - 1.0],
            "relative_error_se": [r["edge_se"] / r["predicted_edge"]]} for r in rows]
    fit = finite_size_fit(rel, 1)
    del fit["moment"]
    return fit


def finite_size_fit(rows: list[dict], k: int) -> dict:
    """Fit of the relative error of m_k over the rows of one L: e(N) = a N^slope, weighted by the SEs.

    Nonlinear least squares on e itself (every size counts, none is dropped for being small); the 95% interval
    of the slope is slope +- 1.96 sd from the covariance. The slope is undetermined with fewer than three sizes,
    or when the amplitude is not resolved (|a| < 3 sd(a)): then the data cannot tell a power from noise.
    """
    from scipy.optimize import curve_fit

    sizes = np.array([r["size"] for r in rows], dtype=float)
    err = np.array([r["relative_error"][k - 1] for r in rows])
    se = np.array([r["relative_error_se"][k - 1] for r in rows])
    points = [{"size": int(n), "relative_error": float(e), "se": float(s)} for n, e, s in zip(sizes, err, se)]
    out = {"factors": rows[0]["factors"], "moment": k, "points": points}

    def undetermined(why):
        return {**out, "slope": None, "ci95": None, "verdict": UNDETERMINED, "why": why}

    if sizes.size < 3:
        return undetermined(f"{sizes.size} sizes; three are needed")
    ref = sizes[0]

    def model(n, a, slope):
        return a * (n / ref) ** slope

    try:
        coef, cov = curve_fit(model, sizes, err, p0=(err[0] if err[0] else se[0], -1.0), sigma=se,
                              absolute_sigma=True, maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        return undetermined(f"the fit did not converge ({exc}); more --samples")
    sd = np.sqrt(np.diag(cov))
    if not np.all(np.isfinite(sd)) or abs(coef[0]) < RESOLVED_SE * sd[0]:
        return undetermined(f"the error is not resolved (amplitude {coef[0]:.2g} +- {sd[0]:.2g} at N = {ref:g}); "
                            "more --samples, or smaller sizes")
    resid = (err - model(sizes, *coef)) / se
    return {**out, "slope": float(coef[1]), "ci95": ci(coef[1], cov[1, 1]),
            "amplitude": float(coef[0] * ref ** (-coef[1])), "chi2": float(resid @ resid),
            "dof": int(sizes.size - 2), "verdict": "fitted"}


def products_report(factors: list[int], sizes: list[int], samples: int, orders: int, seed: int,
                    progress=None) -> dict:
    """Rows for every (L, N), with two or more sizes the finite-N fit of every moment and of the edge for every
    L, and the verdicts (:mod:`asymexp.bn.rmt.rmt_verdicts`)."""
    rows = []
    for L in factors:
        for n in sizes:
            rows.append(spectrum_row(L, n, samples, orders, seed))
            if progress is not None:
                progress()
    doc = {"rows": rows}
    if len(sizes) >= 2:
        doc["finite_size"] = [finite_size_fit([r for r in rows if r["factors"] == L], k)
                              for L in factors for k in range(1, orders + 1)]
        doc["edge_finite_size"] = [edge_size_fit([r for r in rows if r["factors"] == L]) for L in factors]
    return dict(doc, **study_verdicts(doc, doc.get("edge_finite_size")))
