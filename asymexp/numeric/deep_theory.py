"""Frozen limit kernel and variance constant of depth L >= 2 networks (docs/theory/4-deep-networks.md).

Layer kernels, from the input up (x, x' evaluation points)::

    K_0(x, x')      = x . x'
    K_1(x, x')      = E[sigma(w.x) sigma(w.x')],                w ~ the law of W1 (quadrature in the span of the data)
    Z^{l+1}         ~ N(0, nu_l s_{l+1}^2 K_l)                  (CLT over the N_l units of layer l)
    K_{l+1}(x, x')  = E[sigma(Z^{l+1}(x)) sigma(Z^{l+1}(x'))]   (2-d Gauss-Hermite per pair: theory.pairwise)

with s_{l+1}^2 the variance of the (mean-zero) inner weights and nu_l the collapse factor of the normalization:
nu_l = N_l^{1 - 2 gamma_l} at given widths, or in the sequential limit nu_l = 1 at gamma_l = 1/2 and 0 (the
layer collapses to sigma(0)) at gamma_l > 1/2. Only C and W^L train in the limit, so the frozen tangent kernel is

    A = K_L + E[C^2] E[sigma'(Z^L(x)) sigma'(Z^L(x'))] K_{L-1},

(for L = 1 this is the shallow kernel) and the initial covariance is Var g_0 = N_L^{1 - 2 gamma_L} S with
S = E[C^2] K_L - E[C]^2 m_L m_L^T, m_L = E[sigma(Z^L)]. V_t = diag(Phi_t S Phi_t^T) as in the shallow case.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from asymexp.errors import SpecError
from asymexp.spec import Law
from asymexp.numeric import hierarchy
from asymexp.activations import get as get_activation
from asymexp.activations import sigma_derivatives
from asymexp.numeric.pairwise import pair_moments
from asymexp.numeric.quadrature import NODE_BUDGET, default_order, quadrature_dimension, quadrature_samples


@dataclass(frozen=True)
class DeepKernel:
    """Frozen limit quantities of a depth-L network on P points.

    Attributes:
        A: (P, P) tangent kernel; S: (P, P) initial covariance divided by N_L^{1 - 2 gamma_L}; error: estimated
        absolute error (max difference between two quadrature orders); collapse: (L-1,) the factors nu_l;
        regime: "finite-width" or "sequential-limit"; notes: degeneracies found (section 4);
        coarse: ((A, S) at 3/4 of the nodes per dimension, (A, S) at 3/4 of that): the per-entry error estimates
        of what is computed from A and S (docs/theory-layer.md, "Error estimates").
    """

    A: np.ndarray
    S: np.ndarray
    error: float
    collapse: tuple
    regime: str
    notes: tuple = ()
    coarse: tuple = ()


def _first_layer(activation: str, w_law: Law, points: np.ndarray, order: int):
    samples = quadrature_samples(Law("normal", 0, 1), w_law, points, order, c_nodes=1)
    s, s1 = sigma_derivatives(activation, samples.w @ points.T, 1)
    wq = samples.weight
    return (np.einsum("k,kp,kq->pq", wq, s, s), np.einsum("k,kp,kq->pq", wq, s1, s1), wq @ s)


def _collapse_factors(spec) -> tuple[tuple, str]:
    if spec.is_symbolic:
        raise SpecError("the deep frozen kernel needs numeric gammas; symbols were given")
    inner = spec.gammas[:-1]
    if spec.widths is not None:
        return tuple(float(n) ** (1.0 - 2.0 * float(g)) for n, g in zip(spec.widths[:-1], inner)), "finite-width"
    return tuple(1.0 if g == Fraction(1, 2) else 0.0 for g in inner), "sequential-limit"


def _inner_variance(law: Law, name: str) -> float:
    if law.kind == "torch-default":
        raise SpecError(f"{name} ~ torch-default needs a fan-in; the frozen kernel takes normal(0,s) or uniform(-a,a)")
    if law.moment(1) != 0:
        raise SpecError(f"{name} ~ {law} has mean {law.moment(1)}; the inner sums diverge unless the law has mean 0")
    return float(law.moment(2))


def _kernel(spec, points: np.ndarray, order: int):
    pts = points
    laws = spec.weight_laws
    nu, regime = _collapse_factors(spec)
    k_prev = points @ points.T
    k, kd, mean = _first_layer(spec.activation, laws[0], points, order)
    for l in range(1, spec.depth):
        var = _inner_variance(laws[l], f"W{l + 1}")
        k_prev = k
        k, kd, mean = pair_moments(spec.activation, np.zeros(len(pts)), nu[l - 1] * var * k, order)
    c2, c1 = float(laws[-1].moment(2)), float(laws[-1].moment(1))
    return k + c2 * kd * k_prev, c2 * k - c1 * c1 * np.outer(mean, mean), nu, regime


def deep_frozen_kernel(spec, points, order: int | None = None) -> DeepKernel:
    """The frozen limit tangent kernel A and initial covariance S of ``spec`` on ``points``
    (docs/theory/4-deep-networks.md).

    Args:
        spec: :class:`asymexp.spec.NetworkSpec` (numeric gammas; widths optional: with widths, the collapse
            factors are N_l^{1 - 2 gamma_l}; without, the sequential limit); points: (P, d).
        order: Gauss-Hermite nodes per dimension (default: the largest within the node budget, at most 48).
    Returns:
        :class:`DeepKernel` (A, S of shape (P, P); error from a second, lower-order evaluation).
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or (spec.input_dim is not None and pts.shape[1] != spec.input_dim):
        raise SpecError(f"points have shape {pts.shape}; (P, {spec.input_dim or 'd'}) is required")
    n_hi = order or default_order(spec.weight_laws[0], pts) or _fallback_order(spec, pts)
    n_lo = max(4, int(round(0.75 * n_hi)))
    a, s, nu, regime = _kernel(spec, pts, n_hi)
    a2, s2, _, _ = _kernel(spec, pts, n_lo)
    a3, s3, _, _ = _kernel(spec, pts, max(3, int(round(0.75 * n_lo))))
    err = float(max(np.max(np.abs(a - a2)), np.max(np.abs(s - s2))))
    return DeepKernel(a, s, err, nu, regime, tuple(_degeneracies(spec, a, s, err)), ((a2, s2), (a3, s3)))


def _fallback_order(spec, pts: np.ndarray) -> int:
    """8 nodes per dimension when the points span too many dimensions for the node budget: said on stderr, and
    refused (:class:`SpecError`) when the product rule would exceed the budget a hundredfold."""
    import sys

    r = quadrature_dimension(spec.weight_laws[0], pts)
    nodes = 8 ** r
    if nodes > 100 * NODE_BUDGET:
        raise SpecError(f"{pts.shape[0]} points span {r} input dimensions: the deep frozen kernel's product "
                        f"Gauss-Hermite rule would need 8^{r} = {nodes:.3g} nodes (budget {NODE_BUDGET}); "
                        "use fewer points, or give the order explicitly")
    print(f"asymexp: deep frozen kernel: {r} input dimensions exceed the node budget {NODE_BUDGET}; using 8 nodes "
          f"per dimension ({nodes} nodes)", file=sys.stderr)
    return 8


def _degeneracies(spec, a: np.ndarray, s: np.ndarray, err: float) -> list[str]:
    notes = []
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    tol = max(10 * err, 1e-12)
    if scale <= tol:
        notes.append("degenerate: the tangent kernel vanishes (collapsed layers with sigma(0) = 0): learning stops")
    elif float(np.max(np.abs(a - a.mean()))) <= tol:
        notes.append("degenerate: the tangent kernel does not depend on the input (collapsed layers give sigma(0)): "
                     "the limit learns only a constant")
    if float(np.max(np.abs(s))) <= tol:
        notes.append("degenerate: the leading variance constant vanishes; the variance is of lower order than "
                     "N_L^{1 - 2 gamma_L}")
    if spec.depth >= 2 and get_activation(spec.activation).collapse == "linear":
        notes.append(f"{spec.activation}: sigma(0) = 0, so collapsed inner layers rescale the output; the variance exponent is the "
                     "collapse sum of section 4, not 1 - 2 gamma_L alone (S carries the finite-width factors)")
    return notes


def deep_variance(spec, x_train, probes, times, alpha: float = 1.0, order: int | None = None):
    """h_t and V_t of a depth-L network with the frozen kernel (Var g = N_L^{1 - 2 gamma_L} V_t).

    Args:
        spec: the network; x_train: (M, d) training points (data weights 1/M); probes: (Q, d) (Q may be 0);
        times: (T,) times >= 0 in units of t = k / N_L; alpha: base rate.
    Returns:
        (V (T, P), DeepKernel), points ordered training then probes.
    """
    x = np.asarray(x_train, dtype=np.float64)
    q = np.asarray(probes, dtype=np.float64).reshape(-1, x.shape[1])
    times = hierarchy.check_times(times)
    kern = deep_frozen_kernel(spec, np.vstack([x, q]), order)
    return hierarchy.variance_constant(kern.A, kern.S, x.shape[0], alpha, times), kern


def deep_theory(problem, gammas, widths=None, times=(1.0,), order: int | None = None) -> dict:
    """h, V, A, S of the depth-L network of ``problem`` (``problem.spec(gammas, widths)``): a dict of arrays
    (h, V: (T, P)) plus ``errors`` (per-entry estimates of h, V, A, S from the computations at 3/4 and 9/16 of
    the nodes, :func:`asymexp.numeric.error_control.difference_errors`), ``kernel_error``, ``regime``, ``notes``. ``widths=None``: the
    sequential limit."""
    from asymexp.numeric.error_control import difference_errors

    spec = problem.spec(gammas, widths if widths is not None else [1] * len(gammas))
    if widths is None:
        spec = spec.replace(widths=None)
    times = hierarchy.check_times(times)
    v, kern = deep_variance(spec, problem.x, problem.probe, times, problem.alpha, order)
    h = hierarchy.leading_term(kern.A, problem.y, problem.alpha, times)
    m = problem.x.shape[0]
    coarse = [{"h": hierarchy.leading_term(a, problem.y, problem.alpha, times),
               "V": hierarchy.variance_constant(a, s, m, problem.alpha, times), "A": a, "S": s} for a, s in kern.coarse]
    errors = difference_errors({"h": h, "V": v, "A": kern.A, "S": kern.S}, coarse[0], coarser=coarse[1])
    return {"points": problem.points, "times": times, "h": h, "V": v, "A": kern.A, "S": kern.S, "errors": errors,
            "kernel_error": kern.error, "collapse": kern.collapse, "regime": kern.regime, "notes": kern.notes}
