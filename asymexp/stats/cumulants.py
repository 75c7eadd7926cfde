"""The sample fourth cumulant with its standard error (docs/theory/8-initial-cumulants.md, "Simulation check").

For n i.i.d. draws the k-statistic

    k4 = n^2 [(n + 1) m4 - 3 (n - 1) m2^2] / ((n - 1)(n - 2)(n - 3)),    m_r = mean (g - mean g)^r

is the unbiased estimator of kappa_4 = mu_4 - 3 mu_2^2. Its standard error is the delta-method one: the influence
function of kappa_4 is psi = (g - mu)^4 - mu_4 - 4 mu_3 (g - mu) - 6 mu_2 ((g - mu)^2 - mu_2), so
SE = std(psi) / sqrt(n) (relative error of the SE itself O(n^{-1/2})).
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import AsymexpError


def fourth_cumulant(g) -> tuple[np.ndarray, np.ndarray]:
    """(k4, SE), each (P,), from g (n, P): n independent draws at P points (n >= 8)."""
    g = np.asarray(g, dtype=np.float64)
    if g.ndim == 1:
        g = g[:, None]
    if g.ndim != 2 or g.shape[0] < 8:
        raise AsymexpError(f"the fourth cumulant needs draws of shape (n, P) with n >= 8; got {g.shape}")
    n = g.shape[0]
    d = g - g.mean(axis=0)
    m2, m3, m4 = (d ** 2).mean(axis=0), (d ** 3).mean(axis=0), (d ** 4).mean(axis=0)
    k4 = n * n * ((n + 1) * m4 - 3 * (n - 1) * m2 * m2) / ((n - 1) * (n - 2) * (n - 3))
    psi = d ** 4 - 4 * m3 * d - 6 * m2 * d ** 2
    return k4, psi.std(axis=0, ddof=1) / np.sqrt(n)
