"""The random terms of the shallow expansion and the finite-N predictions they give
(docs/theory/7-random-terms.md).

At a finite width the output is a function of the initial empirical measure, g^N = G(mu_0 + N^{-1/2} nu), nu the
centred Gaussian field of covariance Cov_{mu_0}. G depends on the measure in two ways: through the initial output
z = eps^{-1} <f, mu> (which acts like shifted targets y - z on the training points) and through the expectation
tensors of the hierarchy (the kernel A and the tensors of Q1, Q2, ...). Expanding G to second order in nu gives,
for a symmetric law of c (E f = 0, every odd-in-c tensor zero):

    E g^N_t   = D_t(eps) + c_t / N + O(eps^2 / N + N^{-2})
    Var g^N_t = N^{1 - 2 gamma} (V_t + eps^2 B_t + B^N_t / N) + O(N^{1 - 2 gamma} (eps^4 + eps^2 / N + N^{-2}))

- D_t(eps) = h + eps^2 Q2 + eps^4 Q4 + ... is G at mu_0 itself: the deterministic flow of the quadrature nodes at
  the given eps (:func:`deterministic_flow`), every order at once;
- c_t = (kernel) + (tilt) + (offset): the second-order response of h to the kernel fluctuation, the offset
  derivative of Q1 computed with tensors tilted by f(., x_m), and the offset curvature of Q2
  (:func:`random_terms`);
- B_t = 2 Cov(Phi Z, Q_{2,1}) + Var Q_{1,1}, with Q_{1,1} the first-order kernel response and Q_{2,1} = (Q1 with
  tilted tensors) - (offset derivative of Q2); the eps^4 and higher orders of the same variance come from the
  flow's linear response at a given eps (:mod:`asymexp.numeric.linear_response`);
- B^N_t = 2 Cov(Phi Z, Q_{2,3}) + Var Q_{1,2} + 2 Cov_3(Phi Z, Q_{1,2}) (the last from the third cumulant of
  (Z, Z, kappa)), each reduced to c_t at unit targets, tilted Q1 and kernel responses.

Every number comes from the projected trapezoid rule refined towards a tolerance, with the a-posteriori error of
:mod:`asymexp.numeric.error_control`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from asymexp.activations import sigma_derivatives
from asymexp.errors import SpecError
from asymexp.numeric import hierarchy
from asymexp.numeric.derivative_tensors import expectation_tensors
from asymexp.numeric.error_control import Tolerance, difference_errors, first_kappa, refine
from asymexp.numeric.frozen import propagator
from asymexp.numeric import kernel_fluctuation as kf
from asymexp.numeric.quadrature import SampleSet
from asymexp.numeric.trapezoid_rule import trapezoid_samples, w_node_count

#: The default target of the random terms (c_t to 1e-3 relative needs far less; the rule is cheap).
DEFAULT_TOL = Tolerance(1e-8, 1e-6)
#: Time budget of the refinement (s).
MAX_SECONDS = 120.0


@dataclass(frozen=True)
class RandomTerms:
    """The random terms' predictions on the evaluation points at ``times``.

    Attributes:
        times: (T,); points: (P, d); h, V, Q2: (T, P) from the same rule.
        c: (T, P) the coefficient of 1/N in the mean; parts: {"kernel", "tilt", "offset"}, its three pieces.
        B: (T, P) the eps^2 coefficient of N^{2 gamma - 1} Var g (Var ~ N^{1-2gamma} (V + eps^2 B + BN / N)).
        BN: (T, P) the 1/N coefficient of the same.
        errors: per quantity, (T, P) estimated absolute errors.
        kappa, w_nodes: the rule; tolerance: as in :class:`asymexp.numeric.shallow_theory.ShallowTheory`.
        samples: the rule's nodes (for the flow); A: the kernel on them.
    """

    times: np.ndarray
    points: np.ndarray
    h: np.ndarray
    V: np.ndarray
    Q2: np.ndarray
    c: np.ndarray
    B: np.ndarray
    BN: np.ndarray
    parts: dict
    errors: dict
    kappa: float
    w_nodes: int
    tolerance: dict
    samples: SampleSet = field(repr=False, default=None)
    A: np.ndarray = field(repr=False, default=None)


def check_problem(problem) -> None:
    """The derivation assumes a symmetric law of c (E f = 0, odd tensors zero) and a normal law of w (the
    trapezoid rule); anything else is refused with the reason."""
    if not problem.c_law.is_symmetric:
        raise SpecError(f"the law of c is {problem.c_law}: the random terms are derived for a symmetric law of c only "
                        "(with E c^3 != 0 the odd terms eps Q1, N^{-gamma} and the eps-order variance correction "
                        "appear and are not derived)")
    if problem.w_law.kind != "normal":
        raise SpecError(f"the law of w is {problem.w_law}: the random terms use the projected trapezoid rule, "
                        "which needs a normal law of w")


def _tilted(samples: SampleSet, activation: str, point: np.ndarray) -> SampleSet:
    """The signed measure f(theta, x) mu_0(d theta) on the same nodes (docs/theory/7-random-terms.md, "Tilting")."""
    sig = sigma_derivatives(activation, samples.w @ point, 0)[0]
    return SampleSet(samples.c, samples.w, samples.weight * samples.c * sig, samples.kind, samples.order,
                     samples.c_nodes)


def _q(A, tens, y, alpha, times, order):
    """Q1 (order 1) or Q2 (order 2) for targets y; also the integration error."""
    q1, q2, err = hierarchy.corrections(A, tens, y, alpha, times, order, check_rtol=None)
    return (q1 if order == 1 else q2), err


def _unit(m: int, j: int) -> np.ndarray:
    e = np.zeros(m)
    e[j] = 1.0
    return e


def _shift_pieces(A, tens, tilts, y, alpha, times, roots):
    """The tilt and offset pieces of c_t for targets y (each linear in y), (T, P) each.
    roots: sqrt(lambda_k) v_k over the eigenpairs of S on the training points."""
    m = y.shape[0]
    q2 = _q(A, tens, y, alpha, times, 2)[0]
    offset = np.zeros_like(q2)
    for u in roots:      # Q2 is a cubic in y: the symmetric difference is its exact second-order part
        offset += 0.5 * (_q(A, tens, y + u, alpha, times, 2)[0] + _q(A, tens, y - u, alpha, times, 2)[0] - 2 * q2)
    tilt = np.zeros_like(q2)
    for j in range(m):   # Q1 is a quadratic in y: the central difference is its exact derivative
        e = _unit(m, j)
        tilt -= 0.5 * (_q(A, tilts[j], y + e, alpha, times, 1)[0] - _q(A, tilts[j], y - e, alpha, times, 1)[0])
    return tilt, offset


def _c_of(A, tens, tilts, dirs, y, alpha, times, roots):
    """c_t (T, P) for targets y: the kernel piece (second-order kernel response) plus the shift pieces."""
    return kf.responses(A, dirs, y, alpha, times)[1].sum(axis=0) + sum(_shift_pieces(A, tens, tilts, y, alpha,
                                                                                      times, roots))


def rule_values(problem, times: np.ndarray, samples: SampleSet) -> dict:
    """Every random-term quantity on one rule: values (T, P) keyed h, V, Q2, c, B, BN, kernel, tilt, offset; the
    ODE error; the limit kernel "A" and initial-output covariance "S" (P, P)."""
    act, alpha, y = problem.activation, problem.alpha, problem.y
    pts, m = problem.points, problem.x.shape[0]
    p = pts.shape[0]
    tens = expectation_tensors(act, samples, pts, m, 2)
    A, S = tens.A, tens.S
    q1, q2, ode_err = hierarchy.corrections(A, tens, y, alpha, times, 2)
    lam, vec = np.linalg.eigh(0.5 * (S[:m, :m] + S[:m, :m].T))
    roots = [np.sqrt(max(lam[k], 0.0)) * vec[:, k] for k in range(m)]
    tilts = [expectation_tensors(act, _tilted(samples, act, pts[j]), pts, m, 1) for j in range(p)]
    dirs = kf.directions(kf.kernel_covariance(act, samples, pts, m))
    r1, r2 = kf.responses(A, dirs, y, alpha, times)
    kernel, var_k = r2.sum(axis=0), (r1 ** 2).sum(axis=0)
    tilt, offset = _shift_pieces(A, tens, tilts, y, alpha, times, roots)
    dq2 = np.empty((m,) + q2.shape)
    for j in range(m):   # d Q2 / d y_j: the five-point stencil is exact for a cubic
        f = {s: _q(A, tens, y + s * _unit(m, j), alpha, times, 2)[0] for s in (-2, -1, 1, 2)}
        dq2[j] = (8.0 * (f[1] - f[-1]) - (f[2] - f[-2])) / 12.0
    tq1 = np.stack([_q(A, tilts[j], y, alpha, times, 1)[0] for j in range(p)])                # (P, T, P)
    # the 1/N variance term: c for unit targets (c is linear in y), the tilted Q1 on the roots of S, the kernel
    # response with shifted targets, and the third cumulant of (Z, Z, kappa)
    c_unit = np.stack([_c_of(A, tens, tilts, dirs, _unit(m, a), alpha, times, roots) for a in range(m)])
    tq1_roots = np.stack([sum(_q(A, tilts[j], u, alpha, times, 1)[0] for u in roots) for j in range(p)])
    var_q12 = sum((kf.responses(A, dirs, u, alpha, times)[0] ** 2).sum(axis=0) for u in roots)
    units = np.stack([np.eye(p * m)[j].reshape(p, m) for j in range(p * m)])
    r_unit = np.stack([kf.responses(A, units, _unit(m, a), alpha, times)[0] for a in range(m)])   # (M, PM, T, P)
    k3 = kf.kernel_third_moment(act, samples, pts, m).reshape(p, m, p * m)                       # [q, a, j]
    B, BN, V = (np.empty_like(q2) for _ in range(3))
    for i, t in enumerate(times):
        phi = propagator(A, m, alpha, float(t))
        V[i] = np.einsum("pq,qr,pr->p", phi, S, phi)
        cov_z = phi @ S[:, :m]                                                    # Cov(Phi Z, Z_j)
        B[i] = (-2.0 * np.einsum("pj,jp->p", cov_z, dq2[:, i, :]) + 2.0 * np.einsum("pq,qp->p", phi, tq1[:, i, :])
                + var_k[i])
        cov_23 = -np.einsum("xa,ax->x", cov_z, c_unit[:, i, :]) + np.einsum("xq,qx->x", phi, tq1_roots[:, i, :])
        cov_12 = -np.einsum("xq,qaj,ajx->x", phi, k3, r_unit[:, :, i, :])
        BN[i] = 2.0 * cov_23 + var_q12[i] + 2.0 * cov_12
    h = hierarchy.leading_term(A, y, alpha, times)
    return {"values": {"h": h, "V": V, "Q2": q2, "c": kernel + tilt + offset, "B": B, "BN": BN, "kernel": kernel,
                       "tilt": tilt, "offset": offset}, "ode": ode_err, "A": A, "S": S}


def random_terms(problem, times, tol: Tolerance | None = None, max_seconds: float = MAX_SECONDS) -> RandomTerms:
    """c_t (the 1/N mean term) and B_t (the eps^2 variance term) with error estimates, for gradient flow.

    Args:
        problem: a Problem with a symmetric law of c and a normal law of w (else SpecError);
        times: scalar or (T,) >= 0; tol: the refinement target (default 1e-8 absolute, 1e-6 relative).
    Returns:
        :class:`RandomTerms`; arrays (T, P) on problem.points (training points, then probes).
    """
    check_problem(problem)
    times = hierarchy.check_times(times)
    tol = tol or DEFAULT_TOL
    pts = problem.points

    def evaluate(kappa):
        samples = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, pts, kappa)
        out = rule_values(problem, times, samples)
        extra = {k: out["ode"] for k in ("Q2", "c", "B", "BN", "offset", "tilt")}
        return (out, samples), out["values"], extra

    ref = refine(evaluate, lambda k: w_node_count(problem.activation, problem.w_law, pts, k), tol,
                 first_kappa(tol), max_seconds=max_seconds)
    (out, samples), vals = ref.value, ref.value[0]["values"]
    tolerance = {"abs": tol.abs, "rel": tol.rel, "met": bool(ref.met), "reason": ref.reason,
                 "worst": tol.worst(vals, ref.errors)}
    return RandomTerms(times=times, points=pts, h=vals["h"], V=vals["V"], Q2=vals["Q2"], c=vals["c"], B=vals["B"],
                       BN=vals["BN"], parts={k: vals[k] for k in ("kernel", "tilt", "offset")}, errors=ref.errors,
                       kappa=ref.kappa, w_nodes=ref.w_nodes, tolerance=tolerance, samples=samples, A=out["A"])


def mirror_fold(activation: str, samples: SampleSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(c, w, weight) of the nodes, one node kept per mirror pair (theta, -theta) with the pair's weight, when
    sigma is odd and the rule maps to itself under theta -> -theta with equal weights; else the nodes as they are.

    For odd sigma the node flow commutes with theta -> -theta and the two nodes of a pair add the same term
    c sigma(w . x) to g, so the flow of the kept half gives the same D_t(eps) (docs/theory/7-random-terms.md,
    "The deterministic part"), at half the work. c (K',), w (K', d), weight (K',)."""
    from asymexp.activations import get

    c, w, weight = samples.c, samples.w, samples.weight
    if get(activation).parity.of(0) != -1:
        return c, w, weight
    z = np.column_stack([c, w])
    order, flipped = np.lexsort(z.T[::-1]), np.lexsort(-z.T[::-1])
    if not np.array_equal(z[order], -z[flipped]):
        return c, w, weight
    mirror = np.empty(len(c), dtype=np.int64)
    mirror[order] = flipped                      # node mirror[j] is node j negated
    if not np.array_equal(weight, weight[mirror]):
        return c, w, weight
    index = np.arange(len(c))
    keep = index <= mirror                       # the first node of each pair, and nodes equal to their mirror
    pair = index < mirror
    return c[keep], w[keep], np.where(pair, 2.0 * weight, weight)[keep]


def node_field(problem, om: np.ndarray, eps: float, k: int):
    """The velocity field of K nodes of weights om (K,) at this eps, on the flat state z = (c (K,), w (K, d)):
    (rhs(t, z) -> dz/dt, output(z, at (P, d)) -> g (P,)). d theta_k/dt = eps (alpha/M) sum_m r_m gf(theta_k, x_m),
    g = eps^{-1} sum_k om_k f(theta_k, .), r = y - g on the training points (docs/theory/7-random-terms.md)."""
    x, y, alpha = problem.x, problem.y, problem.alpha
    m, d = x.shape

    def output(z, at):
        c, w = z[:k], z[k:].reshape(k, d)
        return (om * c) @ sigma_derivatives(problem.activation, w @ at.T, 0)[0] / eps

    def rhs(t, z):
        # einsum, not @: the (K, d) x (d, M) products have tiny inner sizes, where a threaded BLAS on a loaded
        # machine is up to 6x slower than one pass (measured on tanh4.toml, K = 4e5, 2 cores, load average 9;
        # unloaded the two are as fast); the same sums, the rounding order aside
        c, w = z[:k], z[k:].reshape(k, d)
        s0, s1 = sigma_derivatives(problem.activation, np.einsum("kd,md->km", w, x), 1)
        r = y - np.einsum("k,km->m", om * c, s0) / eps
        rate = eps * alpha / m
        out = np.empty_like(z)
        np.einsum("km,m->k", s0, rate * r, out=out[:k])
        out[k:].reshape(k, d)[:] = np.einsum("km,md->kd", s1, r[:, None] * x) * (rate * c)[:, None]
        return out

    return rhs, output


def deterministic_flow(problem, samples: SampleSet, eps: float, times, rtol: float = 1e-13,
                       fold: bool = True) -> np.ndarray:
    """D_t(eps) = G(mu_0) at this eps: the mean-field flow of the quadrature nodes, every deterministic order
    (h + eps^2 Q2 + eps^4 Q4 + ...) at once. (T, P).

    Each node theta_k = (c_k, w_k) of weight omega_k moves by :func:`node_field` (DOP853 at ``rtol``).
    ``fold``: flow one node of each mirror pair when sigma is odd (:func:`mirror_fold`)."""
    if not 0.0 < eps <= 1.0:
        raise SpecError(f"eps = {eps}; 0 < eps <= 1 is required")
    times = hierarchy.check_times(times)
    pts = problem.points
    c_nodes, w_nodes, om = (mirror_fold(problem.activation, samples) if fold
                            else (samples.c, samples.w, samples.weight))
    k = len(c_nodes)
    rhs, output = node_field(problem, om, eps, k)
    z0 = np.concatenate([c_nodes, w_nodes.ravel()])
    grid = np.sort(np.unique(times))
    out = np.empty((len(times), pts.shape[0]))
    if grid[-1] == 0.0:
        states = np.repeat(z0[:, None], len(grid), axis=1)
    else:
        sol = solve_ivp(rhs, (0.0, float(grid[-1])), z0, method="DOP853", t_eval=grid, rtol=rtol, atol=rtol * 1e-2)
        if not sol.success:
            raise FloatingPointError(f"the deterministic flow failed: {sol.message}")
        states = sol.y
    for i, t in enumerate(times):
        out[i] = output(states[:, int(np.searchsorted(grid, t))], pts)
    return out


def euler_map(problem, samples: SampleSet, eps: float, steps: int, h: float, fold: bool = True) -> np.ndarray:
    """G^h(mu_0): the nodes after ``steps`` explicit Euler steps of size h of :func:`node_field` (full-batch GD's
    map of every unit, docs/theory/7-random-terms.md, "Full-batch GD"), the output at the points (P,)."""
    if not 0.0 < eps <= 1.0:
        raise SpecError(f"eps = {eps}; 0 < eps <= 1 is required")
    c_nodes, w_nodes, om = (mirror_fold(problem.activation, samples) if fold
                            else (samples.c, samples.w, samples.weight))
    k = len(c_nodes)
    rhs, output = node_field(problem, om, eps, k)
    z = np.concatenate([c_nodes, w_nodes.ravel()])
    for _ in range(int(steps)):
        z = z + h * rhs(0.0, z)
    return output(z, problem.points)


def deterministic_part(problem, terms: RandomTerms, eps_values):
    """D_t(eps) = h + eps^2 Q2 + (eps^4 Q4 + ...) with an error estimate, for each eps: (D, error), each
    (E, T, P) for E values of eps.

    h and Q2 come from ``terms`` (its refined rule, design exponent kappa >= 25); the remainder, of order eps^4,
    from the node flow on the same rule, its error twice the difference from the previous rule (kappa / STEP;
    error_control; that rule's h and Q2 are computed once), plus the errors of h and eps^2 Q2. (On rules below
    kappa ~ 25 the remainder's differences do not bound its error: measured at kappa 15 against 12, and 18 against
    14.4, on tanh4.toml.)"""
    from asymexp.numeric.error_control import STEP

    pts, m, times = problem.points, problem.x.shape[0], terms.times
    coarse = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, pts, terms.kappa / STEP)
    tens = expectation_tensors(problem.activation, coarse, pts, m, 2)
    q2_c = hierarchy.corrections(tens.A, tens, problem.y, problem.alpha, times, 2, check_rtol=None)[1]
    h_c = hierarchy.leading_term(tens.A, problem.y, problem.alpha, times)
    values, errors = [], []
    for eps in eps_values:
        fine = deterministic_flow(problem, terms.samples, eps, times) - terms.h - eps ** 2 * terms.Q2
        rough = deterministic_flow(problem, coarse, eps, times) - h_c - eps ** 2 * q2_c
        err = difference_errors({"R": fine}, {"R": rough})["R"]
        values.append(terms.h + eps ** 2 * terms.Q2 + fine)
        errors.append(err + terms.errors["h"] + eps ** 2 * terms.errors["Q2"])
    return np.array(values), np.array(errors)
