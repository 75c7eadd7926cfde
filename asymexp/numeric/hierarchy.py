"""Solving the shallow hierarchy on the evaluation points (docs/theory/3-shallow-expansion.md to
5-verified-formulas.md).

Points are ordered training points (M of them, data weights 1/M) then probes. Every term solves

    dQ/dt(x_p) = -(alpha/M) sum_m A[p,m] Q(x_m) + source_p(t),     Q(0) = 0,

so the training values evolve on their own and a probe's value is driven by the training values.

- h (= Q_{0,0}, source (alpha/M) A[p,:M] y) in closed form with K = A[:M,:M]/M = U diag(lam) U^T:
  h_t = (A[:, :M]/M) F_t y with F_t = U diag((1 - exp(-alpha t lam))/lam) U^T.
- Q_{0,1} (homogeneous, random start Q_0 ~ N(0, S)): Q_t = Phi_t Q_0 with Phi_t = I - (A[:, :M]/M) F_t E_M,
  where E_M keeps the training coordinates (probe columns of Phi_t are the identity); V_t = diag(Phi_t S Phi_t^T).
  On the training points Phi_t = exp(-alpha t K), i.e. V_t = diag(e^{-alpha t P} S e^{-alpha t P^T}).
- Q_{1,0}, Q_{2,0}: time-dependent sources (section 5) integrated with the explicit 8th-order Dormand-Prince
  scheme (scipy DOP853) at rtol 1e-12 together with C_mn(t) and int Q1; r_t and R_t enter in closed form. The
  reported ``ode_error`` is the largest difference from a second solve at rtol 1e-9 (a conservative bound on
  the error of the tight solve). For the time scales of the shallow problems (alpha t lam = O(1)) the system is
  not stiff.
"""
from __future__ import annotations

import numpy as np

from asymexp import budget
from asymexp.errors import SpecError
from asymexp.numeric.frozen import Eigen, leading_term, propagator  # noqa: F401 (leading_term re-exported)


def check_times(times) -> np.ndarray:
    """Validate the times: a non-empty 1-d array of finite numbers >= 0."""
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise SpecError(f"times = {np.asarray(times).tolist()!r}; finite numbers >= 0 are required")
    return t


def variance_constant(A: np.ndarray, S: np.ndarray, m: int, alpha: float, times: np.ndarray) -> np.ndarray:
    """V_t = diag(Phi_t S Phi_t^T) at every point: (T, P)."""
    out = np.empty((len(times), A.shape[0]))
    for i, t in enumerate(times):
        phi = propagator(A, m, alpha, t)
        out[i] = np.einsum("pq,qr,pr->p", phi, S, phi)
    return out


def _residuals(eig: Eigen, y: np.ndarray, alpha: float, t: float):
    """r_t = y - h_t = exp(-alpha t K) y and R_t = int_0^t r_s ds on the training points."""
    return eig.apply(eig.decay(alpha, t), y), eig.apply(eig.integral(alpha, t), y)


def correction_sources(tens, m: int):
    """The fixed tensors of the Q1/Q2 sources built from :class:`ExpectationTensors` (section 5).

    T1[p,m,n] = G1[m,p,n] + G1[p,m,n]  (B1_t[p,m] = (alpha/M) sum_n R_n T1[p,m,n]),
    Tq[p,m,a,b] = Ta[p,m,a,b] + (G2c[p,m,a,b] + G2c[m,p,a,b])/2   (the delta1-delta1 part of B2),
    Tb[p,m,a,b] = G2b[p,m,a,b] + G2b[m,p,a,b]                     (the C_ab part of delta2).
    """
    g1 = tens.G1
    t1 = g1[:, :m, :] + np.transpose(g1[:m, :, :], (1, 0, 2))
    out = {"T1": t1}
    if tens.Ta is not None:
        g2c = tens.G2c
        out["Tq"] = tens.Ta[:, :m] + 0.5 * (g2c[:, :m] + np.transpose(g2c[:m, :], (1, 0, 2, 3)))
        out["Tb"] = tens.G2b[:, :m] + np.transpose(tens.G2b[:m, :], (1, 0, 2, 3))
    return out


def corrections(A: np.ndarray, tens, y: np.ndarray, alpha: float, times: np.ndarray, order: int = 2,
                rtol: float = 1e-12, check_rtol: float | None = 1e-9, long_run_ok: bool = False):
    """Q_{1,0} and Q_{2,0} at every point; the integration is priced first (:func:`asymexp.budget.time_integration`:
    its steps grow like alpha lam_max t) and refused above a day unless ``long_run_ok`` (``--yes-long-run``).

    Args:
        A: (P, P) kernel; tens: :class:`ExpectationTensors` with order >= ``order``; y: (M,); times: (T,).
    Returns:
        (Q1 (T, P), Q2 (T, P) or None, ode_error float: max |difference| from the check solve, 0 if none).
    """
    from scipy.integrate import solve_ivp

    m, p = y.shape[0], A.shape[0]
    eig = Eigen.of(A, m)
    src = correction_sources(tens, m)
    t1 = src["T1"]
    a_pm = alpha * A[:, :m] / m
    k = alpha / m
    n_c = m * m

    def rhs(t, z):
        r, big_r = _residuals(eig, y, alpha, t)
        c_mat = z[:n_c].reshape(m, m)
        q1 = z[n_c:n_c + p]
        iq1 = z[n_c + p:n_c + p + m]
        b1 = k * np.einsum("pmn,n->pm", t1, big_r)
        dz = np.empty_like(z)
        dz[:n_c] = np.outer(r, big_r).ravel()
        dz[n_c:n_c + p] = -a_pm @ q1[:m] + k * b1 @ r
        dz[n_c + p:n_c + p + m] = q1[:m]
        if order >= 2:
            q2 = z[n_c + p + m:]
            b2 = (k * k * (np.einsum("pmab,a,b->pm", src["Tq"], big_r, big_r)
                           + np.einsum("pmab,ab->pm", src["Tb"], c_mat))
                  - k * np.einsum("pma,a->pm", t1, iq1))
            dz[n_c + p + m:] = -a_pm @ q2[:m] + k * b2 @ r - k * b1 @ q1[:m]
        return dz

    size = n_c + p + m + (p if order >= 2 else 0)
    t_end = float(np.max(times))
    rate_time = alpha * float(np.max(eig.lam, initial=0.0)) * t_end
    budget.check(budget.time_integration(rate_time, p, m, order, what=f"the Q1/Q2 integration to t = {t_end:g} "
                                         f"(alpha lam_max t = {rate_time:.3g})"), long_run_ok, prog="asymexp theory")

    def solve(tol):
        if t_end == 0.0:
            return np.zeros((size, len(times)))
        sol = solve_ivp(rhs, (0.0, t_end), np.zeros(size), method="DOP853", t_eval=np.sort(np.unique(times)),
                        rtol=tol, atol=tol * 1e-2, dense_output=False)
        if not sol.success:
            raise FloatingPointError(f"the Q1/Q2 integration failed: {sol.message}")
        lookup = {t: i for i, t in enumerate(sol.t)}
        return sol.y[:, [lookup[t] for t in times]]

    z = solve(rtol)
    err = float(np.max(np.abs(solve(check_rtol) - z))) if check_rtol else 0.0
    q1 = z[n_c:n_c + p].T
    q2 = z[n_c + p + m:].T if order >= 2 else None
    return q1, q2, err
