"""Full-batch GD's step terms of the finite-N prediction (docs/theory/7-random-terms.md, "Full-batch GD").

GD with k = round(t N) steps of 1/N moves every unit by the Euler step of the flow's velocity,
theta <- theta + (1/N) v(theta; mu^N), so the output is again a deterministic function of the initial empirical
measure, g^N = G^h(mu^N) with h = 1/N, and the expansion of the flow carries over term by term:

    E g^N   = D^h(eps) + c^h / N + ...,        Var g^N = N^{1 - 2 gamma} (V^h(eps) + B^N / N + ...).

The step changes each term by O(h) = O(1/N): D^h - D is the O(step) term of the mean, as large as c/N;
V^h - V is O(1/N) relative, as large as B^N/N; c^h - c enters the mean at O(N^-2). This module computes

- :func:`step_shift`: D^h(eps) - D(eps), the Euler map of the refined rule's nodes at the width's eps and step
  minus their flow, every order in h at once; its error twice the shift's change on the coarser rule (most of a
  rule's error is common to the map and the flow and cancels);
- :func:`particle_steps`: V^h - V and c^h - c on a small Gauss rule by the particle method
  (:func:`asymexp.numeric.finite_n.particle_terms`), each the Euler map's value minus the RK4 flow's on the same
  rule; the error compares it with the rules of one and two nodes fewer per w-dimension.
"""
from __future__ import annotations

import numpy as np

from asymexp.numeric.error_control import STEP, difference_errors
from asymexp.numeric.finite_n import particle_terms
from asymexp.numeric.quadrature import quadrature_samples
from asymexp.numeric.random_terms import deterministic_flow, euler_map
from asymexp.numeric.trapezoid_rule import trapezoid_samples

#: Gauss nodes per w-dimension of the particle rule of :func:`particle_steps` (its error compares one and two
#: fewer), and per c-dimension. The cost grows like K^2 per step with K = c-nodes x nodes^dim. Four suffice: the
#: terms it gives are a few per cent of the variance's SE (V^h - V) or enter only the omitted-term estimate
#: (c^h - c); on tanh4.toml its mean shift matches the refined rule's within its error estimate (about 20%).
PARTICLE_NODES, PARTICLE_C_NODES = 4, 3  # pragma: no mutate (3 or more c-nodes integrate these low-degree polynomials in c exactly)


def gd_steps(t: float, width: int) -> int:
    """The simulator's step count for full-batch GD to time t at width N: round(t N) (asymexp.sim)."""
    return int(np.rint(float(t) * int(width)))


def step_shift(problem, terms, eps_values, widths, t: float):
    """D^h(eps) - D(eps) at time t, per (eps, width) pair: (shift, error), each (E, P).

    ``terms``: :class:`asymexp.numeric.random_terms.RandomTerms` (its refined rule and design exponent);
    eps_values[i] belongs to widths[i] (h = 1 / widths[i], round(t N) steps)."""
    coarse = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, problem.points, terms.kappa / STEP)
    shifts, errors = [], []
    for eps, n in zip(eps_values, widths):
        steps, h = gd_steps(t, n), 1.0 / int(n)
        fine = euler_map(problem, terms.samples, eps, steps, h) - deterministic_flow(problem, terms.samples, eps, [t])[0]
        rough = euler_map(problem, coarse, eps, steps, h) - deterministic_flow(problem, coarse, eps, [t])[0]
        shifts.append(fine)
        errors.append(difference_errors({"R": fine}, {"R": rough})["R"])
    return np.array(shifts), np.array(errors)


def _particle_rule(problem, nodes: int):
    return quadrature_samples(problem.c_law, problem.w_law, problem.points, nodes, c_nodes=PARTICLE_C_NODES)


def rule_steps(problem, rule, eps: float, t: float, width: int) -> dict:
    """On one rule: {"dV": eps^2 (Var DG^h - Var DG), "dc": c^h - c, "dD": G^h - G}, each (P,), the Euler map of
    round(t N) steps of h = 1/N (N = ``width``) against the RK4 flow (:func:`asymexp.numeric.finite_n.particle_terms`)."""
    g_f, c_f, v_f = particle_terms(problem, rule, eps, t)
    g_e, c_e, v_e = particle_terms(problem, rule, eps, t, gd_width=int(width))
    return {"dV": eps ** 2 * (v_e - v_f), "dc": c_e - c_f, "dD": g_e - g_f}


def particle_steps(problem, eps_values, widths, t: float, nodes: int = PARTICLE_NODES) -> dict:
    """The step's change of the variance and of the 1/N mean coefficient, per (eps, width) pair, each (E, P):
    {"dV": eps^2 (Var DG^h - Var DG), "dc": c^h - c, "dD": the mean shift on this rule (a check of
    :func:`step_shift`), and "dV_error", "dc_error", "dD_error"}. Error: :func:`difference_errors` over the rules of
    ``nodes``, ``nodes`` - 1 and ``nodes`` - 2 Gauss nodes per w-dimension (twice the change from the next rule,
    or the observed contraction times the change before it, whichever is larger)."""
    if nodes < 3:
        raise ValueError(f"nodes = {nodes}; at least 3 (the error compares three rules)")
    names = ("dV", "dc", "dD")
    out = {k: [] for k in names + tuple(f"{k}_error" for k in names)}
    rules = [_particle_rule(problem, q) for q in (nodes, nodes - 1, nodes - 2)]
    for eps, n in zip(eps_values, widths):
        pieces = [rule_steps(problem, rule, eps, t, int(n)) for rule in rules]
        err = difference_errors(*pieces[:2], coarser=pieces[2])
        for k in names:
            out[k].append(pieces[0][k])
            out[f"{k}_error"].append(err[k])
    return {k: np.array(v) for k, v in out.items()}


def sgd_noise_variance(A: np.ndarray, y: np.ndarray, alpha: float, t: float, nodes: int = 32):
    """W_t (P,), the leading variance that online SGD's sampling adds, in units of 1/N: Var g^SGD - Var g^GD
    = W_t / N + ..., and its quadrature error (P,) (docs/theory/7-random-terms.md, "Online SGD").

    A step on the drawn point m moves the outputs by h alpha A[:, m] r_m instead of GD's
    h (alpha/M) sum_m A[:, m] r_m: a mean-zero kick of covariance h^2 alpha^2 C(s), C(s) = Cov_m(A[:, m] r_m(s)), m
    uniform over the M training points, r(s) = y - h_s. The kicks are independent and the frozen-kernel dynamics
    carry a kick at time s to time t by the propagator L_{t-s}, so with h = 1/N

        W_t = alpha^2 int_0^t diag(L_{t-s} C(s) L_{t-s}^T) ds       (Gauss-Legendre on [0, t]).

    A (P, P): the limit kernel on all points (training points first); y (M,). Error: the change from half the
    nodes."""
    from asymexp.numeric.frozen import Eigen, propagator

    m = y.shape[0]
    eig = Eigen.of(A, m)

    def integral(count: int) -> np.ndarray:
        if t <= 0:
            return np.zeros(A.shape[0])
        s, w = np.polynomial.legendre.leggauss(count)
        s, w = 0.5 * t * (s + 1.0), 0.5 * t * w
        total = np.zeros(A.shape[0])
        for sq, wq in zip(s, w):
            r = eig.apply(eig.decay(alpha, sq), y)
            kicks = A[:, :m] * r[None, :]                          # (P, M): column m is A[:, m] r_m
            moved = propagator(A, m, alpha, t - sq) @ kicks
            total += wq * (np.mean(moved ** 2, axis=1) - np.mean(moved, axis=1) ** 2)
        return alpha ** 2 * total

    value = integral(nodes)
    return value, np.abs(value - integral(nodes // 2)) + 1e-15 * np.abs(value)
