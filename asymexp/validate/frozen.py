"""Frozen-kernel quantities of the shallow network by 2-D Gauss-Hermite quadrature (THEORY.md section 3).

For f(theta, x) = c sigma(w . x), w ~ N(0, s^2 I), c with E[c^2] = m2:

    S(x, x') = m2 E[sigma(u) sigma(v)]                        (covariance of one unit's output)
    A(x, x') = E[sigma(u) sigma(v)] + m2 E[sigma'(u) sigma'(v)] x.x'   (frozen tangent kernel)

with (u, v) = (w.x, w.x') jointly Gaussian. The fluctuation Q_{0,1} obeys dQ/dt = G Q, G[x, m] = -alpha A(x, x_m) / M
on the training columns, so Q_t = L_t Q_0 with L_t = expm(t G) on all P points (training points then probes);
h_t = int_0^t e^{sG} b ds, b_x = alpha mean_m A(x, x_m) y_m; V_t = diag(L_t S L_t^T).
These serve the control variate (L_t g_0 is mean-zero with E[(L_t g_0)^2] = N^{1-2gamma} V_t exactly at every N) and
stand in for :mod:`asymexp.theory` where that is unavailable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.errors import AsymexpError


@dataclass(frozen=True)
class FrozenKernel:
    """A (P, P), S (P, P), generator G (P, P), drift b (P,), error: |difference between n and 2n nodes|."""

    A: np.ndarray
    S: np.ndarray
    G: np.ndarray
    b: np.ndarray
    error: float

    def propagator(self, t: float) -> np.ndarray:
        """L_t = expm(t G), (P, P)."""
        from scipy.linalg import expm

        return expm(float(t) * self.G)

    def h(self, t: float) -> np.ndarray:
        """h_t (P,) from the augmented exponential."""
        from scipy.linalg import expm

        P = self.G.shape[0]
        aug = np.zeros((P + 1, P + 1))
        aug[:P, :P] = self.G
        aug[:P, P] = self.b
        return expm(float(t) * aug)[:P, P]

    def kernel_response(self, t: float, y: np.ndarray, alpha: float, nodes: int = 48) -> np.ndarray:
        """Phi (P, P, M): the linear response of h_t to a kernel perturbation dA (P, M) is
        sum_{j,m} Phi[:, j, m] dA[j, m], from dk/dt = G k + (alpha / M) dA (y - h_t) (Gauss-Legendre in s)."""
        from scipy.linalg import expm

        M = y.shape[0]
        G_dd = self.G[:M, :M]
        s, w = np.polynomial.legendre.leggauss(nodes)
        s, w = 0.5 * t * (s + 1.0), 0.5 * t * w
        phi = np.zeros((self.G.shape[0], self.G.shape[0], M))
        for sq, wq in zip(s, w):
            r = expm(sq * G_dd) @ y
            phi += wq * expm((t - sq) * self.G)[:, :, None] * r[None, None, :]
        return phi * (alpha / M)

    def V(self, t: float) -> np.ndarray:
        """V_t = diag(L_t S L_t^T), (P,)."""
        L = self.propagator(t)
        return np.einsum("ij,jk,ik->i", L, self.S, L)


def _acts(activation: str):
    if activation == "tanh":
        return np.tanh, lambda z: 1.0 - np.tanh(z) ** 2
    sig = lambda z: 0.5 * (1.0 + np.tanh(0.5 * z))  # noqa: E731  (overflow-free logistic)
    return sig, lambda z: sig(z) * (1.0 - sig(z))


def _pair_expectations(points, std, activation, n):
    """E[sigma(u) sigma(v)], E[sigma'(u) sigma'(v)] for all point pairs with n x n Gauss-Hermite nodes."""
    z, wts = np.polynomial.hermite_e.hermegauss(n)
    wts = wts / np.sqrt(2 * np.pi)
    Z1, Z2 = np.meshgrid(z, z, indexing="ij")
    W = np.outer(wts, wts)
    s, ds = _acts(activation)
    P = points.shape[0]
    E0, E1 = np.empty((P, P)), np.empty((P, P))
    gram = std ** 2 * points @ points.T
    for i in range(P):
        for j in range(i, P):
            cov = np.array([[gram[i, i], gram[i, j]], [gram[i, j], gram[j, j]]])
            vals, vecs = np.linalg.eigh(cov)
            root = vecs * np.sqrt(np.clip(vals, 0.0, None))
            u = root[0, 0] * Z1 + root[0, 1] * Z2
            v = root[1, 0] * Z1 + root[1, 1] * Z2
            E0[i, j] = E0[j, i] = np.sum(W * s(u) * s(v))
            E1[i, j] = E1[j, i] = np.sum(W * ds(u) * ds(v))
    return E0, E1


def frozen_kernel(problem, nodes: int = 120) -> FrozenKernel:
    """The frozen kernel of a shallow :class:`~asymexp.theory.problem.Problem` (w law normal(0, s))."""
    if problem.w_law.kind != "normal" or problem.w_law.a != 0:
        raise AsymexpError(f"w law {problem.w_law} is not supported by the quadrature here; allowed: normal(0,s)")
    pts = problem.points
    std = float(problem.w_law.b)
    m2 = float(problem.c_law.moment(2))
    E0, E1 = _pair_expectations(pts, std, problem.activation, nodes)
    E0b, E1b = _pair_expectations(pts, std, problem.activation, 2 * nodes)
    err = float(max(np.abs(E0 - E0b).max(), np.abs(E1 - E1b).max()))
    A = E0b + m2 * E1b * (pts @ pts.T)
    S = m2 * E0b
    M = problem.n_train
    G = np.zeros_like(A)
    G[:, :M] = -problem.alpha * A[:, :M] / M
    b = problem.alpha * A[:, :M] @ problem.y / M
    return FrozenKernel(A, S, G, b, err)
