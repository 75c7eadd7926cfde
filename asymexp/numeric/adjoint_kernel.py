"""The adjoint rates of the node flow's linear response (docs/theory/7-random-terms.md, "All eps-orders of the
variance"): two passes over the nodes per evaluation point, the first for the pull a_m of the adjoints on the
training points, the second for each node's rate. Checked through :func:`asymexp.numeric.linear_response.
weight_gradients` against central differences of the node flow (tests/test_linear_response.py).

Shapes: c (K,) output weights; r (M,) residuals; s0, s1, s2 (K, M) sigma and its derivatives at w_k . x_m;
x (M, d) training points; om (K,) node weights; nu (P, K, 1 + d) adjoints; out d_nu like nu; out j (P, K).
"""
from __future__ import annotations

import numpy as np

from asymexp.jit import kernel


@kernel()
def adjoint_rates(c, r, s0, s1, s2, x, om, nu, rate, eps, d_nu, j):
    """d_nu[p, k] = d nu_k/dt and j[p, k] = sum_m a_m f(theta_k, x_m), a_m = sum_k om_k grad f_km . nu_k."""
    n_p, n_k, d1 = nu.shape
    n_m, d = x.shape
    a = np.empty(n_m)
    for p in range(n_p):
        a[:] = 0.0
        for k in range(n_k):
            nc = nu[p, k, 0]
            for m in range(n_m):
                acc = 0.0
                for q in range(d):
                    acc += nu[p, k, 1 + q] * x[m, q]
                a[m] += om[k] * (s0[k, m] * nc + c[k] * s1[k, m] * acc)
        for m in range(n_m):
            a[m] /= eps
        for k in range(n_k):
            nc, ck = nu[p, k, 0], c[k]
            hess_c, drive_c, jj = 0.0, 0.0, 0.0
            for q in range(d):
                d_nu[p, k, 1 + q] = 0.0
            for m in range(n_m):
                acc = 0.0
                for q in range(d):
                    acc += nu[p, k, 1 + q] * x[m, q]
                hess_c += s1[k, m] * acc * r[m]
                drive_c += s0[k, m] * a[m]
                jj += a[m] * ck * s0[k, m]
                coef = (s1[k, m] * nc + ck * s2[k, m] * acc) * r[m] - ck * s1[k, m] * a[m]
                for q in range(d):
                    d_nu[p, k, 1 + q] += coef * x[m, q]
            d_nu[p, k, 0] = -rate * (hess_c - drive_c)
            for q in range(d):
                d_nu[p, k, 1 + q] *= -rate
            j[p, k] = jj * eps
