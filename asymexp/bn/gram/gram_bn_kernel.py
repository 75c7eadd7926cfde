"""The infinite-width BN kernel of the Gram chain by a one-dimensional integral, for the positively homogeneous
activations (relu, the identity): the fixed point G* and the Jacobian of the mean-field map at it, by a route
independent of :mod:`asymexp.bn.gram.gram_mean_field` (docs/batchnorm.md, "The Gram chain", "The BN kernel by
one integral").

For r ~ N(0, K) (n,), c = P r (P = I - 11^T/n when the chain centres, else I) and b = sqrt(n) c / |c|, the
mean-field maps of the chain are B(K) = E b b^T and A(K) = E phi(b) phi(b)^T. For phi positively homogeneous of
degree 1, phi(b) = sqrt(n) phi(c) / |c|, and with 1/|c|^2 = (1/2) int_0^inf exp(-t |c|^2 / 2) dt (the Laplace
representation of the mean field theory of batch normalization, Yang et al. 2019) the Gaussian tilt gives

    E[f(c) exp(-t |c|^2 / 2)] = w(t) E_{N(0, S_t)} f,   S_t = C (I + t C)^{-1},   w(t) = det(I + t C)^{-1/2},

C = P K P. So B(K) = (n/2) int w(t) S_t dt and A(K) = (n/2) int w(t) kappa(S_t) dt, kappa the Gaussian kernel of
phi (relu: the arc-cosine kernel E relu(x_i) relu(x_j); the identity: S itself): one integral over t of
closed-form matrices, for any n and any K, not only batch-symmetric ones. The integral is adaptive
(:func:`scipy.integrate.quad_vec`, t = e^x); its error is the integrator's estimate plus the change from a
looser tolerance.
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.activations import get as get_activation
from asymexp.bn.gram.gram_chain import centres, chain_name
from asymexp.errors import AsymexpError

#: Activations the one-integral route covers: positively homogeneous of degree 1 (the chain's names).
HOMOGENEOUS = ("relu", "linear")
_TIGHT, _LOOSE = 1e-13, 1e-9


def _kernel_name(activation) -> str:
    name = get_activation(activation).name
    name = "linear" if name == "identity" else name
    if name not in HOMOGENEOUS:
        raise AsymexpError(f"activation {name!r} is not allowed for the one-integral BN kernel; allowed: "
                           f"{', '.join(HOMOGENEOUS)} (positively homogeneous)")
    return name


def relu_kernel(S: np.ndarray) -> np.ndarray:
    """E relu(x) relu(x)^T for x ~ N(0, S) (n, n): sqrt(S_ii S_jj) (sqrt(1 - c^2) + (pi - theta) c) / (2 pi),
    c = cos theta the correlation (Cho and Saul's arc-cosine kernel); S_ii / 2 on the diagonal."""
    q = np.clip(np.diag(S), 0.0, None)
    s = np.sqrt(np.outer(q, q))
    c = np.clip(np.divide(S, s, out=np.zeros_like(S), where=s > 0), -1.0, 1.0)
    np.fill_diagonal(c, 1.0)
    return s * (np.sqrt(1.0 - c * c) + (math.pi - np.arccos(c)) * c) / (2 * math.pi)


def _projector(n: int, center: bool) -> np.ndarray:
    return np.eye(n) - (1.0 / n if center else 0.0)


def bn_maps(K: np.ndarray, center: bool, activation, tolerance: float = _TIGHT):
    """(A(K), B(K), error) for K (n, n) positive semi-definite (at least one direction left after centring);
    ``error``: the integrator's estimate of the larger of the two Frobenius errors."""
    from scipy.integrate import quad_vec

    kappa = relu_kernel if _kernel_name(activation) == "relu" else (lambda S: S)
    n = K.shape[0]  # pragma: no mutate (K is (n, n): shape[1] is the same)
    P = _projector(n, center)
    C = P @ K @ P
    C = C / (np.trace(C) / n)                                   # A and B are scale-invariant
    lam, V = np.linalg.eigh(C)
    lam = np.clip(lam, 0.0, None)
    if lam.max() <= 0:
        raise AsymexpError("the BN kernel needs a Gram with at least one direction left after centring")

    def integrand(x):
        t = math.exp(x)
        S = (V * (lam / (1 + t * lam))) @ V.T
        w = t * np.prod((1 + t * lam) ** -0.5)               # dt = t dx
        return w * np.concatenate([kappa(S).ravel(), S.ravel()])

    # w(t) decays like t^(-m/2) (m >= 1 directions) for large t and the integrand like t near 0
    values, err = quad_vec(integrand, -60.0, 120.0, epsabs=tolerance, epsrel=tolerance, limit=4000)
    values, err = values * n / 2, err * n / 2
    A, B = values[:n * n].reshape(n, n), values[n * n:].reshape(n, n)
    return (A + A.T) / 2, (B + B.T) / 2, float(err)


def _symmetric(n: int, rho: float) -> np.ndarray:
    return (1 - rho) * np.eye(n) + rho * np.ones((n, n))


def _correlation_map(n: int, center: bool, activation, tolerance: float):
    def f(rho):
        A, _, _ = bn_maps(_symmetric(n, rho), center, activation, tolerance)
        return (A.sum() - np.trace(A)) / (n * (n - 1)) / (np.trace(A) / n)
    return f


def _solve(n: int, center: bool, activation, tolerance: float) -> float:
    """rho* = f(rho*) by Brent's method on f(rho) - rho over the batch-symmetric correlations. With centring
    C = P K P = (1 - rho) P for every batch-symmetric K, so f is constant and rho* = f(0)."""
    from scipy.optimize import brentq

    f = _correlation_map(n, center, activation, tolerance)
    if center:
        return f(0.0)
    lo, hi = -1.0 / (n - 1) + 1e-6, 1.0 - 1e-6
    g_lo, g_hi = f(lo) - lo, f(hi) - hi
    if g_lo * g_hi > 0:
        raise AsymexpError(f"no batch-symmetric fixed point bracketed for n = {n}")
    return brentq(lambda r: f(r) - r, lo, hi, xtol=1e-14, rtol=1e-14)


def _check_chain(chain: str, batch: int) -> str:
    chain = chain_name(chain)
    if chain == "none":
        raise AsymexpError("norm none has no BN fixed point; allowed: row-scale, row-center, pre-bn")
    if batch < 2:
        raise AsymexpError(f"batch {batch} is not allowed; a BN fixed point needs a batch of at least 2")
    return chain


def fixed_point(chain: str, activation, batch: int) -> dict:
    """G* (n, n) of a BN chain by the one integral: {"gram", "diagonal", "off_diagonal", "correlation" (rho* of
    K*), "error" (Frobenius), "method"}; the error is the integrator's estimate plus the change of G* between
    the tight and a loose tolerance."""
    chain = _check_chain(chain, batch)
    center, n = centres(chain), batch
    results = []
    for tol in (_TIGHT, _LOOSE):
        rho = _solve(n, center, activation, tol)
        A, B, err = bn_maps(_symmetric(n, rho), center, activation, tol)
        results.append((rho, A if chain == "pre-bn" else B, err))
    (rho, G, err), (_, G_loose, _) = results
    error = err + float(np.linalg.norm(G - G_loose))
    diag = float(np.trace(G)) / n
    off = float((G.sum() - np.trace(G)) / (n * (n - 1)))
    return {"gram": G, "diagonal": diag, "off_diagonal": off, "correlation": float(rho), "error": error,
            "method": "one-integral BN kernel (Laplace representation, adaptive quadrature)"}


def jacobian(chain: str, activation, batch: int, step: float = 1e-4) -> dict:
    """The linearization of the mean-field map at its fixed point K* = A(K*) (the map K_l -> K_{l+1} = A(K_l);
    deviations of G decay with the same factors): central differences in each symmetric direction E_ij + E_ji,
    at steps h and 2h; the error of each eigenvalue modulus is the change between the two steps plus the
    quadrature error over h times the number of entries of a column (a bound on the spectral norm of the
    Jacobian's error; it bounds the eigenvalues' change when the Jacobian is normal, and the h / 2h change shows
    the rest).

    Returns {"eigenvalues" (moduli, decreasing, the scale direction's 0 left out), "largest", "largest_error",
    "symmetric" (the batch-symmetric mode: f'(rho*) of the correlation map), "symmetric_error"}."""
    chain = _check_chain(chain, batch)
    center, n = centres(chain), batch
    rho = _solve(n, center, activation, _TIGHT)
    A0, _, _ = bn_maps(_symmetric(n, rho), center, activation)
    K_star = A0                                             # the fixed point of A itself (scale included)
    pairs = [(i, j) for i in range(n) for j in range(i, n)]     # the coordinates of a symmetric matrix

    def derivative(h):
        J = np.empty((len(pairs), len(pairs)))
        err = 0.0
        for col, (i, j) in enumerate(pairs):
            E = np.zeros((n, n))
            E[i, j] = E[j, i] = 1.0
            Ap, _, ep = bn_maps(K_star + h * E, center, activation)
            Am, _, em = bn_maps(K_star - h * E, center, activation)
            D = (Ap - Am) / (2 * h)
            J[:, col] = [D[a, b] for a, b in pairs]
            err = max(err, (ep + em) / (2 * h))
        return J, err

    J1, e1 = derivative(step)
    J2, _ = derivative(2 * step)
    moduli = [np.sort(np.abs(np.linalg.eigvals(J)))[::-1] for J in (J1, J2)]
    keep = len(pairs) - 1                                    # the scale direction K* has eigenvalue 0
    eig, eig2 = moduli[0][:keep], moduli[1][:keep]
    f = _correlation_map(n, center, activation, _TIGHT)
    sym = [(f(rho + h) - f(rho - h)) / (2 * h) for h in (step, 2 * step)]
    return {"eigenvalues": [float(v) for v in eig], "largest": float(eig[0]),
            "largest_error": float(abs(eig[0] - eig2[0]) + len(pairs) * e1), "symmetric": float(sym[0]),
            "symmetric_error": float(abs(sym[0] - sym[1]) + 4 * _TIGHT / step), "correlation": float(rho),
            "step": step}
