"""Compiled accumulation of the expectation tensors of f = c sigma(w . x) over weighted w-nodes.

Per w-node (u_p = w . x_p, s_j[p] = sigma^(j)(u_p)) every tensor of :mod:`asymexp.numeric.derivative_tensors` is
a polynomial of degree <= 4 in c whose coefficients are scalar expressions in the Gram matrix X[p, q] = x_p . x_q
(docs/theory-layer.md, "Closed forms"). With e[p,n] = s1n X[p,n], a0[p,n] = s1p e[p,n], b0[p,n] = s1p s0n,
b2[p,n] = s2p e[p,n]:

    Hf_p gf_n          = (c a0[p,n], (b0[p,n] + c^2 b2[p,n]) x_p)
    D3f_p[gf_a, gf_b]  = (c^2 s2p e[p,a] e[p,b], (c s2p (s0a e[p,b] + e[p,a] s0b) + c^3 s3p e[p,a] e[p,b]) x_p)

so each tensor entry is sum_j mom_j (coefficient of c^j), mom_j = sum over the node's c-values of weight c^j. A
product rule passes the exact moments of the law of c; Monte Carlo passes weight c_k^j per draw. The cost per
w-node is O(P^2 M^2), independent of the input dimension d.
"""
from __future__ import annotations

import numpy as np

from asymexp.jit import kernel


@kernel()
def accumulate_tensors(mom, s, gram, m, order):
    """Weighted sums over K w-nodes.

    Args:
        mom: (K, 5) weighted c-moments of each node (mom[k, j] = sum weight c^j); s: (K, P, 4) sigma, sigma',
        sigma'', sigma''' at u = w . x_p; gram: (P, P) x_p . x_q; m: number of training points (the first m);
        order: 0 (A, S moments only), 1 (+ G1), 2 (+ Ta, G2b, G2c).
    Returns:
        (A, A2, S, S2, F, G1, Ta, G2b, G2c): the weighted sums of gf.gf, (gf.gf)^2, f f, (f f)^2 (P, P), f (P),
        G1 (P, P, M), Ta, G2b, G2c (P, P, M, M); tensors above ``order`` have zero size in M.
    """
    k_n, p_n = s.shape[0], s.shape[1]
    mm = m if order >= 1 else 0
    m2 = m if order >= 2 else 0
    a_sum = np.zeros((p_n, p_n))
    a2_sum = np.zeros((p_n, p_n))
    s_sum = np.zeros((p_n, p_n))
    s2_sum = np.zeros((p_n, p_n))
    f_sum = np.zeros(p_n)
    g1 = np.zeros((p_n, p_n, mm))
    ta = np.zeros((p_n, p_n, m2, m2))
    g2b = np.zeros((p_n, p_n, m2, m2))
    g2c = np.zeros((p_n, p_n, m2, m2))
    e = np.empty((p_n, p_n))
    a0 = np.empty((p_n, p_n))
    b0 = np.empty((p_n, p_n))
    b2 = np.empty((p_n, p_n))
    for k in range(k_n):
        w0, w1, w2, w3, w4 = mom[k, 0], mom[k, 1], mom[k, 2], mom[k, 3], mom[k, 4]
        for p in range(p_n):
            f_sum[p] += w1 * s[k, p, 0]
            for q in range(p_n):
                ss = s[k, p, 0] * s[k, q, 0]
                tt = s[k, p, 1] * s[k, q, 1] * gram[p, q]
                a_sum[p, q] += w0 * ss + w2 * tt
                a2_sum[p, q] += w0 * ss * ss + 2.0 * w2 * ss * tt + w4 * tt * tt
                s_sum[p, q] += w2 * ss
                s2_sum[p, q] += w4 * ss * ss
        if order < 1:
            continue
        for p in range(p_n):
            for n in range(p_n):
                e[p, n] = s[k, n, 1] * gram[p, n]
                a0[p, n] = s[k, p, 1] * e[p, n]
                b0[p, n] = s[k, p, 1] * s[k, n, 0]
                b2[p, n] = s[k, p, 2] * e[p, n]
        for p in range(p_n):
            for q in range(p_n):
                u0 = w1 * s[k, q, 0]
                xq = s[k, q, 1] * gram[q, p]
                for n in range(mm):
                    g1[p, q, n] += u0 * a0[p, n] + xq * (w1 * b0[p, n] + w3 * b2[p, n])
        if order < 2:
            continue
        for p in range(p_n):
            s2p, s3p = s[k, p, 2], s[k, p, 3]
            for q in range(p_n):
                xpq = gram[p, q]
                r1 = w2 * a0[p, q]
                r2 = w0 * b0[p, q] + w2 * b2[p, q]
                r3 = w2 * b0[p, q] + w4 * b2[p, q]
                xq = s[k, q, 1] * gram[q, p]
                v1 = w2 * s2p * s[k, q, 0] + w4 * s3p * xq
                v2 = w2 * s2p * xq
                for a in range(m2):
                    p1 = w2 * a0[p, a]
                    p2 = xpq * (w0 * b0[p, a] + w2 * b2[p, a])
                    p3 = xpq * (w2 * b0[p, a] + w4 * b2[p, a])
                    xpa = gram[p, a]
                    epa = e[p, a]
                    c1 = epa * v1
                    c2 = v2 * s[k, a, 0]
                    c3 = epa * v2
                    for b in range(m2):
                        ta[p, q, a, b] += p1 * a0[q, b] + p2 * b0[q, b] + p3 * b2[q, b]
                        g2b[p, q, a, b] += r1 * a0[a, b] + xpa * (r2 * b0[a, b] + r3 * b2[a, b])
                        g2c[p, q, a, b] += (c1 + c2) * e[p, b] + c3 * s[k, b, 0]
    return a_sum, a2_sum, s_sum, s2_sum, f_sum, g1, ta, g2b, g2c
