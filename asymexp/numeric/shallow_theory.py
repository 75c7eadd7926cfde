"""The numeric theory of the shallow network f = c sigma(w . x) (docs/theory/3-shallow-expansion.md to
5-verified-formulas.md).

:func:`shallow_theory` evaluates the kernels and derivative-tensor expectations over mu_0 and solves the hierarchy
on the training points and probes: h (= Q_{0,0}), the variance constant V_t, Q_{1,0} and Q_{2,0}. None of these
depends on gamma; the caller combines them as E g ~ h + eps Q1 + eps^2 Q2 and Var g ~ N^{1 - 2 gamma} V with
eps = N^{gamma - 1}. For a normal law of w the expectations use the projected trapezoid rule
(:mod:`asymexp.numeric.trapezoid_rule`), refined towards a tolerance (:mod:`asymexp.numeric.error_control`); every
entry carries an error estimate (docs/theory-layer.md, "Error estimates").
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np

from asymexp.activations import get as get_activation
from asymexp.errors import SpecError
from asymexp.spec import Law, parse_gammas
from asymexp.numeric import hierarchy
from asymexp.numeric.quadrature import (KERNEL_MAX_NODES_PER_DIM, KERNEL_NODE_BUDGET, SampleSet, default_order,
                                      monte_carlo_samples, quadrature_dimension, quadrature_samples)
from asymexp.numeric.derivative_tensors import ExpectationTensors, expectation_tensors
from asymexp.numeric.error_control import (MAX_SECONDS, MAX_W_NODES, Tolerance, difference_errors, first_kappa,
                                           refine)
from asymexp.numeric.trapezoid_rule import trapezoid_samples, w_node_count

METHODS = ("quadrature", "monte-carlo")
DEFAULT_MC_SAMPLES = 200_000
MC_BATCHES = 10


@dataclass(frozen=True)
class ShallowTheory:
    """The theory quantities on the evaluation points.

    Attributes:
        points: (P, d), the M training points then the probes; times: (T,).
        h, V: (T, P) leading term and variance constant; Q1, Q2: (T, P), or None when ``order`` < 1 / < 2.
        kernel_error: estimated absolute error of A and S (quadrature: max difference between two orders;
            Monte Carlo: the largest standard error of an entry).
        method: "quadrature" or "monte-carlo" (what was actually used).
        q1_vanishes, q1_reason: whether Q_{1,0} vanishes identically for these laws and sigma, and why.
        gamma: the gamma asked for (only the regime depends on it); regime: "ntk-gaussian" (gamma = 1/2),
            "mean-field" (gamma = 1) or "expansion".
        theory_error: estimated absolute error of h, V, Q1, Q2 (max over points and times): quadrature, the
            difference between two orders; Monte Carlo, the standard error from batch means.
        ode_error: estimated integration error of Q1, Q2; A, S: (P, P) kernel and covariance; mean_f: (P,) E f.
        notes: plain-language remarks (ends of the gamma range, a non-zero initial mean, a fallback).
        Q3: (T, P) Q_{3,0} from the symbolic layer's contractions when ``order`` = 3, else None.
        errors: per quantity (h, V, Q1, Q2, Q3: (T, P); A, S: (P, P)) the estimated absolute error of every entry
            (docs/theory-layer.md, "Error estimates"); ``theory_error`` and ``kernel_error`` are their maxima.
        tolerance: {"abs", "rel", "met", "reason", "worst"} (worst: per quantity max error / (abs + rel |value|));
            met is None (and abs, rel None) for a fixed rule or Monte Carlo run without a ``tol``.
        rule: "trapezoid" (projected trapezoid rule, design exponent ``kappa``), "gauss-hermite",
            "gauss-legendre" or "monte-carlo"; w_nodes: w-nodes of the rule that gave the values.
        c: (T, P) the 1/N mean term c_t under gradient flow, or None (the default; see :meth:`mean`).
    """

    points: np.ndarray
    times: np.ndarray
    h: np.ndarray
    V: np.ndarray
    Q1: np.ndarray | None
    Q2: np.ndarray | None
    kernel_error: float
    method: str
    q1_vanishes: bool
    q1_reason: str
    gamma: Fraction | None = None
    regime: str = "expansion"
    theory_error: dict = field(default_factory=dict)
    ode_error: float = 0.0
    A: np.ndarray | None = None
    S: np.ndarray | None = None
    mean_f: np.ndarray | None = None
    notes: tuple = ()
    Q3: np.ndarray | None = None
    errors: dict = field(default_factory=dict)
    tolerance: dict = field(default_factory=dict)
    rule: str = ""
    w_nodes: int = 0
    kappa: float | None = None
    c: np.ndarray | None = None

    def mean(self, width: int) -> np.ndarray:
        """The predicted E g^N_t = h + eps Q1 + eps^2 Q2 (+ eps^3 Q3) + c_t / N, each term where available,
        eps = N^{gamma - 1}: (T, P). c_t (gradient flow, symmetric law of c; docs/theory/7-random-terms.md) costs the
        random terms' own rule, so :func:`shallow_theory` leaves it None; :func:`asymexp.numeric.mean_field_terms.
        with_inverse_n` attaches it. At gamma = 1 the sum is not the mean (``regime``; section 7, "gamma = 1")."""
        eps = float(width) ** (float(self.gamma) - 1.0)
        out = self.h.copy()
        for k, q in ((1, self.Q1), (2, self.Q2), (3, self.Q3)):
            if q is not None:
                out = out + eps**k * q
        if self.c is not None:
            out = out + self.c / float(width)
        return out

    def variance(self, width: int) -> np.ndarray:
        """The predicted leading Var g^N_t = N^{1 - 2 gamma} V_t: (T, P)."""
        return float(width) ** (1.0 - 2.0 * float(self.gamma)) * self.V


def q1_vanishing(c_law: Law, w_law: Law, activation: str) -> tuple[bool, str]:
    """Whether Q_{1,0} vanishes identically, by the odd-moment and parity arguments of
    docs/theory/5-verified-formulas.md.

    B1 is a sum of terms E[c] E_w[sigma(u_q) sigma'(u_p) sigma'(u_n)] (x_p . x_n) (and its transpose) and
    E[c^3] E_w[sigma'(u_q) sigma''(u_p) sigma'(u_n)] (x_q . x_p)(x_p . x_n). The second is odd under w -> -w for
    both activations (sigma' even, sigma'' odd); the first is odd only when sigma is odd (tanh, not the logistic).
    """
    if c_law.is_symmetric:
        return True, "the law of c is symmetric: every term of B1 is odd in c (E[c] = E[c^3] = 0)"
    mean_c = c_law.moment(1)
    if not w_law.is_symmetric:
        return False, (f"the law of c ({c_law}) is not symmetric and w ~ {w_law} has non-zero mean, so the parity "
                       "argument w -> -w does not apply")
    parity = get_activation(activation).parity            # the registry's parity fact
    c1_odd, c3_odd = parity.odd_product((0, 1, 1)), parity.odd_product((1, 2, 1))
    if c1_odd and c3_odd:
        return True, (f"w -> -w parity: w's law is symmetric and with sigma = {activation} odd, sigma' even, sigma'' "
                      "odd every term of B1 is odd in w")
    if mean_c == 0 and c3_odd:
        return True, ("E[c] = 0 removes the c^1 terms of B1; the c^3 term E[sigma' sigma'' sigma'] is odd in w "
                      "(w's law is symmetric)")
    if c3_odd:
        return False, (f"sigma' is even but the {activation} sigma is not odd: with E[c] = {mean_c} the term "
                       "E[c] E[sigma(w.x_q) sigma'(w.x_p) sigma'(w.x_n)] (x_p . x_n) survives w -> -w, so the parity "
                       "claim of docs/theory/5-verified-formulas.md needs E[c] = 0 here")
    return False, (f"{activation}: {parity.text}; the c^3 term E[c^3] E[sigma' sigma'' sigma'] of B1 is not odd in "
                   f"w, so with the law of c ({c_law}) not symmetric the parity argument does not apply")


def regime_of(gamma) -> tuple[Fraction | None, str, str]:
    """(gamma as a Fraction, regime name, a note on what the regime means); validates gamma in [1/2, 1]."""
    if gamma is None:
        return None, "expansion", ""
    (g,) = parse_gammas([gamma], numeric=True)
    if g == Fraction(1, 2):
        return g, "ntk-gaussian", ("gamma = 1/2: the limit is random (Gaussian initial term of order 1); Var g -> V_t "
                                   "without decay and the mean error is O(1/N). h is the limit's mean; eps = 1/sqrt(N) "
                                   "but h + eps Q1 + eps^2 Q2 is not the expansion of E g here.")
    if g == 1:
        return g, "mean-field", ("gamma = 1: mean-field scaling, eps = 1. The mean tends to the mean-field limit, not "
                                 "to h, with N^{-1/2} fluctuations; h, V, Q1, Q2 are printed but are not an expansion.")
    return g, "expansion", ""


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise SpecError(f"method = {method!r}; allowed: {', '.join(METHODS)}")


def _tensor_sets(problem, method: str, order: int, n_samples, seed: int, quad_order=None):
    """Returns (list of ExpectationTensors, method used, note). Quadrature: [high order, lower order];
    Monte Carlo: one tensor set per batch (equal sizes).

    Without ``quad_order``, A, S and E f come from a separate, larger order-0 rule (KERNEL_NODE_BUDGET) and the
    derivative tensors from the NODE_BUDGET rule; with ``quad_order`` one rule serves everything (one discrete
    measure, as the consistency tests need)."""
    pts = problem.points
    m = problem.x.shape[0]
    if method == "quadrature":
        n_hi = quad_order or default_order(problem.w_law, pts)
        if n_hi is not None:
            n_lo = max(4, int(round(0.75 * n_hi)))
            sets = [expectation_tensors(problem.activation,
                                        quadrature_samples(problem.c_law, problem.w_law, pts, n), pts, m, order)
                    for n in (n_hi, n_lo)]
            k_hi = None if quad_order else default_order(problem.w_law, pts, KERNEL_NODE_BUDGET,
                                                         KERNEL_MAX_NODES_PER_DIM)
            if k_hi is not None and k_hi > n_hi:
                k_lo = max(n_hi, int(round(0.75 * k_hi)))
                kern = [expectation_tensors(problem.activation,
                                            quadrature_samples(problem.c_law, problem.w_law, pts, n, c_nodes=2),
                                            pts, m, 0) for n in (k_hi, k_lo)]
                sets = [replace(s, A=k.A, S=k.S, mean_f=k.mean_f) for s, k in zip(sets, kern)]
            return sets, "quadrature", ""
        note = (f"quadrature would need too many nodes (w ~ {problem.w_law} in {pts.shape[1]} dimensions); "
                "used Monte Carlo instead")
    else:
        note = ""
    n = int(n_samples or DEFAULT_MC_SAMPLES)
    n -= n % MC_BATCHES
    if n < 2 * MC_BATCHES:
        raise SpecError(f"n_samples = {n_samples}; at least {2 * MC_BATCHES} are needed for Monte Carlo")
    samples = monte_carlo_samples(problem.c_law, problem.w_law, pts.shape[1], n, seed)
    size = n // MC_BATCHES
    sets = []
    for b in range(MC_BATCHES):
        sl = slice(b * size, (b + 1) * size)
        part = SampleSet(samples.c[sl], samples.w[sl], np.full(size, 1.0 / size), "monte-carlo")
        sets.append(expectation_tensors(problem.activation, part, pts, m, order))
    return sets, "monte-carlo", note


def _merge(sets: list[ExpectationTensors]) -> ExpectationTensors:
    """The average of equal-size batch tensors (= the tensors of all samples); SEs from the batch spread."""
    def avg(name):
        vals = [getattr(s, name) for s in sets]
        return None if vals[0] is None else np.mean(vals, axis=0)

    def se(name):
        vals = np.array([getattr(s, name) for s in sets])
        return vals.std(axis=0, ddof=1) / np.sqrt(len(sets))

    mean_f = avg("mean_f")
    # S is a covariance: rebuild it from the pooled second moment, not by averaging batch covariances
    second = np.mean([s.S + np.outer(s.mean_f, s.mean_f) for s in sets], axis=0)
    return ExpectationTensors(avg("A"), second - np.outer(mean_f, mean_f), mean_f, se("A"), se("S"),
                              avg("G1"), avg("Ta"), avg("G2b"), avg("G2c"))


def _solve(problem, tens: ExpectationTensors, times: np.ndarray, order: int, long_run_ok: bool = False):
    m = problem.x.shape[0]
    h = hierarchy.leading_term(tens.A, problem.y, problem.alpha, times)
    v = hierarchy.variance_constant(tens.A, tens.S, m, problem.alpha, times)
    q1 = q2 = None
    ode_err = 0.0
    if order >= 1:
        q1, q2, ode_err = hierarchy.corrections(tens.A, tens, problem.y, problem.alpha, times, order,
                                                long_run_ok=long_run_ok)
    return {"h": h, "V": v, "Q1": q1, "Q2": q2}, ode_err


def kernel_matrices(problem, method: str = "quadrature", n_samples: int | None = None, seed: int = 0,
                  quad_order: int | None = None):
    """The frozen tangent kernel and the initial covariance on ``problem.points`` (docs/theory/3-shallow-expansion.md).

    A(x, x') = E[sigma(w.x) sigma(w.x') + c^2 sigma'(w.x) sigma'(w.x') x.x'], S(x, x') = Cov(f(x), f(x'))
    (= E[c^2] E[sigma(w.x) sigma(w.x')] when E f = 0).

    Returns:
        (A (P, P), S (P, P), error): error as ``ShallowTheory.kernel_error`` (for a normal law of w the projected
        trapezoid rule refined to 1e-10 (1 + |entry|)).
    """
    _check_method(method)
    if method == "quadrature" and quad_order is None and problem.w_law.kind == "normal":
        pts, m = problem.points, problem.x.shape[0]

        def evaluate(kappa):
            tens = expectation_tensors(problem.activation, trapezoid_samples(problem.activation, problem.c_law,
                                                                             problem.w_law, pts, kappa), pts, m, 0)
            return tens, {"A": tens.A, "S": tens.S}, {}

        tol = Tolerance(1e-10, 1e-10)
        ref = refine(evaluate, lambda k: w_node_count(problem.activation, problem.w_law, pts, k), tol, first_kappa(tol))
        return ref.value.A, ref.value.S, float(max(np.max(ref.errors["A"]), np.max(ref.errors["S"])))
    sets, used, _ = _tensor_sets(problem, method, 0, n_samples, seed, quad_order)
    if used == "quadrature":
        hi, lo = sets
        err = float(max(np.max(np.abs(hi.A - lo.A)), np.max(np.abs(hi.S - lo.S))))
        return hi.A, hi.S, err
    merged = _merge(sets)
    return merged.A, merged.S, float(max(np.max(merged.A_se), np.max(merged.S_se)))


def _values(out: dict, tens: ExpectationTensors) -> dict:
    vals = {k: v for k, v in out.items() if v is not None}
    vals.update(A=tens.A, S=tens.S)
    return vals


def _by_trapezoid(problem, times, order: int, tol: Tolerance, max_nodes: int, max_seconds: float,
                  long_run_ok: bool = False):
    """The projected trapezoid rule refined towards ``tol``: a Refinement whose value is (tensors, solution, ODE
    error) of the finest rule."""
    pts, m = problem.points, problem.x.shape[0]

    def evaluate(kappa):
        samples = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, pts, kappa)
        tens = expectation_tensors(problem.activation, samples, pts, m, min(order, 2))
        out, ode_err = _solve(problem, tens, times, order, long_run_ok)
        return (tens, out, ode_err, len(samples) // samples.c_nodes), _values(out, tens), {"Q1": ode_err, "Q2": ode_err}

    return refine(evaluate, lambda k: w_node_count(problem.activation, problem.w_law, pts, k), tol, first_kappa(tol),
                  max_nodes, max_seconds)


def _tolerance_report(tol: Tolerance, values: dict, errors: dict, met: bool, reason: str) -> dict:
    return {"abs": tol.abs, "rel": tol.rel, "met": bool(met and tol.met(values, errors)), "reason": reason,
            "worst": tol.worst(values, errors)}


def shallow_theory(problem, gamma, times, order: int = 2, method: str = "quadrature", n_samples: int | None = None,
                   seed: int = 0, quad_order: int | None = None, tol: Tolerance | None = None,
                   max_nodes: int = MAX_W_NODES, max_seconds: float = MAX_SECONDS,
                   long_run_ok: bool = False) -> ShallowTheory:
    """h, V, Q_{1,0}, Q_{2,0} of the shallow network on ``problem``, every entry with an error estimate
    (docs/theory/3-shallow-expansion.md to 5-verified-formulas.md; docs/theory-layer.md).

    Args:
        problem: an :class:`asymexp.inputs.problems.Problem` (activation, alpha, c_law, w_law, x (M,d), y (M,),
            probe (Q,d)); gamma: in [1/2, 1] (sets only ``regime``); times: scalar or (T,) times >= 0;
        order: 0 (h, V), 1 (+ Q1), 2 (+ Q2) or 3 (+ Q3 from the symbolic layer's contractions, see
            :func:`third_order`); method: "quadrature" (falls back to Monte Carlo when the product rule would be
            too large, noted in ``notes``) or "monte-carlo" (``n_samples`` draws, default 200000, with ``seed``);
        quad_order: nodes per w-dimension of a fixed Gauss product rule (default: for a normal law of w the
            projected trapezoid rule, refined towards ``tol``; for a uniform law the Gauss-Legendre rule within
            the node budget); tol: the target (default ``Tolerance()``: 1e-8 absolute, 1e-6 relative, the target
            of the trapezoid refinement; a fixed rule or Monte Carlo is judged only against a ``tol`` given);
        max_nodes, max_seconds: budgets of the refinement (w-nodes of the finest rule; wall-clock seconds).
        long_run_ok: run a Q1/Q2 time integration priced above a day (``--yes-long-run``; :mod:`asymexp.budget`).
    Returns:
        :class:`ShallowTheory` with arrays of shape (T, P), points ordered training then probes; ``errors`` and
        ``tolerance`` say how accurate each entry is and whether ``tol`` was met.
    """
    _check_method(method)
    if order not in (0, 1, 2, 3):
        raise SpecError(f"order = {order!r}; allowed: 0, 1, 2, 3 (Q_{{3,0}} from the symbolic layer's contractions)")
    judged = tol is not None
    tol = tol or Tolerance()
    g, regime, regime_note = regime_of(gamma)
    times = hierarchy.check_times(times)
    kappa, note = None, ""
    if method == "quadrature" and quad_order is None and problem.w_law.kind == "normal":
        ref = _by_trapezoid(problem, times, order, tol, max_nodes, max_seconds, long_run_ok)
        (tens, main, ode_err, w_nodes), errors = ref.value, ref.errors
        used, rule, kappa, met, reason = "quadrature", "trapezoid", ref.kappa, ref.met, ref.reason
    else:
        sets, used, note = _tensor_sets(problem, method, min(order, 2), n_samples, seed, quad_order)
        if used == "quadrature":
            tens = sets[0]
            (main, ode_err), (other, _) = (_solve(problem, s, times, order, long_run_ok) for s in sets)
            errors = difference_errors(_values(main, tens), _values(other, sets[1]), {"Q1": ode_err, "Q2": ode_err})
            rule = "gauss-hermite" if problem.w_law.kind == "normal" else "gauss-legendre"
            w_nodes = int((quad_order or default_order(problem.w_law, problem.points))
                          ** quadrature_dimension(problem.w_law, problem.points))
        else:
            tens = _merge(sets)
            main, ode_err = _solve(problem, tens, times, order, long_run_ok)
            batch = [_solve(problem, s, times, order, long_run_ok)[0] for s in sets]
            errors = {k: np.std([b[k] for b in batch], axis=0, ddof=1) / np.sqrt(len(batch))
                      for k in main if main[k] is not None}
            errors.update(A=tens.A_se, S=tens.S_se)
            rule, w_nodes = "monte-carlo", 0
        met, reason = True, "fixed rule" if used == "quadrature" else "Monte Carlo standard errors"
        judged = judged or used != method   # a fallback to Monte Carlo is judged against the default target
    vanishes, reason_q1 = q1_vanishing(problem.c_law, problem.w_law, problem.activation)
    notes = [n for n in (regime_note, note) if n]
    q3 = None
    values = _values(main, tens)
    if order >= 3:
        q3, q3_err, q3_note = third_order(problem, times, method=used, n_samples=n_samples, seed=seed)
        values["Q3"], errors["Q3"] = q3, q3_err
        notes.append(q3_note)
    if judged or rule == "trapezoid":
        tolerance = _tolerance_report(tol, values, errors, met, reason)
    else:
        tolerance = {"abs": None, "rel": None, "met": None, "reason": f"{reason}, no target given", "worst": {}}
    if tolerance["met"] is False:
        notes.append(f"tolerance abs {tol.abs:g}, rel {tol.rel:g} not met ({reason}); achieved: "
                     + ", ".join(f"{k} {float(np.max(v)):.2g}" for k, v in errors.items()))
    kernel_error = float(max(np.max(errors["A"]), np.max(errors["S"])))
    theory_error = {k: float(np.max(v)) for k, v in errors.items() if k not in ("A", "S")}
    scale = max(1.0, float(np.max(np.abs(tens.A))))
    if np.max(np.abs(tens.mean_f)) > max(10 * kernel_error, 1e-10 * scale):
        notes.append("E f(theta_0, x) is not zero here (max |E f| = %.3g): the initial mean of g is "
                     "N^{1-gamma} E f, which the hierarchy (h_0 = 0) does not describe" % np.max(np.abs(tens.mean_f)))
    return ShallowTheory(points=problem.points, times=times, h=main["h"], V=main["V"], Q1=main["Q1"], Q2=main["Q2"],
                         kernel_error=kernel_error, method=used, q1_vanishes=vanishes, q1_reason=reason_q1, gamma=g,
                         regime=regime, theory_error=theory_error, ode_error=ode_err, A=tens.A, S=tens.S,
                         mean_f=tens.mean_f, notes=tuple(notes), Q3=q3, errors=errors, tolerance=tolerance,
                         rule=rule, w_nodes=w_nodes, kappa=kappa)


#: Nodes per w-dimension for Q_{3,0} (its contractions carry D^4 f; the error estimate uses 3/4 of it).
Q3_QUAD_ORDER = 12


def third_order(problem, times, method: str = "quadrature", n_samples=None, seed: int = 0):
    """Q_{3,0} (T, P) from ``asymexp.symbolic.source_contractions(1..3)`` with the spec's vanishing terms pruned.

    Returns (Q3, error estimate (T, P), note). Quadrature: Q3_QUAD_ORDER nodes per dimension, error = difference from
    3/4 of that order; Monte Carlo: ``n_samples`` // 10 draws (at most 20000), error from two halves.
    """
    from asymexp.numeric.einsum_eval import solve_contractions

    spec = problem.spec([Fraction(3, 4)], [1])
    pts, m = problem.points, problem.x.shape[0]

    def run(samples):
        a = expectation_tensors(problem.activation, samples, pts, m, 0).A
        return solve_contractions(problem, samples, a, times, 3, spec=spec)[2]

    if method == "quadrature":
        n_hi = min(Q3_QUAD_ORDER, default_order(problem.w_law, pts) or Q3_QUAD_ORDER)
        q_hi, q_lo = (run(quadrature_samples(problem.c_law, problem.w_law, pts, n))
                      for n in (n_hi, max(4, int(round(0.75 * n_hi)))))
        return (q_hi, difference_errors({"Q3": q_hi}, {"Q3": q_lo})["Q3"],
                f"Q3 by Gauss quadrature with {n_hi} nodes per dimension (error: difference from {max(4, int(round(0.75 * n_hi)))})")
    n = min(int(n_samples or DEFAULT_MC_SAMPLES) // 10, 20_000)
    samples = monte_carlo_samples(problem.c_law, problem.w_law, pts.shape[1], 2 * (n // 2), seed + 1)
    half = n // 2
    parts = [SampleSet(samples.c[sl], samples.w[sl], np.full(half, 1.0 / half), "monte-carlo")
             for sl in (slice(0, half), slice(half, 2 * half))]
    q_a, q_b = (run(part) for part in parts)
    return 0.5 * (q_a + q_b), np.abs(q_a - q_b) / 2.0, f"Q3 by Monte Carlo with {2 * half} draws"
