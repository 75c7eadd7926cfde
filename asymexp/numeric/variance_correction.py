"""The 1/N correction of the variance at a finite eps, B^N_t(eps), by the particle method
(docs/theory/7-random-terms.md, "The 1/N correction of the variance at finite eps").

On a discrete measure (quadrature nodes theta_k, weights w_k) the network of N units drawn from the rule has
g^N = G(w + X), X the mean of N i.i.d. vectors xi = e_J - w (J ~ w), of covariance S = diag(w) - w w^T. With
d = DG, H = D^2 G and T = D^3 G at w, expanding to the N^-2 order of the variance:

    Var g^N = K1 / N + K2 / N^2 + O(N^-3),     K1 = d^T S d,
    K2 = E[(d . xi) H[xi, xi]] + T[S d, S] + (1/2) tr(H S H S)

(the third cumulant of xi; the third derivative against the covariance; the variance of the Hessian's quadratic
form),

and relative to N^{1 - 2 gamma} = 1 / (N eps^2): V(eps) = eps^2 K1 and B^N(eps) = eps^2 K2. The pieces come from
the particle flow of :mod:`asymexp.numeric.finite_n`, generalized to any set of measure directions:

- the third-cumulant piece is sum_j w_j g'_j g''_j along the directions e_j - w;
- T[u, S] (u = S d, per evaluation point) is the derivative in delta of sum_j w_j H_delta[e_j - w, e_j - w] with
  the particles started from the measure w + delta u (the directions e_j - w kept): a forward difference of
  relative step STEP_SIZE, whose O(delta) error is common to every eps and cancels in the bracket below;
- tr(H S H S) is half the variance of H[nu, nu] over Gaussian directions nu ~ N(0, S) (Hutchinson's identity
  Var nu^T A nu = 2 tr(A S A S)); a fixed seed and REPLICAS directions, with its Monte Carlo standard error.

As for c_t (:mod:`asymexp.numeric.mean_field_terms`) the rule's error is mostly common to every eps, so the value
used is B^N(eps) = B^N(0) + [B^N_rule(eps) - B^N_rule(EPS_REF)], B^N(0) from the refined rule of
:mod:`asymexp.numeric.random_terms`; the same runs give c(eps) - c(0) (c = tr(H S) / 2), as
:mod:`asymexp.numeric.mean_field_terms` does on its own rule. At eps -> 0 the rule's eps^2 K2 equals the tensor
formula's B^N on the same rule (tests/test_variance_correction.py): two independent computations of B^N.
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import SpecError
from asymexp.numeric.error_control import difference_errors
from asymexp.numeric.finite_n import _Flow
from asymexp.numeric.quadrature import quadrature_samples

#: Gaussian directions of the Hessian's variance, and their seed (fixed: the same rule gives the same numbers).
REPLICAS, SEED = 1024, 20261207
#: Relative step of the base measure in the third-derivative difference: delta max_j |d_j| = STEP_SIZE.
STEP_SIZE = 1e-3
#: The eps standing for eps -> 0 in the bracket (the bracket's own eps^2 term is EPS_REF^2 of its coefficient).
EPS_REF = 0.02
#: The bracket's rule, (Gauss nodes per w-dimension, per c-dimension), and the rule its error is taken from.
FINE, COARSE = (3, 3), (2, 2)


class DirectedFlow(_Flow):
    """The particle flow with weight sensitivities along arbitrary measure directions U (R, K) (each row sums to
    0) from the base measure ``base`` (K,): g' and g'' are (R, points)."""

    def __init__(self, problem, samples, eps: float, directions: np.ndarray, base: np.ndarray | None = None):
        super().__init__(problem, samples, eps)
        if base is not None:
            self.om = np.asarray(base, dtype=np.float64)
        self.U = np.asarray(directions, dtype=np.float64)
        shape = (self.U.shape[0],) + self.theta.shape
        self.T1, self.T2 = np.zeros(shape), np.zeros(shape)

    def _derivatives(self, f, gt1, qt1, gt2):
        om, eps = self.om, self.eps
        g1 = (self.U @ f + np.einsum("k,rkp->rp", om, gt1)) / eps
        g2 = (2.0 * np.einsum("rk,rkp->rp", self.U, gt1) + np.einsum("k,rkp->rp", om, qt1 + gt2)) / eps
        return g1, g2


def _run(flow: _Flow, t: float, steps_per_unit: int, points):
    n = int(np.ceil(t * steps_per_unit)) if t > 0 else 0
    for _ in range(n):
        flow.step(t / n)
    return flow.outputs(flow.theta, flow.T1, flow.T2, points)


def gaussian_directions(weight: np.ndarray, count: int, seed: int = SEED) -> np.ndarray:
    """(count, K) draws of nu ~ N(0, diag(w) - w w^T): nu = sqrt(w) z - w (sqrt(w) . z), z standard normal."""
    z = np.random.default_rng(seed).standard_normal((count, weight.shape[0]))
    a = z * np.sqrt(weight)
    return a - np.outer(a.sum(axis=1), weight)


def rule_coefficients(problem, samples, eps: float, t: float, steps_per_unit: int = 40,
                      replicas: int = REPLICAS) -> dict:
    """On one rule, at one eps and time t under gradient flow: {"K1", "cumulant", "third", "hessian", "K2", "V", "BN",
    "c"}, each (P,) (module docstring; V = eps^2 K1, BN = eps^2 K2, c = (1/2) tr(H S) the 1/N mean coefficient), and
    "hessian_terms" (R, P): eps^2 (H[nu_r, nu_r] - mean)^2 / 4, whose mean is the Hessian piece of BN (kept for paired
    standard errors between two eps on the same directions)."""
    om = samples.weight
    pts = problem.points
    centred = np.eye(om.shape[0]) - om[None, :]
    _, d, g2 = _run(_Flow(problem, samples, eps), t, steps_per_unit, pts)          # (K, P) each
    k1 = om @ (d * d)
    trace = om @ g2                                                                 # tr(H S)
    third = np.empty_like(k1)
    for p in range(pts.shape[0]):
        delta = STEP_SIZE / max(float(np.max(np.abs(d[:, p]))), 1e-300)
        moved = om + delta * om * d[:, p]
        third[p] = (om @ _run(DirectedFlow(problem, samples, eps, centred, moved), t, steps_per_unit,
                              pts)[2][:, p] - trace[p]) / delta
    nu = gaussian_directions(om, replicas)
    _, _, q = _run(DirectedFlow(problem, samples, eps, nu), t, steps_per_unit, pts)  # (R, P): H[nu, nu]
    terms = 0.25 * eps ** 2 * (q - q.mean(axis=0)) ** 2 * replicas / (replicas - 1.0)
    cumulant = om @ (d * g2)
    hessian = terms.mean(axis=0) / eps ** 2
    k2 = cumulant + third + hessian
    return {"K1": k1, "cumulant": cumulant, "third": third, "hessian": hessian, "K2": k2, "V": eps ** 2 * k1,
            "BN": eps ** 2 * k2, "c": 0.5 * trace, "hessian_terms": terms}


def _rule(problem, nodes: tuple[int, int]):
    return quadrature_samples(problem.c_law, problem.w_law, problem.points, nodes[0], c_nodes=nodes[1])


def bracket(problem, t: float, eps: float, nodes: tuple[int, int], replicas: int = REPLICAS) -> dict:
    """On the Gauss rule ``nodes`` = (per w-dimension, per c-dimension), each (P,): "BN" = B^N_rule(eps) -
    B^N_rule(EPS_REF), "c" = c_rule(eps) - c_rule(EPS_REF), and "BN_se", the Monte Carlo SE of the BN bracket (the
    same Gaussian directions serve both eps; the SE is that of the paired difference)."""
    samples = _rule(problem, nodes)
    hi = rule_coefficients(problem, samples, eps, t, replicas=replicas)
    lo = rule_coefficients(problem, samples, EPS_REF, t, replicas=replicas)
    diff = hi["hessian_terms"] - lo["hessian_terms"]
    se = diff.std(axis=0, ddof=1) / np.sqrt(diff.shape[0])
    return {"BN": hi["BN"] - lo["BN"], "c": hi["c"] - lo["c"], "BN_se": se}


def cost_flops(problem, t: float, nodes: tuple[int, int] = FINE, coarse: tuple[int, int] = COARSE,
               replicas: int = REPLICAS) -> float:
    """The work of :func:`terms_at` (flops, an order of magnitude): on each rule and at both eps, (P + 1) K + replicas
    directions of K nodes, priced per direction-node pair as the particle flows of
    :data:`asymexp.numeric.mean_field_terms.BRACKET_FLOPS`."""
    from asymexp.numeric.mean_field_terms import BRACKET_FLOPS

    p, m, d1 = problem.points.shape[0], problem.x.shape[0], problem.x.shape[1] + 1.0
    pairs = 0.0
    for rule in (nodes, coarse):
        k = float(len(_rule(problem, rule)))
        pairs += ((p + 1) * k + replicas) * k
    return BRACKET_FLOPS * 2.0 * pairs * m * d1 * max(float(t), 1.0 / 40.0)


def terms_at(problem, t: float, eps: float, nodes: tuple[int, int] = FINE, coarse: tuple[int, int] = COARSE,
             replicas: int = REPLICAS) -> dict:
    """The eps-dependence of the two 1/N coefficients at the single time t, each (P,): {"BN": B^N_t(eps) - B^N_t(0),
    "c": c_t(eps) - c_t(0), "BN_error", "c_error"}. Add them to B^N_t(0) and c_t(0) of the refined rule
    (:func:`asymexp.numeric.random_terms.random_terms`, or ``rule_values`` on the caller's rule) and their errors.
    Error: twice the change from the ``coarse`` rule (:func:`asymexp.numeric.error_control.difference_errors`), plus
    twice the Monte Carlo SE for BN (``replicas`` Gaussian directions per rule)."""
    if not 0.0 < eps <= 1.0:
        raise SpecError(f"eps = {eps}; 0 < eps <= 1 is required")
    if min(coarse) < 2 or coarse[0] > nodes[0] or coarse[1] > nodes[1] or tuple(coarse) == tuple(nodes):
        raise SpecError(f"rules {nodes} and {coarse}: the coarse rule needs at least 2 nodes a side and fewer "
                        "nodes than the fine one")
    fine, rough = bracket(problem, t, eps, nodes, replicas), bracket(problem, t, eps, coarse, replicas)
    err = difference_errors({k: fine[k] for k in ("BN", "c")}, {k: rough[k] for k in ("BN", "c")})
    return {"BN": fine["BN"], "c": fine["c"], "BN_error": err["BN"] + 2.0 * fine["BN_se"], "c_error": err["c"]}
