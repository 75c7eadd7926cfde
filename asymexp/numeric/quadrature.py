"""Weighted samples of theta = (c, w) ~ mu_0: deterministic quadrature rules or seeded Monte Carlo.

Every expectation of the numeric theory layer is a weighted sum ``sum_k weight[k] F(c[k], w[k])`` over a
:class:`SampleSet`. Two ways to build one:

- :func:`quadrature_samples`: a tensor-product Gauss rule. The c-rule has 3 nodes (Gauss-Legendre for a uniform
  law, Gauss-Hermite for a normal one), exact for polynomials in c of degree <= 5; every integrand of the
  hierarchy up to Q_{2,0} is a polynomial of degree <= 4 in c, so the c-part is exact. For w ~ N(mu 1, s^2 I)
  the integrand depends on w only through the projections w . x_p onto the span of the evaluation points, so the
  rule lives in that span (dimension r <= min(P, d)): an r-dimensional Gauss-Hermite product. For a uniform law
  of w (not rotation invariant) the rule is a d-dimensional Gauss-Legendre product.
- :func:`monte_carlo_samples`: i.i.d. draws of (c, w) with weights 1/n (seeded NumPy ``Generator``).

For a normal law of w the theory layer's default is the projected trapezoid rule of
:mod:`asymexp.numeric.trapezoid_rule` (geometric convergence; docs/theory-layer.md); the Gauss-Hermite product
here serves ``quad_order`` / ``--nodes`` and the references.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asymexp.errors import SpecError
from asymexp.spec import Law

#: Upper bound on the number of w-nodes of one product rule (beyond it, quadrature gives way to Monte Carlo).
NODE_BUDGET = 40_000
#: Most nodes per dimension of a product rule.
MAX_NODES_PER_DIM = 48
#: Node budget and cap of the (cheap, order-0) rule for the kernel A and covariance S alone.
KERNEL_NODE_BUDGET = 300_000
KERNEL_MAX_NODES_PER_DIM = 96


@dataclass(frozen=True)
class SampleSet:
    """Weighted samples of theta = (c, w).

    Attributes:
        c: (K,) output weights; w: (K, d) input weights; weight: (K,) non-negative, summing to 1.
        kind: ``"quadrature"`` or ``"monte-carlo"``; order: nodes per w-dimension (quadrature) or 0.
        c_nodes: > 1 when the set is a product rule, c-major: sample k = i * K_w + j pairs c-node i with w-node j
            (K_w = K / c_nodes), so the w-part can be evaluated once per w-node.
    """

    c: np.ndarray
    w: np.ndarray
    weight: np.ndarray
    kind: str
    order: int = 0
    c_nodes: int = 1

    def __len__(self) -> int:
        return self.c.shape[0]

    def chunks(self, size: int = 2048):
        """Yield sub-``SampleSet``s of at most ``size`` samples (to bound the memory of derivative tensors)."""
        for lo in range(0, len(self), size):
            sl = slice(lo, lo + size)
            yield SampleSet(self.c[sl], self.w[sl], self.weight[sl], self.kind, self.order)


def _law_rule(law: Law, n: int) -> tuple[np.ndarray, np.ndarray]:
    """An n-node Gauss rule (nodes, weights summing to 1) for a scalar law: Hermite (normal), Legendre (uniform)."""
    if law.kind == "normal":
        z, wt = np.polynomial.hermite_e.hermegauss(n)
        return float(law.a) + float(law.b) * z, wt / wt.sum()
    if law.kind == "uniform":
        z, wt = np.polynomial.legendre.leggauss(n)
        a, b = float(law.a), float(law.b)
        return a + (b - a) * (z + 1.0) / 2.0, wt / wt.sum()
    raise SpecError(f"law {law} has no quadrature rule; allowed: normal(m,s), uniform(a,b)")


def c_rule(c_law: Law, n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The Gauss rule for c: exact for E[c^k], k <= 2n - 1 (n = 3: k <= 5)."""
    return _law_rule(c_law, n)


def _product(nodes_1d: np.ndarray, weights_1d: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    grids = np.meshgrid(*([nodes_1d] * dim), indexing="ij")
    wgrids = np.meshgrid(*([weights_1d] * dim), indexing="ij")
    nodes = np.stack([g.ravel() for g in grids], axis=1)
    weights = np.prod(np.stack([g.ravel() for g in wgrids], axis=1), axis=1)
    return nodes, weights


def span_basis(points: np.ndarray, rtol: float = 1e-12) -> np.ndarray:
    """(d, r) orthonormal basis of the span of the rows of ``points`` (P, d)."""
    _, sing, vt = np.linalg.svd(np.asarray(points, dtype=np.float64), full_matrices=False)
    rank = int(np.sum(sing > rtol * max(sing[0], 1e-300))) if sing.size else 0
    return vt[:rank].T


def quadrature_dimension(w_law: Law, points: np.ndarray) -> int:
    """Dimension of the w-integral: the rank of the points for a normal law, d for a uniform one."""
    if w_law.kind == "normal":
        return 0 if w_law.b == 0 else span_basis(points).shape[1]
    return points.shape[1]


def default_order(w_law: Law, points: np.ndarray, budget: int = NODE_BUDGET,
                  cap: int = MAX_NODES_PER_DIM) -> int | None:
    """The largest nodes-per-dimension within ``budget`` (at most ``cap``), or None when below 8 (use Monte Carlo)."""
    r = quadrature_dimension(w_law, points)
    if r == 0:
        return 1
    n = min(cap, int(math.floor(budget ** (1.0 / r) + 1e-9)))
    return n if n >= 8 else None


def quadrature_samples(c_law: Law, w_law: Law, points: np.ndarray, order: int, c_nodes: int = 3) -> SampleSet:
    """Tensor-product Gauss rule for (c, w) adapted to ``points`` (P, d); ``order`` nodes per w-dimension.

    The returned w nodes are full d-vectors; for a normal law they lie in the span of the points (plus the
    projection of the mean onto it), which leaves every w . x_p exact in law.
    """
    points = np.asarray(points, dtype=np.float64)
    d = points.shape[1]
    cn, cw = c_rule(c_law, c_nodes)
    if w_law.kind == "normal":
        mu, s = float(w_law.a), float(w_law.b)
        basis = span_basis(points)
        r = basis.shape[1]
        mean_z = basis.T @ np.full(d, mu)
        if s == 0 or r == 0:
            wn, ww = np.full((1, d), mu), np.ones(1)
        else:
            z1, w1 = _law_rule(Law("normal", 0, 1), order)
            z, ww = _product(z1, w1, r)
            wn = (mean_z + s * z) @ basis.T
    elif w_law.kind == "uniform":
        z1, w1 = _law_rule(w_law, order)
        wn, ww = _product(z1, w1, d)
    else:
        raise SpecError(f"w law {w_law} has no quadrature rule; allowed: normal(m,s), uniform(a,b)")
    c = np.repeat(cn, len(ww))
    w = np.tile(wn, (len(cn), 1))
    weight = np.outer(cw, ww).ravel()
    return SampleSet(c, w, weight / weight.sum(), "quadrature", order, len(cn))


def monte_carlo_samples(c_law: Law, w_law: Law, dim: int, n_samples: int, seed: int = 0) -> SampleSet:
    """``n_samples`` i.i.d. draws of (c, w), w with ``dim`` i.i.d. coordinates; weights 1/n. Seeded, reproducible."""
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
        raise SpecError(f"n_samples = {n_samples!r}; an integer >= 2 is required for Monte Carlo")
    rng = np.random.default_rng(seed)
    c = c_law.sample(rng, (n_samples,))
    w = w_law.sample(rng, (n_samples, dim))
    return SampleSet(c, w, np.full(n_samples, 1.0 / n_samples), "monte-carlo", 0)
