"""Pairwise Gaussian expectations by 2-d Gauss-Hermite quadrature.

For jointly Gaussian (u_p)_p with mean ``mean`` (P,) and covariance ``cov`` (P, P), every pair (u_p, u_q) is
written u_p = m_p + a z1, u_q = m_q + rho z1 + b z2 (a Cholesky factor of the 2 x 2 block) and integrated with an
``order``-node probabilists' Gauss-Hermite product rule. This gives the layer kernels of deep nets to near machine
precision with ~100 nodes (docs/theory/3-shallow-expansion.md to 4-deep-networks.md).
"""
from __future__ import annotations

import numpy as np

from asymexp.activations import sigma_derivatives

#: Default nodes per dimension of the pairwise rule.
PAIR_ORDER = 96


def pair_moments(activation: str, mean: np.ndarray, cov: np.ndarray, order: int = PAIR_ORDER):
    """E[sigma(u_p) sigma(u_q)] (P, P), E[sigma'(u_p) sigma'(u_q)] (P, P) and E[sigma(u_p)] (P,)."""
    z, wt = np.polynomial.hermite_e.hermegauss(order)
    wt = wt / wt.sum()
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    w2 = np.outer(wt, wt)
    mean = np.asarray(mean, dtype=np.float64)
    p = cov.shape[0]
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    e_s = (sigma_derivatives(activation, mean[:, None] + np.outer(sd, z), 0)[0] * wt).sum(axis=1)
    kk, kd = np.empty((p, p)), np.empty((p, p))
    for i in range(p):
        si, ti = sigma_derivatives(activation, mean[i] + sd[i] * z1, 1)
        for j in range(i, p):
            rho = cov[i, j] / sd[i] if sd[i] > 0 else 0.0
            b = np.sqrt(max(cov[j, j] - rho * rho, 0.0))
            sj, tj = sigma_derivatives(activation, mean[j] + rho * z1 + b * z2, 1)
            kk[i, j] = kk[j, i] = float((w2 * si * sj).sum())
            kd[i, j] = kd[j, i] = float((w2 * ti * tj).sum())
    return kk, kd, e_s
