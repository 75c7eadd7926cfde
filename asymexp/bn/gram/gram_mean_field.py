"""The mean-field (infinite-width) Gram of each chain of :mod:`asymexp.bn.gram.gram_chain`: the map Phi, its fixed
point G* with an error, the linear chain's closed-form gaps, and the reference trajectory without BN
(docs/batchnorm.md, "The Gram chain").

With BN, the rows of W_l phi(H_l) are i.i.d. N(0, K_l) given the layer, so at infinite width
K_{l+1} = A(K_l) = E phi(b(r)) phi(b(r))^T and the BN output's Gram is B(K_l) = E b(r) b(r)^T, r ~ N(0, K_l),
b(r) = sqrt(n) (r - c mean(r) 1) / |r - c mean(r) 1| (c = 1 when the chain centres). b is scale-invariant, and
the fixed point is batch-symmetric (Phi commutes with permutations of the batch), so the state is one number,
the correlation rho of K = (1 - rho) I + rho 11^T; G* = B(K*) for row-scale and row-center, G* = A(K*) for pre-bn
(there the tracked representation is phi(b)). The fixed point is found by iterating rho -> rho(A(K)):

- exact where it is known: the linear row-scale chain (G* = I) and every row-center chain, G* = n/(n-1) (I - 11^T/n)
  (the centred r is isotropic in the plane orthogonal to 1 for every batch-symmetric K);
- quadrature for n = 2: b = sqrt(2) (cos t, sin t) has the angular density sqrt(1 - rho^2) / (2 pi (1 - rho sin 2t));
  Gauss-Legendre on each quadrant (every kink of relu(b) lies on a quadrant boundary), error |rule(m) - rule(m/2)|
  (centred, b = +-(1, -1) exactly);
- Monte Carlo otherwise: common random numbers Z (M, n), so the estimated map is smooth and its iteration
  converges; the entries are averaged over the batch symmetry; the error is the batch-means standard error over
  10 groups of M/10 draws (each group iterated to its own fixed point), as a Frobenius norm.

Without BN (critical init) there is no attractor: the reference is the mean-field trajectory from G_0,
G_{l+1} = s_w^2 E phi(u) phi(u)^T, u ~ N(0, G_l), entry by entry through the Gaussian kernels of
:mod:`asymexp.activations.gaussian` (closed forms for relu and the identity, quadrature with an error otherwise).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asymexp.activations import get as get_activation
from asymexp.activations.gaussian import pair_kernel
from asymexp.bn.gram.gram_chain import (centres, chain_name, input_gram, psd_sqrt, row_normalize,
                                        weight_variance)

GROUPS = 10
_MAX_ITER = 1000
_TOL = 1e-12


@dataclass(frozen=True)
class FixedPoint:
    """G* (n, n) with ``error`` (Frobenius norm of its standard error, or of a quadrature error bound; 0 when
    exact), the correlation rho* of K*, and how it was computed (``method``)."""

    gram: np.ndarray
    error: float
    correlation: float
    method: str


def symmetric(n: int, diagonal: float, off: float) -> np.ndarray:
    return (diagonal - off) * np.eye(n) + off * np.ones((n, n))


def _diag_off(M: np.ndarray) -> tuple[float, float]:
    n = M.shape[-1]
    diag = float(np.trace(M)) / n
    off = (float(M.sum()) - n * diag) / (n * (n - 1)) if n > 1 else 0.0
    return diag, off


def _monte_carlo_moments(Z, rho, center, phi):
    """Batch-symmetrized (A, B) of the module docstring from the draws Z (M, n): two (diag, off) pairs."""
    n = Z.shape[1]
    b = row_normalize(Z @ psd_sqrt(symmetric(n, 1.0, rho)), center)
    f = phi(b)
    A = np.einsum("mi,mj->ij", f, f) / Z.shape[0]
    B = np.einsum("mi,mj->ij", b, b) / Z.shape[0]
    return _diag_off(A), _diag_off(B)


def _angular_moments(m, rho, phi):
    """(A, B) for n = 2 without centring by Gauss-Legendre with m nodes on each quadrant."""
    x, w = np.polynomial.legendre.leggauss(m)
    t = np.concatenate([(q + (x + 1) / 2) * math.pi / 2 for q in range(4)])
    wt = np.tile(w, 4) * math.pi / 4
    dens = math.sqrt(1 - rho * rho) / (2 * math.pi * (1 - rho * np.sin(2 * t)))
    b = math.sqrt(2) * np.stack([np.cos(t), np.sin(t)], axis=1)
    f = phi(b)
    A = np.einsum("k,ki,kj->ij", wt * dens, f, f)
    B = np.einsum("k,ki,kj->ij", wt * dens, b, b)
    return _diag_off(A), _diag_off(B)


def _iterate(moments, rho: float = 0.0):
    """Solve rho = f(rho), f(rho) = rho(A(K)), from ``rho`` by Steffensen's method (Aitken's extrapolation of two
    fixed-point steps; plain steps where the extrapolation is ill-conditioned); returns (rho*, A, B) there."""
    def f(r):
        (diagonal, off), _ = moments(r)
        return off / diagonal

    for _ in range(_MAX_ITER):
        r1 = f(rho)
        r2 = f(r1)
        denominator = r2 - 2 * r1 + rho
        new = rho - (r1 - rho) ** 2 / denominator if abs(denominator) > 1e-14 else r2
        if not -1 < new < 1:
            new = r2
        if abs(new - rho) < _TOL:
            rho = new
            break
        rho = new
    A, B = moments(rho)
    return rho, A, B


def fixed_point(chain: str, activation, batch: int, samples: int = 200_000, seed: int = 0) -> FixedPoint:
    """G* of a BN chain (``row-scale``, ``row-center``, ``pre-bn``) for a batch of n = ``batch``; see the module
    docstring."""
    act = get_activation(activation)
    chain = chain_name(chain)
    n, center = batch, centres(chain)
    tracked = 0 if chain == "pre-bn" else 1   # which of (A, B) is the tracked Gram
    if chain == "row-center" or act.name == "identity":
        G = n / (n - 1) * (np.eye(n) - 1 / n) if center else np.eye(n)
        return FixedPoint(G, 0.0, 0.0, "exact")
    if n == 2 and center:
        f1, f2 = act.value(np.array([1.0, -1.0])), act.value(np.array([-1.0, 1.0]))
        A = 0.5 * (np.outer(f1, f1) + np.outer(f2, f2))
        G = A if tracked == 0 else np.array([[1.0, -1.0], [-1.0, 1.0]])
        return FixedPoint(G, 0.0, A[0, 1] / A[0, 0], "exact (n = 2: b = +-(1, -1))")
    if n == 2:
        fine, coarse = (_iterate(lambda r, m=m: _angular_moments(m, r, act.value)) for m in (64, 32))
        G, Gc = (symmetric(2, *res[1 + tracked]) for res in (fine, coarse))
        return FixedPoint(G, float(np.linalg.norm(G - Gc)), fine[0], "quadrature (Gauss-Legendre, 4 x 64 nodes)")
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, 1]))
    Z = rng.standard_normal((samples, n))
    rho, A, B = _iterate(lambda r: _monte_carlo_moments(Z, r, center, act.value))
    G = symmetric(n, *(A, B)[tracked])
    parts = []
    for g in np.array_split(Z, GROUPS):
        res = _iterate(lambda r, g=g: _monte_carlo_moments(g, r, center, act.value), rho)
        parts.append(res[1 + tracked])
    parts = np.array(parts)
    se_diag, se_off = parts.std(axis=0, ddof=1) / math.sqrt(GROUPS)
    error = math.sqrt(n * se_diag ** 2 + n * (n - 1) * se_off ** 2)
    return FixedPoint(G, error, rho, f"monte-carlo ({samples} draws, batch-means SE over {GROUPS} groups)")


def mean_field_trajectory(activation, batch: int, depth: int) -> tuple[np.ndarray, float]:
    """The chain without BN at infinite width from G_0 = :func:`input_gram`: (G_0..G_depth (depth + 1, n, n),
    error bound), the bound the sum of the per-layer kernel errors (the map is non-expanding at criticality)."""
    act = get_activation(activation)
    s_w2 = weight_variance("none", act)
    diag, off = _diag_off(input_gram(batch))
    out = np.empty((depth + 1, batch, batch))
    out[0] = symmetric(batch, diag, off)
    error = 0.0
    for layer in range(1, depth + 1):
        if act.name == "identity":
            out[layer] = out[0]
            continue
        d_new, e1 = pair_kernel(act, diag, diag, diag)
        o_new, e2 = pair_kernel(act, diag, diag, off)
        diag, off = s_w2 * d_new, s_w2 * o_new
        error += s_w2 * math.sqrt(batch * e1 ** 2 + batch * (batch - 1) * e2 ** 2)
        out[layer] = symmetric(batch, diag, off)
    return out, error


def predicted_gap_rms(chain: str, activation, batch: int, width: int) -> float | None:
    """The linear chain's stationary RMS gap (closed form, leading order in 1/d); None where none is known.

    row-scale: (n - 1)(n + 2)^2 / (4 n (n + 1) d); row-center and linear pre-bn: (n - 2)(n + 1)^2 / (4 n (n - 1) d)."""
    chain = chain_name(chain)
    if get_activation(activation).name != "identity" or chain == "none":
        return None
    n, d = batch, width
    if chain == "row-scale":
        return math.sqrt((n - 1) * (n + 2) ** 2 / (4 * n * (n + 1) * d))
    return math.sqrt((n - 2) * (n + 1) ** 2 / (4 * n * (n - 1) * d))


def contraction(chain: str, activation, batch: int) -> float | None:
    """The linear chain's contraction of deviations from G* per layer: n/(n+2) (row-scale), (n-1)/(n+1)
    (centred)."""
    chain = chain_name(chain)
    if get_activation(activation).name != "identity" or chain == "none":
        return None
    n = batch
    return n / (n + 2) if chain == "row-scale" else (n - 1) / (n + 1)
