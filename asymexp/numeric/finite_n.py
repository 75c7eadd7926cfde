"""The O(1/N) term of the mean under gradient flow by a particle method: the independent check of
:mod:`asymexp.numeric.random_terms` (docs/theory/7-random-terms.md), which computes the same c_t to 1e-8 in
seconds, and the eps-slope of the validation's omitted-term estimate.

Under gradient flow the output is a deterministic functional of the initial empirical measure,
g^N_t = G(mu^N_0), with G(mu)(x) = eps^{-1} <f(Theta_t(.; mu), x), mu> and every particle moving by
d theta/dt = eps alpha mean_m (y_m - g_t(x_m)) gf(theta, x_m). With mu^N_0 = mu_0 + N^{-1/2} nu (nu the centred
Gaussian field of covariance Cov_mu0) and E f(theta_0, x) = 0,

    E g^N_t = G(mu_0) + (1/2N) E D^2 G(mu_0)[nu, nu] + O(N^{-2}),     G(mu_0) = h + eps Q1 + eps^2 Q2 + ...

so the mean carries a term c_t(x)/N next to eps^2 Q2 (the eps^2 eta^2 order of section 3, of mean zero only at
first order in the Gaussian field). On a discrete measure (quadrature nodes theta_k, weights w_k) the covariance
is diag(w) - w w^T = sum_j w_j (e_j - w)(e_j - w)^T, so

    c_t(x) = 1/2 sum_j w_j D^2 G[e_j - w, e_j - w](x):

direction j adds mass at node j. First and second weight-sensitivities of all particles (theta'_{jk},
theta''_{jk}, K x K x D arrays) are integrated with the flow by classical RK4; the derivative tensors of
f = c sigma(w . x) enter through their closed forms (no D^3 f arrays), so a step costs O(K^2 M D).

c depends on eps only at O(eps^2) for symmetric c-rules (measured: 1e-5 relative between eps = 0.1 and 0.05);
:func:`inverse_n_mean_term` evaluates it at a small eps. The quadrature converges slowly for this double
integral (tanh4, t = 1: about 5% between 5 and 6 nodes per dimension), and the cost grows like K^2.
Full-batch GD adds its own O(1/N) discretization term: :func:`particle_terms` with ``gd_width`` runs the Euler map
of GD instead of the flow (docs/theory/7-random-terms.md, "Full-batch GD").
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import SpecError
from asymexp.numeric import hierarchy
from asymexp.activations import sigma_derivatives
from asymexp.numeric.quadrature import quadrature_samples


class _Flow:
    """Particles theta (K, D) and their weight sensitivities T1, T2 (J=K, K, D) under gradient flow."""

    def __init__(self, problem, samples, eps: float):
        self.act, self.alpha, self.eps = problem.activation, problem.alpha, eps
        self.x, self.y, self.m = problem.x, problem.y, problem.x.shape[0]
        self.om = samples.weight
        self.theta = np.concatenate([samples.c[:, None], samples.w], axis=1)
        k, d1 = self.theta.shape
        self.T1 = np.zeros((k, k, d1))
        self.T2 = np.zeros((k, k, d1))

    def _pieces(self, theta, T1, T2, x):
        """Per (j, k, point) scalars: gf.theta', theta'^T Hf theta', gf.theta'', and the activations."""
        c = theta[:, 0]
        s, s1, s2, s3 = sigma_derivatives(self.act, theta[:, 1:] @ x.T, 3)          # (K, points)
        a1, b1 = T1[..., 1:] @ x.T, T1[..., 0][..., None]                            # (J, K, points), (J, K, 1)
        a2, b2 = T2[..., 1:] @ x.T, T2[..., 0][..., None]
        cc = c[:, None]
        gt1 = s * b1 + cc * s1 * a1
        qt1 = 2 * s1 * b1 * a1 + cc * s2 * a1 * a1
        gt2 = s * b2 + cc * s1 * a2
        return c, (s, s1, s2, s3), (a1, b1, a2, b2), gt1, qt1, gt2

    def outputs(self, theta, T1, T2, x):
        """g (points,), g' and g'' (J, points) at the points x."""
        c, (s, *_), _, gt1, qt1, gt2 = self._pieces(theta, T1, T2, x)
        f = c[:, None] * s
        return (self.om @ f / self.eps,) + self._derivatives(f, gt1, qt1, gt2)

    def _derivatives(self, f, gt1, qt1, gt2):
        """g' and g'' (J, points) along the directions e_j - w: the output sum's own change plus the particles'."""
        om, eps = self.om, self.eps
        g1 = (f - om @ f) / eps + np.einsum("k,jkp->jp", om, gt1) / eps
        diag = gt1[np.arange(len(om)), np.arange(len(om))]
        g2 = (2 * (diag - np.einsum("k,jkp->jp", om, gt1)) + np.einsum("k,jkp->jp", om, qt1 + gt2)) / eps
        return g1, g2

    def rhs(self, theta, T1, T2):
        x, om, eps = self.x, self.om, self.eps
        c, (s, s1, s2, s3), (a1, b1, a2, b2), gt1, qt1, gt2 = self._pieces(theta, T1, T2, x)
        cc = c[:, None]
        f = cc * s
        g = om @ f / eps
        r = self.y - g
        g1, g2 = self._derivatives(f, gt1, qt1, gt2)
        rate = eps * self.alpha / self.m
        dth = np.empty_like(theta)
        dth[:, 0] = rate * (s @ r)
        dth[:, 1:] = rate * (cc * s1 * r) @ x
        g1e, g2e = g1[:, None, :], g2[:, None, :]
        d1 = np.empty_like(T1)
        d1[..., 0] = rate * np.sum(-g1e * s + r * s1 * a1, axis=-1)
        d1[..., 1:] = rate * ((-g1e * cc * s1 + r * (s1 * b1 + cc * s2 * a1)) @ x)
        d2 = np.empty_like(T2)
        d2[..., 0] = rate * np.sum(-g2e * s - 2 * g1e * s1 * a1 + r * (s1 * a2 + s2 * a1 * a1), axis=-1)
        d2[..., 1:] = rate * ((-g2e * cc * s1 - 2 * g1e * (s1 * b1 + cc * s2 * a1)
                               + r * (s1 * b2 + cc * s2 * a2 + 2 * s2 * b1 * a1 + cc * s3 * a1 * a1)) @ x)
        return dth, d1, d2

    def step(self, dt: float) -> None:
        state = (self.theta, self.T1, self.T2)
        k1 = self.rhs(*state)
        k2 = self.rhs(*(a + 0.5 * dt * b for a, b in zip(state, k1)))
        k3 = self.rhs(*(a + 0.5 * dt * b for a, b in zip(state, k2)))
        k4 = self.rhs(*(a + dt * b for a, b in zip(state, k3)))
        self.theta, self.T1, self.T2 = (a + dt / 6 * (p + 2 * q + 2 * u + v)
                                        for a, p, q, u, v in zip(state, k1, k2, k3, k4))

    def euler_step(self, h: float) -> None:
        """One explicit Euler step of the particles and their sensitivities: the derivative of the Euler map itself
        (forward differentiation commutes with the step), i.e. full-batch GD's step of every unit."""
        state = (self.theta, self.T1, self.T2)
        self.theta, self.T1, self.T2 = (a + h * b for a, b in zip(state, self.rhs(*state)))


def inverse_n_mean_term(problem, times, quad_order: int = 5, eps: float = 0.02, steps_per_unit: int = 40,
                        c_nodes: int = 3):
    """c_t (T, P): the coefficient of 1/N in E g^N_t under gradient flow, E g = h + eps Q1 + eps^2 Q2 + c/N + ...

    Args:
        problem: a Problem (E f(theta_0, x) = 0 is assumed); times: (T,) >= 0; quad_order: Gauss nodes per
        w-dimension (K = 3 quad_order^r nodes; memory and time grow like K^2); eps: the eps at which c is
        evaluated, in (0, 1] (c = c_0 + O(eps^2); eps = 1 is gamma = 1, docs/theory/7-random-terms.md); steps_per_unit: RK4 steps per unit time.
    Returns:
        (c (T, P), also G(mu_0) - (the deterministic part at this eps) (T, P)).
    """
    times = hierarchy.check_times(times)
    if not 0 < eps <= 1.0:
        raise SpecError(f"eps = {eps}; 0 < eps <= 1 is required")
    samples = quadrature_samples(problem.c_law, problem.w_law, problem.points, quad_order, c_nodes=c_nodes)
    if len(samples) > 4000:
        raise SpecError(f"quad_order = {quad_order} gives {len(samples)} nodes; at most 4000 (cost grows like K^2)")
    flow = _Flow(problem, samples, eps)
    pts = problem.points
    out_c = np.empty((len(times), pts.shape[0]))
    out_g = np.empty_like(out_c)
    t_now = 0.0
    for i in np.argsort(times):
        span = times[i] - t_now
        n = int(np.ceil(span * steps_per_unit)) if span > 0 else 0
        for _ in range(n):
            flow.step(span / n)
        t_now = times[i]
        g, _, g2 = flow.outputs(flow.theta, flow.T1, flow.T2, pts)
        out_c[i] = 0.5 * flow.om @ g2
        out_g[i] = g
    return out_c, out_g


def inverse_n_with_error(problem, times, quad_order: int = 5):
    """c_t (T, P) with an error estimate (T, P): |c at ``quad_order`` - c at ``quad_order`` - 1| nodes per
    dimension (the lower order's error, an upper estimate when the rule converges), and a note saying so."""
    from asymexp.numeric.error_control import difference_errors

    c_hi, _ = inverse_n_mean_term(problem, times, quad_order=quad_order)
    c_lo, _ = inverse_n_mean_term(problem, times, quad_order=quad_order - 1)
    err = difference_errors({"c": c_hi}, {"c": c_lo})["c"]
    return c_hi, err, (f"Gauss-Hermite with {quad_order} nodes per dimension; error: difference from "
                       f"{quad_order - 1} nodes (this double integral converges slowly: a few per cent)")


def particle_terms(problem, samples, eps: float, t: float, gd_width: int | None = None, steps_per_unit: int = 40):
    """On the rule ``samples`` at time t: (g, c, var), each (P,): the output G(mu), the 1/N mean coefficient
    c = 1/2 sum_j w_j D^2 G[e_j - w, e_j - w] and the linear response's variance Var DG[nu] = sum_j w_j DG[e_j - w]^2
    (the field's covariance is diag(w) - w w^T and sum_j w_j DG[e_j - w] = 0). Under gradient flow (RK4,
    ``steps_per_unit`` per unit time) or, with ``gd_width`` n, under full-batch GD's map: round(t n) Euler steps
    of 1/n, as the simulator takes them."""
    flow = _Flow(problem, samples, eps)
    if gd_width is None:
        n = int(np.ceil(t * steps_per_unit)) if t > 0 else 0
        for _ in range(n):
            flow.step(t / n)
    else:
        for _ in range(int(np.rint(t * gd_width))):
            flow.euler_step(1.0 / gd_width)
    g, g1, g2 = flow.outputs(flow.theta, flow.T1, flow.T2, problem.points)
    return g, 0.5 * flow.om @ g2, flow.om @ (g1 * g1)
