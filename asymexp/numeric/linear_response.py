"""The variance of the linear response of the node flow at a given eps: every eps-order of the variance's
leading 1/N term at once (docs/theory/7-random-terms.md, "All eps-orders of the variance").

At a finite width g^N = G(mu_0 + N^{-1/2} nu), nu the centred Gaussian field of covariance Cov_{mu_0}, so

    Var g^N_t = N^{-1} Var DG[nu] + O(N^{-2} eps^{-2}) = N^{1 - 2 gamma} (V_t(eps) + B^N_t / N + ...),
    V_t(eps) = eps^2 Var DG[nu] = V_t + eps^2 B_t + eps^4 B4_t + ...

(N^{-1} = N^{1 - 2 gamma} eps^2 with eps = N^{gamma - 1}). On the quadrature nodes theta_k of weights omega_k the
field is the weight perturbation of covariance diag(omega) - omega omega^T, so

    V_t(eps) = eps^2 (sum_j omega_j d_j^2 - (sum_j omega_j d_j)^2),     d_j = dG/d omega_j.

The gradient d_j for every node comes from one adjoint solve per evaluation point. Each node moves by
d theta_k/dt = eps (alpha/M) sum_m r_m grad f(theta_k, x_m), r = y - g on the M training points, so a weight
enters the flow only through the residual. With nu_k the adjoint of node k divided by omega_k,

    -d nu_k/dt = eps (alpha/M) sum_m (r_m Hf(theta_k, x_m) nu_k - eps^{-1} grad f(theta_k, x_m) a_m),
    a_m = sum_k omega_k grad f(theta_k, x_m) . nu_k,   nu_k(T) = eps^{-1} grad f(theta_k(T), x_p),
    d_j = eps^{-1} f(theta_j(T), x_p) - (alpha/M) int_0^T sum_m a_m(t) f(theta_j(t), x_m) dt.

The forward flow is classical RK4 with its states kept at every half step; the adjoint and the integral run
backwards by RK4 on the full steps, reading the forward states at the step's ends and middle.
"""
from __future__ import annotations

import numpy as np

from asymexp.activations import sigma_derivatives
from asymexp.errors import SpecError
from asymexp.numeric.adjoint_kernel import adjoint_rates
from asymexp.numeric.quadrature import SampleSet

#: Full RK4 steps per unit time of the adjoint (the forward flow takes twice as many half steps).
STEPS_PER_UNIT = 32


class _Net:
    """f = c sigma(w . x) and its derivatives for all nodes at once; theta (K, 1 + d)."""

    def __init__(self, problem, weights: np.ndarray, eps: float):
        self.act, self.alpha, self.eps = problem.activation, problem.alpha, eps
        self.x, self.y, self.om = problem.x, problem.y, weights
        self.rate = eps * problem.alpha / problem.x.shape[0]

    def residual(self, theta: np.ndarray, order: int) -> tuple[np.ndarray, tuple]:
        """r (M,) and sigma and its first ``order`` derivatives at the projections (each (K, M))."""
        s = sigma_derivatives(self.act, np.einsum("kd,md->km", theta[:, 1:], self.x), order)     # einsum: as in
        return self.y - np.einsum("k,km->m", self.om * theta[:, 0], s[0]) / self.eps, s    # random_terms' flow

    def velocity(self, theta: np.ndarray) -> np.ndarray:
        """d theta / dt (K, 1 + d)."""
        r, (s0, s1) = self.residual(theta, 1)
        out = np.empty_like(theta)
        np.einsum("km,m->k", s0, self.rate * r, out=out[:, 0])
        out[:, 1:] = np.einsum("km,md->kd", s1, r[:, None] * self.x) * (self.rate * theta[:, 0])[:, None]
        return out

    def frozen(self, theta: np.ndarray) -> tuple:
        """What the adjoint reads from one forward state: (c (K,), r (M,), sigma, sigma', sigma'' (K, M))."""
        r, s = self.residual(theta, 2)
        return (np.ascontiguousarray(theta[:, 0]), r) + tuple(np.ascontiguousarray(v) for v in s)

    def adjoint_velocity(self, state: tuple, nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(d nu/dt (P, K, 1 + d), sum_m a_m f(theta_k, x_m) (P, K)) for adjoints nu (P, K, 1 + d) at the forward
        state ``state`` (:meth:`frozen`)."""
        c, r, s0, s1, s2 = state
        d_nu, j = np.empty_like(nu), np.empty(nu.shape[:2])
        adjoint_rates(c, r, s0, s1, s2, self.x, self.om, np.ascontiguousarray(nu), self.rate, self.eps, d_nu, j)
        return d_nu, j


def _forward(net: _Net, theta: np.ndarray, t: float, steps: int) -> list[np.ndarray]:
    """The node states at the 2 steps + 1 half-step times of [0, t] (RK4 with step t / (2 steps))."""
    h = t / (2 * steps)
    out = [theta]
    for _ in range(2 * steps):
        k1 = net.velocity(theta)
        k2 = net.velocity(theta + 0.5 * h * k1)
        k3 = net.velocity(theta + 0.5 * h * k2)
        k4 = net.velocity(theta + h * k3)
        theta = theta + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if not np.all(np.isfinite(theta)):
            raise FloatingPointError("the node flow diverged in the linear response")
        out.append(theta)
    return out


def weight_gradients(problem, samples: SampleSet, eps: float, t: float, steps: int | None = None) -> np.ndarray:
    """d_j = dG_t(x_p)/d omega_j for every node j and evaluation point p: (P, K).

    Args:
        samples: the quadrature nodes (weights omega); eps: in (0, 1]; t: the time (>= 0);
        steps: full adjoint steps on [0, t] (default ceil(STEPS_PER_UNIT t), at least 1).
    """
    if not 0.0 < eps <= 1.0:
        raise SpecError(f"eps = {eps}; 0 < eps <= 1 is required")
    if not (np.isfinite(t) and t >= 0.0):
        raise SpecError(f"t = {t}; a finite time >= 0 is required")
    net = _Net(problem, samples.weight, eps)
    theta0 = np.concatenate([samples.c[:, None], samples.w], axis=1)
    pts = problem.points
    if steps is None:
        steps = max(1, int(np.ceil(STEPS_PER_UNIT * t)))
    states = _forward(net, theta0, t, steps) if t > 0 else [theta0]
    final = states[-1]
    s0, s1 = sigma_derivatives(net.act, final[:, 1:] @ pts.T, 1)       # (K, P)
    direct = (final[:, 0][:, None] * s0).T / eps                        # (P, K)
    if t == 0:
        return direct
    nu = np.empty((pts.shape[0],) + final.shape)
    nu[..., 0] = s0.T / eps
    nu[..., 1:] = (final[:, 0][:, None] * s1).T[..., None] * pts[:, None, :] / eps
    integral = np.zeros((pts.shape[0], final.shape[0]))
    h = t / steps
    start = net.frozen(states[-1])
    for i in range(steps, 0, -1):                                       # from t_i back to t_{i-1}
        end, mid, start = start, net.frozen(states[2 * i - 1]), net.frozen(states[2 * i - 2])
        k1, j1 = net.adjoint_velocity(end, nu)
        k2, j2 = net.adjoint_velocity(mid, nu - 0.5 * h * k1)
        k3, j3 = net.adjoint_velocity(mid, nu - 0.5 * h * k2)
        k4, j4 = net.adjoint_velocity(start, nu - h * k3)
        nu = nu - h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        integral += h / 6 * (j1 + 2 * j2 + 2 * j3 + j4)
    return direct - (problem.alpha / problem.x.shape[0]) * integral


def response_variance(problem, samples: SampleSet, eps: float, t: float, steps: int | None = None) -> np.ndarray:
    """V_t(eps) = eps^2 Var DG[nu] on the rule ``samples``: (P,) (module docstring)."""
    d = weight_gradients(problem, samples, eps, t, steps)
    om = samples.weight
    mean = d @ om
    return eps ** 2 * (((d - mean[:, None]) ** 2) @ om)


#: Design exponent of the rule of the eps^4-and-higher remainder, and the steps per unit time of its adjoint.
#: Measured on tanh4.toml at t = 1 against kappa 39: errors of the remainder 3e-7 (kappa 20), 4e-8 (kappa 25);
#: the remainder itself is 3e-6 at eps = 0.4 and 3e-5 at eps = 0.66, next to V ~ 0.1.
REMAINDER_KAPPA = 20.0
REMAINDER_STEPS = 8


def remainder_rules(problem, t: float) -> list[tuple]:
    """The two rules of the remainder (design exponents REMAINDER_KAPPA and REMAINDER_KAPPA / STEP), each as
    (samples, adjoint steps on [0, t], V (P,), B (P,)) at time t; computed once per problem and time by
    :func:`asymexp.validation.prediction.predict` for all its widths."""
    from asymexp.numeric.error_control import STEP
    from asymexp.numeric.random_terms import rule_values
    from asymexp.numeric.trapezoid_rule import trapezoid_samples

    steps = max(1, int(np.ceil(REMAINDER_STEPS * t)))
    rules = []
    for kappa, n in ((REMAINDER_KAPPA, steps), (REMAINDER_KAPPA / STEP, max(1, steps // 2))):
        samples = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, problem.points, kappa)
        vals = rule_values(problem, np.array([t]), samples)["values"]
        rules.append((samples, n, vals["V"][0], vals["B"][0]))
    return rules


def variance_part(problem, terms, eps_values, t: float, rules: list[tuple] | None = None):
    """V_t(eps) = V + eps^2 B + (eps^4 B4 + ...) with an error estimate, for each eps: (values, errors, remainder),
    each (E, P) for E values of eps, at the single time t (one of ``terms.times``).

    V and B come from ``terms`` (:class:`asymexp.numeric.random_terms.RandomTerms`, its refined rule). The remainder
    R(eps) = V(eps) - V - eps^2 B is computed on the rule of design exponent REMAINDER_KAPPA, with that rule's own
    V and B taken out, so the rule's error largely cancels; its error is twice its difference from the rule
    kappa / STEP with half the adjoint steps (error_control), which covers both the rule and the time step. The
    errors of V and eps^2 B are added. ``rules``: :func:`remainder_rules` (computed here when not given)."""
    from asymexp.numeric.error_control import difference_errors

    i = int(np.argmin(np.abs(terms.times - t)))
    if abs(float(terms.times[i]) - t) > 1e-12:
        raise SpecError(f"t = {t} is not among the times of the random terms {terms.times.tolist()}")
    rules = rules if rules is not None else remainder_rules(problem, t)
    V, B = terms.V[i], terms.B[i]
    base_err = terms.errors["V"][i]
    values, errors, remainders = [], [], []
    for eps in eps_values:
        rem = [response_variance(problem, s, eps, t, n) - v - eps ** 2 * b for s, n, v, b in rules]
        err = difference_errors({"R": rem[0]}, {"R": rem[1]})["R"]
        values.append(V + eps ** 2 * B + rem[0])
        errors.append(err + base_err + eps ** 2 * terms.errors["B"][i])
        remainders.append(rem[0])
    return np.array(values), np.array(errors), np.array(remainders)
