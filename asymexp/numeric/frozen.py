"""The frozen kernel and its propagator: one home for the linearized dynamics (docs/theory/3-shallow-expansion.md).

For f(theta, x) = c sigma(w . x), w ~ N(0, s^2 I), c with E[c^2] = m2:

    S(x, x') = m2 E[sigma(u) sigma(v)]                        (covariance of one unit's output)
    A(x, x') = E[sigma(u) sigma(v)] + m2 E[sigma'(u) sigma'(v)] x.x'   (frozen tangent kernel)

with (u, v) = (w.x, w.x') jointly Gaussian. The fluctuation Q_{0,1} obeys dQ/dt = G Q, G[x, m] = -alpha A(x, x_m) / M
on the training columns, so Q_t = L_t Q_0 with L_t = expm(t G) on all P points (training points then probes),
computed here in the eigenbasis of K = A[:M, :M] / M (:func:`propagator`, the one definition every stage uses);
h_t = int_0^t e^{sG} b ds, b_x = alpha mean_m A(x, x_m) y_m (:func:`leading_term`); V_t = diag(L_t S L_t^T).
:func:`frozen_kernel` computes A and S of a shallow problem; the deep limit kernel is
:func:`asymexp.numeric.deep_theory.deep_frozen_kernel`. They serve the theory layer and the control variate of the
validation (L_t g_0 is mean-zero with E[(L_t g_0)^2] = N^{1-2gamma} V_t exactly at every N).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.errors import AsymexpError


@dataclass(frozen=True)
class Eigen:
    """K = A[:M,:M]/M = U diag(lam) U^T (lam clipped at 0: A is positive semi-definite)."""

    lam: np.ndarray
    U: np.ndarray

    @classmethod
    def of(cls, A: np.ndarray, m: int) -> "Eigen":
        k = 0.5 * (A[:m, :m] + A[:m, :m].T) / m
        lam, u = np.linalg.eigh(k)
        return cls(np.maximum(lam, 0.0), u)

    def decay(self, alpha: float, t: float) -> np.ndarray:
        """exp(-alpha t lam)."""
        return np.exp(-alpha * t * self.lam)

    def integral(self, alpha: float, t: float) -> np.ndarray:
        """int_0^t exp(-alpha s lam) ds (= t where lam = 0)."""
        x = alpha * t * self.lam
        safe = np.where(x > 1e-300, self.lam, 1.0)
        return np.where(x > 1e-12, -np.expm1(-x) / (alpha * safe), t * (1.0 - 0.5 * np.minimum(x, 1e-12)))

    def apply(self, diag: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.U @ (diag * (self.U.T @ v))

    def matrix(self, diag: np.ndarray) -> np.ndarray:
        return (self.U * diag) @ self.U.T


def propagator(A: np.ndarray, m: int, alpha: float, t: float) -> np.ndarray:
    """Phi_t (P, P): Q_t = Phi_t Q_0 for the homogeneous equation."""
    eig = Eigen.of(A, m)
    phi = np.eye(A.shape[0])
    phi[:, :m] -= A[:, :m] @ eig.matrix(alpha * eig.integral(alpha, t)) / m
    return phi


def leading_term(A: np.ndarray, y: np.ndarray, alpha: float, times: np.ndarray) -> np.ndarray:
    """h_t at every point: (T, P)."""
    m = y.shape[0]
    eig = Eigen.of(A, m)
    out = np.empty((len(times), A.shape[0]))
    for i, t in enumerate(times):
        out[i] = A[:, :m] @ eig.apply(alpha * eig.integral(alpha, t), y) / m
    return out


@dataclass(frozen=True)
class FrozenKernel:
    """The frozen kernel of a problem and what the linearized dynamics make of it.

    A (P, P) tangent kernel and S (P, P) one unit's output covariance on all P points (training points first);
    y (M,) training targets; alpha the base rate; error: |difference between n and 2n quadrature nodes|.
    """

    A: np.ndarray
    S: np.ndarray
    y: np.ndarray
    alpha: float
    error: float

    @property
    def m(self) -> int:
        return self.y.shape[0]

    def propagator(self, t: float) -> np.ndarray:
        """L_t (P, P): Q_t = L_t Q_0 (:func:`propagator`)."""
        return propagator(self.A, self.m, self.alpha, float(t))

    def h(self, t: float) -> np.ndarray:
        """h_t (P,) (:func:`leading_term`)."""
        return leading_term(self.A, self.y, self.alpha, np.array([float(t)]))[0]

    def kernel_response(self, t: float, y: np.ndarray, alpha: float, nodes: int = 48) -> np.ndarray:
        """Phi (P, P, M): the linear response of h_t to a kernel perturbation dA (P, M) is
        sum_{j,m} Phi[:, j, m] dA[j, m], from dk/dt = G k + (alpha / M) dA (y - h_s): Phi = (alpha / M)
        int_0^t L_{t-s}[:, j] r_s[m] ds with the residual r_s = y - h_s on the training points (Gauss-Legendre)."""
        M = y.shape[0]
        eig = Eigen.of(self.A, M)
        s, w = np.polynomial.legendre.leggauss(nodes)
        s, w = 0.5 * t * (s + 1.0), 0.5 * t * w
        phi = np.zeros((self.A.shape[0], self.A.shape[0], M))
        for sq, wq in zip(s, w):
            r = eig.apply(eig.decay(alpha, sq), y)
            phi += wq * propagator(self.A, M, alpha, t - sq)[:, :, None] * r[None, None, :]
        return phi * (alpha / M)

    def V(self, t: float) -> np.ndarray:
        """V_t = diag(L_t S L_t^T), (P,)."""
        L = self.propagator(t)
        return np.einsum("ij,jk,ik->i", L, self.S, L)
