"""The 1/N term of the mean at a finite eps, eps = 1 (gamma = 1, the mean-field end) included
(docs/theory/7-random-terms.md, "gamma = 1").

Under gradient flow g^N_t = G_t(mu_0 + N^{-1/2} nu) for every gamma, so

    E g^N_t = G_t(mu_0) + c_t(eps) / N + O(N^{-2}),     c_t(eps) = (1/2) E D^2 G_t[nu, nu],

with G_t run at the width's eps. :func:`asymexp.numeric.random_terms.random_terms` gives c_t(0) = c_0, the
eps -> 0 limit, to 1e-8 on a refined rule; at eps = 1 every eps-order of c counts. The particle method of
:mod:`asymexp.numeric.finite_n` computes the exact second derivative at any eps on a small Gauss rule, but that
double integral converges slowly in the rule (a few per cent between 5 and 6 nodes per dimension). Most of the
rule's error is common to eps and eps -> 0, so the value used is

    c_t(eps) = c_0 + [c^rule_t(eps) - c^rule_t(EPS_REF)],

the bracket on the rule of QUAD_ORDER nodes per w-dimension and C_NODES per c-dimension; its error is twice its
difference from the rule with one node fewer in each (:func:`asymexp.numeric.error_control.difference_errors`),
plus c_0's error. Measured on tanh4.toml at t = 1: the bracket is 1e-4 to 1.5e-3 (c_0 is 0.005 to 0.04); it moves
by up to 3e-4 between 5 and 6 w-nodes and by up to 3e-4 between 3 and 5 c-nodes; 40 and 80 RK4 steps per unit
time agree to 2e-6.
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import SpecError
from asymexp.numeric.error_control import difference_errors
from asymexp.numeric.finite_n import inverse_n_mean_term

#: Gauss nodes per w-dimension and per c-dimension of the bracket's rule (the error rule has one fewer of each).
QUAD_ORDER, C_NODES = 6, 4
#: The eps standing for eps -> 0 in the bracket (c^rule(EPS_REF) - c^rule(0) = O(EPS_REF^2), 4e-4 of the eps^2
#: coefficient).
EPS_REF = 0.02


#: Flops per (node pair, training point, coordinate, unit of time) of one particle flow of the bracket, calibrated
#: so that :func:`bracket_cost` at RATE_FLOPS (asymexp.budget) gives the measured time: tanh4.toml and sigmoid4.toml
#: at t = 1 (864 and 375 nodes, two eps each) took 345 and 350 s on the shared 2-core machine, the two runs side by
#: side under a load average of about 3.
BRACKET_FLOPS = 1.2e5


def bracket_cost(problem, t: float) -> tuple[float, float]:
    """(bytes, flops) of :func:`mean_term_at` with the default rules: two particle flows (eps and EPS_REF) on each
    of the two Gauss rules; the work grows like K^2 M (d + 1) per unit time, the memory like K^2 (d + 1 + M) on the
    larger rule (the weight sensitivities, their RK4 stages and the per-pair temporaries)."""
    from asymexp.numeric.quadrature import quadrature_samples

    m, d1 = problem.x.shape[0], problem.x.shape[1] + 1.0
    sizes = [float(len(quadrature_samples(problem.c_law, problem.w_law, problem.points, q, c_nodes=c)))
             for q, c in ((QUAD_ORDER, C_NODES), (QUAD_ORDER - 1, C_NODES - 1))]
    flops = BRACKET_FLOPS * 2.0 * sum(k * k for k in sizes) * m * d1 * max(float(t), 1.0 / 40.0)
    memory = 8.0 * sizes[0] ** 2 * (12.0 * d1 + 20.0 * m)
    return memory, flops


def bracket(problem, t: float, eps: float, quad_order: int, c_nodes: int) -> np.ndarray:
    """c^rule_t(eps) - c^rule_t(EPS_REF) on the Gauss rule (quad_order, c_nodes): (P,)."""
    hi, _ = inverse_n_mean_term(problem, [t], quad_order=quad_order, eps=eps, c_nodes=c_nodes)
    lo, _ = inverse_n_mean_term(problem, [t], quad_order=quad_order, eps=EPS_REF, c_nodes=c_nodes)
    return hi[0] - lo[0]


def mean_term_at(problem, t: float, eps: float, c0: np.ndarray, c0_error: np.ndarray,
                 quad_order: int = QUAD_ORDER, c_nodes: int = C_NODES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """c_t(eps) (P,), its error (P,) and the bracket c_t(eps) - c_0 (P,) at the single time t.

    Args:
        c0, c0_error: c_t(0) and its error on the evaluation points (P,) (:class:`RandomTerms` ``c[i]``,
            ``errors["c"][i]``); eps: in (0, 1]; quad_order >= 3, c_nodes >= 2: the bracket's rule.
    """
    if not 0.0 < eps <= 1.0:
        raise SpecError(f"eps = {eps}; 0 < eps <= 1 is required")
    if quad_order < 3 or c_nodes < 2:
        raise SpecError(f"quad_order = {quad_order}, c_nodes = {c_nodes}; at least 3 and 2 are required (the error "
                        "rule has one node fewer of each)")
    fine = bracket(problem, t, eps, quad_order, c_nodes)
    coarse = bracket(problem, t, eps, quad_order - 1, c_nodes - 1)
    err = difference_errors({"d": fine}, {"d": coarse})["d"]
    c0 = np.asarray(c0, dtype=np.float64)
    return c0 + fine, err + np.asarray(c0_error, dtype=np.float64), fine


def with_inverse_n(theory, terms):
    """``theory`` (a :class:`asymexp.numeric.shallow_theory.ShallowTheory`) with the 1/N mean term c_t of ``terms``
    (a :class:`asymexp.numeric.random_terms.RandomTerms` on the same points and times) attached, so that its
    ``mean(N)`` includes c_t / N."""
    from dataclasses import replace

    c = np.asarray(terms.c, dtype=np.float64)
    if c.shape != theory.h.shape or not np.allclose(np.asarray(terms.times), theory.times):
        raise SpecError(f"the random terms have c of shape {c.shape} at times {np.asarray(terms.times).tolist()}; "
                        f"the theory needs shape {theory.h.shape} at times {theory.times.tolist()}")
    return replace(theory, c=c, errors={**theory.errors, "c": np.asarray(terms.errors["c"])})
