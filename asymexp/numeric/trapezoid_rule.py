"""The projected trapezoid rule: geometric convergence for Gaussian w (docs/theory-layer.md, "The projected
trapezoid rule").

For w ~ N(mu 1, s^2 I_d) every integrand of the theory layer depends on w only through u_p = w . x_p, p < P. With
an orthonormal frame F (d, r) of the span of the points, u_p = mu sum(x_p) + l_p . z, z ~ N(0, I_r), loadings
l_p = s F^T x_p (r,). For a fixed real z_j (j != i) the integrand is analytic in z_i where
abs(Im z_i) < tau_i = strip / max_p abs(l_pi) (strip: the activation's distance to its poles,
:mod:`asymexp.activations.analyticity`), so the trapezoid rule of step h_i = 2 pi / k_i in z_i has an error of
order max_{y < tau_i} exp(-k_i y + y^2 / 2) (the Fourier transform of the integrand, Gaussian weight included, at
frequency k_i; the weight grows like e^{y^2/2} off the real axis). Each step is chosen to make this exponent
kappa (:func:`trapezoid_steps`), so the error is of order exp(-kappa) in each direction; the nodes are cut to the
ball |z| <= radius, whose Gaussian tail mass is below TAIL.

The frame is rotated to make the product of the max_p abs(l_pi) (the node count) small: among the identity and a
fixed, seeded set of random rotations, the best one (deterministic for given points).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from asymexp.errors import SpecError
from asymexp.spec import Law
from asymexp.activations.analyticity import strip_half_width
from asymexp.numeric.quadrature import SampleSet, c_rule, span_basis

#: Gaussian mass outside the ball of nodes (below the rounding of a sum of 1e6 terms).
TAIL = 1e-16
#: Random rotations tried for the frame (seeded: the rule is a deterministic function of the points).
ROTATIONS = 256


def tail_radius(dim: int, tail: float = TAIL) -> float:
    """The radius L with P(|z| > L) <= ``tail`` for z ~ N(0, I_dim) (chi distribution)."""
    from scipy.special import gammainccinv

    return math.sqrt(2.0 * float(gammainccinv(dim / 2.0, tail)))     # P(|z|^2 / 2 > L^2 / 2) = Q(dim/2, L^2/2)


def _rotation(loadings: np.ndarray) -> np.ndarray:
    """(r, r) orthogonal R minimising prod_i max_p |(loadings R)_pi| over the identity and ROTATIONS draws."""
    r = loadings.shape[1]
    best, best_cost = np.eye(r), np.sum(np.log(np.max(np.abs(loadings), axis=0)))
    rng = np.random.default_rng(20240611)
    for _ in range(ROTATIONS if r > 1 else 0):
        q, tri = np.linalg.qr(rng.standard_normal((r, r)))
        q = q * np.sign(np.diag(tri))
        cost = np.sum(np.log(np.max(np.abs(loadings @ q), axis=0)))
        if cost < best_cost - 1e-12:
            best, best_cost = q, cost
    return best


def projected_frame(w_law: Law, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frame F (d, r), loadings (P, r)) for w ~ normal(mu, s): u_p = mu sum(x_p) + loadings[p] . z."""
    if w_law.kind != "normal":
        raise SpecError(f"w ~ {w_law}: the projected trapezoid rule needs a normal law of w; allowed: normal(m,s)")
    pts = np.ascontiguousarray(points, dtype=np.float64)
    return _frame(pts.tobytes(), pts.shape, float(w_law.b))


@functools.lru_cache(maxsize=64)
def _frame(raw: bytes, shape: tuple, scale: float):
    pts = np.frombuffer(raw, dtype=np.float64).reshape(shape)
    basis = span_basis(pts)
    if basis.shape[1] == 0 or scale == 0:
        return basis[:, :0], np.zeros((shape[0], 0))
    load = scale * (pts @ basis)
    rot = _rotation(load)
    return basis @ rot, load @ rot


def trapezoid_steps(activation: str, loadings: np.ndarray, kappa: float) -> np.ndarray:
    """(r,) steps h_i = 2 pi / k_i with k_i tau_i - tau_i^2 / 2 = kappa (k_i = kappa / tau_i + tau_i / 2), or
    k_i = sqrt(2 kappa) when tau_i >= sqrt(2 kappa) (then the Gaussian factor, not the poles, limits the rule);
    tau_i = strip / max_p |loadings[p, i]|."""
    width = np.maximum(np.max(np.abs(loadings), axis=0), 1e-300)
    tau = strip_half_width(activation) / width
    root = math.sqrt(2.0 * kappa)
    k = np.where(tau >= root, root, kappa / np.minimum(tau, root) + 0.5 * np.minimum(tau, root))
    return 2.0 * math.pi / k


def w_node_count(activation: str, w_law: Law, points: np.ndarray, kappa: float) -> int:
    """An estimate of the number of w-nodes of :func:`trapezoid_samples` (the ball's volume over the cell's, at
    least 1), for node budgets, without building the grid."""
    frame, steps = _setup(activation, w_law, points, kappa)
    r = len(steps)
    if r == 0:
        return 1
    volume = math.pi ** (r / 2) / math.gamma(r / 2 + 1) * tail_radius(r) ** r
    return max(1, int(round(volume / float(np.prod(steps)))))


def _setup(activation, w_law, points, kappa):
    if not kappa > 0:
        raise SpecError(f"kappa = {kappa!r}; a number > 0 is required")
    frame, load = projected_frame(w_law, points)
    steps = trapezoid_steps(activation, load, kappa) if load.shape[1] else np.zeros(0)
    return frame, steps


def _ball_grid(steps: np.ndarray, radius: float) -> np.ndarray:
    """The nodes (K, r) of the grid prod_i h_i Z inside the ball |z| <= radius, built slab by slab along the
    first axis (memory ~ the nodes kept plus one (r-1)-dimensional slab, not the enclosing cube)."""
    def axis(h, rad):
        return h * np.arange(-math.floor(rad / h), math.floor(rad / h) + 1)

    slabs = []
    for z0 in axis(steps[0], radius):
        left = radius * radius - z0 * z0
        if len(steps) == 1:
            slabs.append(np.array([[z0]]))
            continue
        rest = np.stack([g.ravel() for g in np.meshgrid(*[axis(h, math.sqrt(left)) for h in steps[1:]],
                                                         indexing="ij")], axis=1)
        rest = rest[np.einsum("ki,ki->k", rest, rest) <= left]
        slabs.append(np.hstack([np.full((len(rest), 1), z0), rest]))
    return np.vstack(slabs)


def _grid(frame, steps):
    r = len(steps)
    if r == 0:
        return np.zeros((1, 0)), np.ones(1)
    z = _ball_grid(np.asarray(steps, dtype=np.float64), tail_radius(r))
    weight = np.exp(-0.5 * np.einsum("ki,ki->k", z, z))
    return z, weight / weight.sum()


def trapezoid_samples(activation: str, c_law: Law, w_law: Law, points: np.ndarray, kappa: float,
                      c_nodes: int = 3) -> SampleSet:
    """The projected trapezoid rule for (c, w): ``c_nodes`` Gauss nodes for c times the w-nodes.

    Args:
        activation: sets the strip of analyticity; w_law: normal(mu, s); points: (P, d);
        kappa: the design exponent (error of order exp(-kappa)).
    Returns:
        SampleSet with full d-vectors w (K, d) = mu 1 + s-scaled frame coordinates, weights normalised to sum 1
        (the cut Gaussian tail, mass <= TAIL, is dropped); ``order`` = the most nodes along one axis.
    """
    frame, steps = _setup(activation, w_law, points, kappa)
    z, ww = _grid(frame, steps)
    d = np.asarray(points).shape[1]
    wn = float(w_law.a) + float(w_law.b) * (z @ frame.T) if z.shape[1] else np.full((1, d), float(w_law.a))
    cn, cw = c_rule(c_law, c_nodes)
    c = np.repeat(cn, len(ww))
    w = np.tile(wn, (len(cn), 1))
    weight = np.outer(cw, ww).ravel()
    most = int(max((2 * math.floor(tail_radius(len(steps)) / h) + 1 for h in steps), default=1))
    return SampleSet(c, w, weight / weight.sum(), "quadrature", most, len(cn))
