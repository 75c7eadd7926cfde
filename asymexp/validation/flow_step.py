"""The RK4 step of ``--dynamics flow``, chosen from the accuracy needed (docs/validation.md, "Flow step").

Near initialization the training residual r = y - g on the M training points obeys dr/dt = -alpha K r in time
units t = k/N, with K = A[:M, :M] / M the limit tangent kernel of :mod:`asymexp.numeric.frozen`; a finite-N
network's kernel differs from A by its fluctuation and moves by O(eps), which perturbs the rates but not the
time scale, so the step does not depend on N. One RK4 step h multiplies the eigenmode of rate mu = alpha lam
by R(-mu h), R(z) = 1 + z + z^2/2 + z^3/6 + z^4/24, where the flow multiplies it by exp(-mu h); after n = t/h
steps its relative error is |R(-mu h)^n - exp(-mu t)| <= t mu^5 h^4 / 120 (:func:`relative_error` computes it
exactly). The error of every output is that relative error times the training residual it is driven by.

Rule (:func:`choose_step`): the largest h = t/n whose exact error, for every rate up to SAFETY = 2 times the
limit kernel's largest (room for the finite-N fluctuation of the kernel), is at most REL_TOL = 1e-10, and with
SAFETY mu h <= 1/2 for every rate (far inside RK4's stability interval, for long times). That is
far below the Monte Carlo SEs this toolkit reaches (3e-8 on the mean, 1e-4 relative on r(N), at N = 32768
with 1024 replicas in docs/validation.md), and it is the same for every width.
"""
from __future__ import annotations

import math

import numpy as np

REL_TOL = 1e-10
SAFETY = 2.0
#: Largest mu h allowed whatever the time (RK4 is stable to 2.78; long runs must not approach that edge).
MAX_STEP_RATE = 0.5


def rk4_factor(z: np.ndarray) -> np.ndarray:
    """R(z) = 1 + z + z^2/2 + z^3/6 + z^4/24: one classical RK4 step of y' = (z/h) y."""
    return 1.0 + z * (1.0 + z * (0.5 + z * (1.0 / 6.0 + z / 24.0)))


def relative_error(rates, t: float, n: int) -> float:
    """max over the rates mu (1/time unit) of |R(-mu t/n)^n - exp(-mu t)|: the relative error of n RK4 steps
    to time t on the linear flow with those rates (0 at t = 0)."""
    mu = np.asarray(rates, dtype=np.float64).ravel()
    if t <= 0 or mu.size == 0:
        return 0.0
    n = int(n)
    z = -mu * (t / n)
    with np.errstate(over="ignore", invalid="ignore"):
        err = np.abs(rk4_factor(z) ** n - np.exp(-mu * t))
    return float(np.max(np.where(np.isnan(err), np.inf, err)))


def kernel_rates(A: np.ndarray, n_train: int, alpha: float) -> np.ndarray:
    """(M,) rates mu = alpha * eigenvalues of K = A[:M, :M] / M (1/time unit, clipped at 0)."""
    K = np.asarray(A, dtype=np.float64)[:n_train, :n_train] / n_train
    return np.clip(alpha * np.linalg.eigvalsh(0.5 * (K + K.T)), 0.0, None)


def covering_rates(rates, safety: float = SAFETY) -> np.ndarray:
    """The rates the bound covers: every mu in (0, safety * max rate] (257 grid points) and the rates and their
    ``safety`` multiples themselves. The error of a mode peaks at mu ~ 5/t, so a slower kernel can be worse than
    a faster one; the bound holds for any kernel whose rates stay below ``safety`` times the largest."""
    mu = np.asarray(rates, dtype=np.float64).ravel()
    top = float(mu.max()) if mu.size else 0.0
    return np.concatenate([np.linspace(0.0, safety * top, 257)[1:], mu, safety * mu])


def choose_step(rates, t: float, tol: float = REL_TOL, safety: float = SAFETY) -> dict:
    """The default step for the flow to time t with these rates (see the module docstring).

    Returns {"flow_dt" (h = t/n, or None at t = 0), "steps" (n), "relative_error" (exact, limit kernel),
    "relative_error_bound" (exact, every rate up to safety x the largest: :func:`covering_rates`; at most tol),
    "largest_rate", "rule"}."""
    mu = np.asarray(rates, dtype=np.float64).ravel()
    top = float(mu.max()) if mu.size else 0.0
    out = {"largest_rate": top, "tolerance": tol, "safety": safety,
           "rule": f"largest h = t/n whose RK4 error on the frozen-kernel flow, for rates up to {safety:g}x the "
                   f"largest, is <= {tol:g} relative to the training residual (independent of N)"}
    if t <= 0 or top == 0:
        return dict(out, flow_dt=None if t <= 0 else float(t), steps=0 if t <= 0 else 1, relative_error=0.0,
                    relative_error_bound=0.0)
    fast = covering_rates(mu, safety)
    h = (120.0 * tol / (t * (safety * top) ** 5)) ** 0.25
    guess = t / h
    n = _smallest_n(lambda k: relative_error(fast, t, k) <= tol and safety * top * t / k <= MAX_STEP_RATE,
                    max(1, math.ceil(guess - 1e-9)) if guess < MAX_STEPS else MAX_STEPS)
    return dict(out, flow_dt=t / n, steps=n, relative_error=relative_error(mu, t, n),
                relative_error_bound=relative_error(fast, t, n))


#: The most flow steps a step choice returns (a time that needs more is priced, and refused, by its cost).
MAX_STEPS = 10 ** 15


def _smallest_n(ok, guess: int, cap: int = MAX_STEPS) -> int:
    """The smallest n >= 1 with ok(n), for ok monotone in n, searched from ``guess`` (the t mu^5 h^4 / 120
    bound's n, within a small factor of the answer) by doubling or halving, then bisection; at most ``cap``."""
    lo, hi = 0, guess
    while not ok(hi) and hi < cap:
        lo, hi = hi, min(cap, 2 * hi)
    while lo == 0 and hi > 1 and ok(hi // 2):
        hi //= 2
    lo = max(lo, hi // 2 if hi > 1 else 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def step_report(rates, t: float, flow_dt: float | None, chosen: bool, residual_scale: float) -> dict:
    """What the validation document states about the step: the step, its number, the exact relative error on
    the limit kernel and the bound with rates x SAFETY, and their product with ``residual_scale`` (a bound on
    abs(y - g_0) over the training points): the estimated error of each output."""
    if chosen:
        rep = choose_step(rates, t)
    else:
        n = max(1, math.ceil(t / flow_dt - 1e-9)) if t > 0 else 0
        mu = np.asarray(rates, dtype=np.float64)
        rep = {"flow_dt": t / n if n else flow_dt, "steps": n, "largest_rate": float(mu.max()),
               "relative_error": relative_error(mu, t, n) if n else 0.0,
               "relative_error_bound": relative_error(covering_rates(mu), t, n) if n else 0.0,
               "rule": "given by --flow-dt (rounded to t/n)"}
    rep["chosen_by"] = "default rule" if chosen else "given by --flow-dt"
    rep["output_error"] = rep["relative_error"] * residual_scale
    rep["output_error_bound"] = rep["relative_error_bound"] * residual_scale
    return rep


_RATES: dict = {}


def problem_rates(problem, quad_order: int | None = None, A=None) -> np.ndarray:
    """:func:`kernel_rates` of the problem's limit kernel (:func:`asymexp.numeric.problem_kernel.frozen_kernel`, the
    theory layer's A; pass ``A`` when it is at hand to skip the quadrature), cached per problem and order."""
    from asymexp import provenance
    from asymexp.numeric.problem_kernel import frozen_kernel

    key = (provenance.problem_key(problem), quad_order, provenance.code_version())
    if key not in _RATES:
        A = frozen_kernel(problem, quad_order).A if A is None else A
        _RATES[key] = kernel_rates(A, problem.n_train, problem.alpha)
    return _RATES[key]


def resolve(problem, t: float, flow_dt, quad_order: int | None = None, A=None) -> tuple[float | None, bool]:
    """(the step to use, whether the default rule chose it): ``flow_dt`` when given, else :func:`choose_step`
    on the problem's kernel (``A``: see :func:`problem_rates`)."""
    if flow_dt is not None:
        return float(flow_dt), False
    return choose_step(problem_rates(problem, quad_order, A), float(t))["flow_dt"], True


def spec_step(spec, x_train, t: float, alpha: float = 1.0) -> dict:
    """:func:`choose_step` for a network ``spec`` (:class:`asymexp.spec.NetworkSpec`, numeric gammas, any depth;
    with widths, the finite-width collapse factors) trained on ``x_train`` (M, d) to time t: the rates are those
    of the frozen limit kernel on the training points (:func:`asymexp.numeric.deep_theory.deep_frozen_kernel`).
    Used where no problem file is at hand (the Python API's ``simulate``, the deep validation)."""
    from asymexp.numeric.deep_theory import deep_frozen_kernel

    x = np.asarray(x_train, dtype=np.float64)
    A = deep_frozen_kernel(spec, x).A
    return choose_step(kernel_rates(A, x.shape[0], alpha), float(t))
