"""The kernel fluctuation of a finite-width shallow net and the responses of h to it
(docs/theory/7-random-terms.md).

At width N the per-unit tangent kernel K_pa = gf(x_p) . gf(x_a) averages to A + N^{-1/2} kappa, kappa a centred
field with Cov(kappa_pa, kappa_qb) = Cov(K_pa, K_qb) over theta ~ mu_0 and a third cumulant
E[Z_q Z_a kappa_pb] = N^{-1/2} E[f_q f_a (K_pb - A_pb)] with the initial output Z. Everything is computed per
w-node from the c-moments of the node (K = s0p s0a + c^2 s1p s1a X_pa, f = c s0), so the quadrature is exact in c.
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from asymexp.activations import sigma_derivatives
from asymexp.numeric.derivative_tensors import c_moments
from asymexp.numeric.frozen import Eigen


def _node_kernels(activation, w_nodes, x, m):
    s0, s1 = sigma_derivatives(activation, w_nodes @ x.T, 1)
    gram = x @ x.T
    k0 = s0[:, :, None] * s0[:, None, :m]
    k2 = s1[:, :, None] * s1[:, None, :m] * gram[None, :, :m]
    return s0, k0, k2


def kernel_third_moment(activation: str, samples, points: np.ndarray, m: int, chunk: int = 8192) -> np.ndarray:
    """E[f_q f_a (K_pb - A_pb)] over theta ~ mu_0: (P, M, P, M) indexed [q, a, p, b] (E f = 0 assumed)."""
    x = np.asarray(points, dtype=np.float64)
    w_nodes, mom = c_moments(samples)
    p = x.shape[0]
    third = np.zeros((p, m, p, m))
    cov = np.zeros((p, m))
    kern = np.zeros((p, m))
    for lo in range(0, len(w_nodes), chunk):
        s0, k0, k2 = _node_kernels(activation, w_nodes[lo:lo + chunk], x, m)
        mo = mom[lo:lo + chunk]
        ff = s0[:, :, None] * s0[:, None, :m]
        third += np.einsum("k,kqa,kpb->qapb", mo[:, 2], ff, k0) + np.einsum("k,kqa,kpb->qapb", mo[:, 4], ff, k2)
        cov += np.einsum("k,kqa->qa", mo[:, 2], ff)
        kern += np.einsum("k,kpa->pa", mo[:, 0], k0) + np.einsum("k,kpa->pa", mo[:, 2], k2)
    return third - np.einsum("qa,pb->qapb", cov, kern)


def directions(cov: np.ndarray) -> np.ndarray:
    """(n, P, M): sqrt(lambda_k) v_k over the eigenpairs of the (P M) x (P M) covariance (kappa = sum_k xi_k u_k)."""
    p, m = cov.shape[0], cov.shape[1]
    flat = cov.reshape(p * m, p * m)
    lam, vec = np.linalg.eigh(0.5 * (flat + flat.T))
    keep = np.flatnonzero(lam > 1e-14 * max(float(lam.max()), 1e-300))
    return np.stack([np.sqrt(lam[k]) * vec[:, k].reshape(p, m) for k in keep]) if len(keep) else np.zeros((0, p, m))


def responses(A: np.ndarray, U: np.ndarray, y: np.ndarray, alpha: float, times: np.ndarray, rtol: float = 1e-12):
    """First and second responses of h to each kernel perturbation U[k] (P, M), targets y: (r1, r2), each
    (n, T, P). rho1' = G rho1 + (alpha/M) U r_t, rho2' = G rho2 - (alpha/M) U rho1 on the training points."""
    m, p, n = y.shape[0], A.shape[0], U.shape[0]
    grid = np.sort(np.unique(times))
    if n == 0 or grid[-1] == 0.0:
        return np.zeros((n, len(times), p)), np.zeros((n, len(times), p))
    eig = Eigen.of(A, m)
    a_pm = alpha * A[:, :m] / m

    def rhs(t, z):
        r = eig.apply(eig.decay(alpha, t), y)
        r1, r2 = z[:n * p].reshape(n, p), z[n * p:].reshape(n, p)
        d1 = -r1[:, :m] @ a_pm.T + (alpha / m) * U @ r
        d2 = -r2[:, :m] @ a_pm.T - (alpha / m) * np.einsum("npa,na->np", U, r1[:, :m])
        return np.concatenate([d1.ravel(), d2.ravel()])

    sol = solve_ivp(rhs, (0.0, float(grid[-1])), np.zeros(2 * n * p), method="DOP853", t_eval=grid, rtol=rtol,
                    atol=rtol * 1e-2)
    if not sol.success:
        raise FloatingPointError(f"the kernel-response integration failed: {sol.message}")
    pick = np.searchsorted(grid, times)
    r1 = sol.y[:n * p].reshape(n, p, -1)[..., pick]
    r2 = sol.y[n * p:].reshape(n, p, -1)[..., pick]
    return np.transpose(r1, (0, 2, 1)), np.transpose(r2, (0, 2, 1))


def kernel_covariance(activation: str, samples: SampleSet, points: np.ndarray, m: int,
                      chunk: int = 8192) -> np.ndarray:
    """Cov(K_pa, K_qb) over theta ~ mu_0 of the per-unit kernel K_pa = gf(x_p) . gf(x_a), a, b training points:
    (P, M, P, M). With K = s0p s0a + c^2 s1p s1a X_pa, the c-moments of each w-node give it exactly."""
    x = np.asarray(points, dtype=np.float64)
    w_nodes, mom = c_moments(samples)
    p = x.shape[0]
    second = np.zeros((p, m, p, m))
    first = np.zeros((p, m))
    for lo in range(0, len(w_nodes), chunk):
        _, k0, k2 = _node_kernels(activation, w_nodes[lo:lo + chunk], x, m)
        mo = mom[lo:lo + chunk]
        first += np.einsum("k,kpa->pa", mo[:, 0], k0) + np.einsum("k,kpa->pa", mo[:, 2], k2)
        second += (np.einsum("k,kpa,kqb->paqb", mo[:, 0], k0, k0)
                   + np.einsum("k,kpa,kqb->paqb", mo[:, 2], k0, k2) + np.einsum("k,kpa,kqb->paqb", mo[:, 2], k2, k0)
                   + np.einsum("k,kpa,kqb->paqb", mo[:, 4], k2, k2))
    return second - np.einsum("pa,qb->paqb", first, first)

