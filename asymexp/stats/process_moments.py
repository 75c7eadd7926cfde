"""Monte Carlo moments of a fluctuation process from independent draws, each with its standard error
(docs/validation.md, "The fluctuation process").

- :func:`covariance_estimate`: the sample covariance of n draws of a vector, each entry with the delta-method SE
  std(psi) / sqrt(n), psi_i = (x_i - mean x)(y_i - mean y), and the estimated covariance of the entries'
  errors (for a whitened test over entries);
- :func:`standardized_cumulants`: the skewness k3 / k2^{3/2} and the fourth standardized cumulant k4 / k2^2 from
  the k-statistics (k2 = n m2 / (n - 1), k3 = n^2 m3 / ((n - 1)(n - 2)), k4 as
  :func:`asymexp.stats.cumulants.fourth_cumulant`), each with the SE of its influence function

      psi_3 = (d^3 - m3 - 3 m2 d) / m2^{3/2} - (3/2) m3 (d^2 - m2) / m2^{5/2},
      psi_4 = (d^4 - m4 - 4 m3 d) / m2^2 - 2 m4 (d^2 - m2) / m2^3,       d = x - mean x

  (a Gaussian: 0 and 0 with SEs about sqrt(6 / n) and sqrt(24 / n); an exponential: 2 and 6);
- :func:`power_fit`: the exponent b of abs(value) ~ a N^b by weighted least squares on log abs(value) over the widths
  where the value is resolved (abs(value) > RESOLVED SE), with its 95% interval.
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import AsymexpError

#: abs(value) / SE above which a cumulant enters the exponent fit.
RESOLVED = 2.0


def _draws(x, minimum: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < minimum or not np.all(np.isfinite(x)):
        raise AsymexpError(f"draws of shape (n, P) with n >= {minimum}, all finite, are required; got {x.shape}")
    return x


def covariance_estimate(x, block: int = 8192) -> dict:
    """From x (n, K): {"cov" (K, K) with ddof 1, "se" (K, K), "entry_cov" (K, K, K, K): the estimated covariance
    of the errors of entries (i, j) and (k, l), Cov(psi_ij, psi_kl) / n}; the products psi are formed ``block``
    draws at a time (memory K^2 block numbers)."""
    x = _draws(x, 4)
    n, k = x.shape
    d = x - x.mean(axis=0)
    cov = d.T @ d / (n - 1)
    mean_psi = cov * (n - 1) / n
    second = np.zeros((k * k, k * k))
    for start in range(0, n, block):
        part = d[start:start + block]
        flat = (part[:, :, None] * part[:, None, :]).reshape(len(part), -1) - mean_psi.ravel()
        second += flat.T @ flat
    entry_cov = (second / (n - 1) / n).reshape(k, k, k, k)
    return {"cov": cov, "se": np.sqrt(np.einsum("ijij->ij", entry_cov)), "entry_cov": entry_cov}


def standardized_cumulants(x) -> dict:
    """From x (n, P): {"skew", "skew_se", "kurt", "kurt_se"} each (P,): k3 / k2^{3/2} and k4 / k2^2 (the excess
    kurtosis) with their delta-method SEs (module docstring)."""
    x = _draws(x, 8)
    n = x.shape[0]
    d = x - x.mean(axis=0)
    m2, m3, m4 = (d ** 2).mean(axis=0), (d ** 3).mean(axis=0), (d ** 4).mean(axis=0)
    if np.any(m2 <= 0):
        raise AsymexpError("a column of the draws is constant: its standardized cumulants are undefined")
    k2 = n * m2 / (n - 1)
    k3 = n * n * m3 / ((n - 1) * (n - 2))
    k4 = n * n * ((n + 1) * m4 - 3 * (n - 1) * m2 * m2) / ((n - 1) * (n - 2) * (n - 3))
    psi3 = (d ** 3 - m3 - 3 * m2 * d) / m2 ** 1.5 - 1.5 * m3 * (d ** 2 - m2) / m2 ** 2.5
    psi4 = (d ** 4 - m4 - 4 * m3 * d) / m2 ** 2 - 2 * m4 * (d ** 2 - m2) / m2 ** 3
    root = np.sqrt(n)
    return {"skew": k3 / k2 ** 1.5, "skew_se": psi3.std(axis=0, ddof=1) / root,
            "kurt": k4 / k2 ** 2, "kurt_se": psi4.std(axis=0, ddof=1) / root}


def power_fit(widths, values, se) -> dict:
    """abs(value) ~ a N^b over the resolved widths: {"resolved" (the widths used), "b", "b_se", "ci95", "chi2",
    "dof"}, with b, b_se, ci95 None when fewer than two widths are resolved (or the resolved values change sign,
    so that no single power describes them)."""
    from asymexp.stats.fits import Z95, linear_fit

    w, v, s = (np.asarray(a, dtype=np.float64) for a in (widths, values, se))
    keep = np.abs(v) > RESOLVED * s
    out = {"resolved": w[keep].astype(int).tolist(), "b": None, "b_se": None, "ci95": None, "chi2": None,
           "dof": None}
    if keep.sum() < 2 or len(set(np.sign(v[keep]))) > 1:
        return out
    fit = linear_fit(np.log(w[keep]), np.log(np.abs(v[keep])), s[keep] / np.abs(v[keep]))
    b_se = float(np.sqrt(fit["cov"][1, 1]))
    # with chi2 above its degrees of freedom, the scatter (not the SEs) sets the slope's error
    if fit["dof"] > 0 and fit["chi2"] > fit["dof"]:
        b_se *= float(np.sqrt(fit["chi2"] / fit["dof"]))
    out.update(b=fit["b"], b_se=b_se, ci95=[fit["b"] - Z95 * b_se, fit["b"] + Z95 * b_se], chi2=fit["chi2"],
               dof=fit["dof"])
    return out
