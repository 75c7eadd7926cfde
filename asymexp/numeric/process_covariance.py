"""The covariance of the limit fluctuation process over evaluation points and times (docs/theory/7-random-terms.md,
"The fluctuation as a process").

One hidden layer, gradient flow. The scaled fluctuation xi_t = N^{gamma - 1/2} (g^N_t - E g^N_t) tends to the
Gaussian process Q_{0,1}(t) = Phi_t Z, Z the centred Gaussian initial output of covariance S on all P points and
Phi_t the propagator of the frozen kernel (:func:`asymexp.numeric.frozen.propagator`), so

    C[(t, p), (s, q)] = (Phi_t S Phi_s^T)[p, q],        C[(t, p), (t, p)] = V_t(x_p)

(:func:`limit_covariance`). At a finite width the same covariance at the width's eps = N^{gamma - 1} is that of
the node flow's linear response (:mod:`asymexp.numeric.linear_response`): with d^{t,p}_j = dG_t(x_p)/d omega_j on
quadrature nodes of weights omega,

    C_eps[(t, p), (s, q)] = eps^2 (sum_j omega_j d^{t,p}_j d^{s,q}_j - (sum_j omega_j d^{t,p}_j)(sum_j omega_j d^{s,q}_j))

(:func:`response_covariance`; one field nu drives every time, so the cross-time entries come from the same
sensitivities). C_eps = C + eps^2 B + ..., whose diagonal is V_t(eps). :func:`finite_eps_covariance` adds the
rule's shift C_eps - C_{EPS_REF} to the limit C of the refined kernel, so that the rule's own error largely
cancels, as :func:`asymexp.numeric.linear_response.variance_part` does for the diagonal.
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import SpecError
from asymexp.numeric.frozen import propagator

#: The eps standing in for eps -> 0 in the rule's shift (its own eps^2 B is below 1e-6 B).
EPS_REF = 1e-3
#: Adjoint steps per unit time of the finer rule (the coarser takes half), as the variance remainder's rules.
STEPS_PER_UNIT = 8
#: Design exponent of the finer rule of the shift (the coarser: divided by error_control.STEP).
SHIFT_KAPPA = 20.0


def _times(times) -> np.ndarray:
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise SpecError(f"times {np.asarray(times).tolist()!r}: one or more finite times >= 0 are required")
    return t


def limit_covariance(A: np.ndarray, S: np.ndarray, m: int, alpha: float, times) -> np.ndarray:
    """C (T, P, T, P): C[a, p, b, q] = (Phi_{t_a} S Phi_{t_b}^T)[p, q] for the frozen kernel A (P, P), the initial
    covariance S (P, P), the first ``m`` points the training points, rate ``alpha``."""
    phis = np.array([propagator(A, m, alpha, float(t)) for t in _times(times)])
    return np.einsum("aij,jk,blk->aibl", phis, S, phis)


def limit_covariance_error(A: np.ndarray, S: np.ndarray, m: int, alpha: float, times, error: float) -> np.ndarray:
    """An error estimate (T, P, T, P) of :func:`limit_covariance` when every entry of A and S may be off by
    ``error``: |Phi_t| E |Phi_s|^T for S (E all ``error``) plus twice the change of C under A + ``error`` (all
    entries), a first-order propagation."""
    t = _times(times)
    phis = np.abs(np.array([propagator(A, m, alpha, float(x)) for x in t]))
    s_part = np.einsum("aij,jk,blk->aibl", phis, np.full_like(S, error), phis)
    a_part = np.abs(limit_covariance(A + error, S, m, alpha, t) - limit_covariance(A, S, m, alpha, t))
    return s_part + 2.0 * a_part


def response_covariance(problem, samples, eps: float, times, steps_per_unit: float = STEPS_PER_UNIT) -> np.ndarray:
    """C_eps (T, P, T, P) on the rule ``samples`` (module docstring), ceil(steps_per_unit t) adjoint steps at t."""
    from asymexp.numeric.linear_response import weight_gradients

    t = _times(times)
    d = np.array([weight_gradients(problem, samples, eps, float(x), max(1, int(np.ceil(steps_per_unit * x))))
                  for x in t])                                              # (T, P, K)
    om = samples.weight
    centred = d - (d @ om)[..., None]
    return eps ** 2 * np.einsum("apk,k,bqk->apbq", centred, om, centred)


def finite_eps_covariance(problem, kernel, eps_values, times) -> dict:
    """C_eps for each eps with an error estimate, and the limit C.

    Args:
        problem: a one-hidden-layer Problem (symmetric law of c, normal law of w: the rules of
            :mod:`asymexp.numeric.trapezoid_rule`); kernel: its :class:`asymexp.numeric.frozen.FrozenKernel`
            (:func:`asymexp.numeric.problem_kernel.frozen_kernel`); eps_values: (E,) in (0, 1]; times: (T,).
    Returns:
        {"limit" (T, P, T, P), "limit_error" (T, P, T, P), "value" (E, T, P, T, P) = limit + shift, "error"
        (E, T, P, T, P), "shift" (E, T, P, T, P) = C_eps - C on the finer rule, "B" (the largest |shift| / eps^2,
        a size of the eps^2 coefficient)}. The error of the shift is :func:`asymexp.numeric.error_control.
        difference_errors` between the rules SHIFT_KAPPA (STEPS_PER_UNIT) and SHIFT_KAPPA / STEP (half the
        steps), plus EPS_REF^2 B, plus ``limit_error``.
    """
    from asymexp.numeric.error_control import STEP, difference_errors
    from asymexp.numeric.trapezoid_rule import trapezoid_samples

    t = _times(times)
    limit = limit_covariance(kernel.A, kernel.S, kernel.m, kernel.alpha, t)
    limit_err = limit_covariance_error(kernel.A, kernel.S, kernel.m, kernel.alpha, t, kernel.error)
    shifts = []
    for kappa, steps in ((SHIFT_KAPPA, STEPS_PER_UNIT), (SHIFT_KAPPA / STEP, STEPS_PER_UNIT / 2)):
        samples = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, problem.points, kappa)
        ref = response_covariance(problem, samples, EPS_REF, t, steps)
        shifts.append(np.array([response_covariance(problem, samples, float(e), t, steps) - ref
                                for e in eps_values]))
    eps = np.asarray(eps_values, dtype=np.float64)
    b_size = float(max(np.max(np.abs(s)) / e ** 2 for s, e in zip(shifts[0], eps))) if eps.size else 0.0
    shift_err = difference_errors({"s": shifts[0]}, {"s": shifts[1]})["s"] + EPS_REF ** 2 * b_size
    return {"limit": limit, "limit_error": limit_err, "value": limit[None] + shifts[0],
            "error": shift_err + limit_err[None], "shift": shifts[0], "B": b_size}
