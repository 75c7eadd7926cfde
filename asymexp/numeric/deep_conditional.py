"""The deep network at t > 0 through its last two layers (docs/theory/4-deep-networks.md, "The last two layers,
given the inner ones").

Given the first L - 1 layers, the network is the one-hidden-layer network of width N_L and gamma_L on inputs x~
whose P x P Gram matrix is G = H^{L-1} H^{L-1}^T / N_{L-1}, with w ~ N(0, s_L^2 nu_{L-1} I). Write M(G) and
W(G) for that network's mean and variance (docs/theory/7-random-terms.md: M = D^h(eps) + c/N, W =
N_L^{1 - 2 gamma_L} (V^h(eps) + B^N/N), h the GD step where the run is GD). Over the inner layers,

    E g   = E M(G) + (inner training),        Var g = E W(G) + Var M(G),

and with G = Gbar + dG, Gbar = E G and Cov(dG) = (E[H H H H] - Gbar Gbar) / N_{L-1} (the units of layer L - 1
are i.i.d. given the layers below), to second order in dG along the eigen-directions u_k (eigenvalues lam_k) of
Cov(dG):

    E M(G)   = M(Gbar) + 1/2 sum_k lam_k d^2 M[u_k, u_k],     Var M(G) = sum_k lam_k (dM[u_k])^2,

each by central differences of one standard deviation sqrt(lam_k). The inner weights W^{L-1} train too: at first
order they add to the tangent kernel dA = (1/N_L) E[C^2] s_L^2 D_L o D_{L-1} o K_{L-2} (o the entrywise product,
D_l = E[sigma'(Z^l) sigma'(Z^l)'] at finite width, K_0 = x . x', K_{L-2} the layer kernel below), whose response
of the mean is the frozen kernel's first-order response (:meth:`asymexp.numeric.frozen.FrozenKernel.kernel_response`).
Lower groups are O(N^-2).

For L >= 3 the law of layer L - 1 given the layers below is taken at the mean kernel (the CLT of section 4 with the
finite collapse factors); the fluctuation of K_{L-2} (order 1/N_{L-2}) is not propagated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.activations import sigma_derivatives
from asymexp.errors import SpecError
from asymexp.spec import Law
from asymexp.numeric.quadrature import quadrature_samples

#: Gauss-Hermite nodes per dimension of the conditional rule for M(Gbar), c, B^N, V(eps) and the inner kernel, and
#: of the rule its error is taken from; the same for the Gram directions, whose terms are small corrections.
ORDER, ORDER_LOW = 8, 7
DIRECTION_ORDER, DIRECTION_ORDER_LOW = 5, 4
#: Nodes per dimension of the layer rule of E[H H H H] for L >= 3 (P-dimensional Gaussian).
LAYER_ORDER = 6


@dataclass(frozen=True)
class Layers:
    """What the last two layers see of the ones below, at given widths (P points, training points first).

    gram: (P, P) E G; cov: (P, P, P, P) Cov(dG); inner_kernel: (P, P) D_{L-1} o K_{L-2} (without the 1/N_L
    E[C^2] s_L^2 D_L factor); s_last: s_L^2, the variance of the entries of W^L; w_var: s_L^2 nu_{L-1}, the
    variance of each coordinate of w; n_below: N_{L-1}."""

    gram: np.ndarray
    cov: np.ndarray
    inner_kernel: np.ndarray
    s_last: float
    w_var: float
    n_below: int


def _gaussian_rule(cov: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (K, P) and weights (K,) of a product Gauss-Hermite rule for N(0, cov) on its range."""
    lam, vec = np.linalg.eigh(0.5 * (cov + cov.T))
    keep = lam > 1e-14 * max(float(lam.max()), 1e-300)
    z1, w1 = np.polynomial.hermite_e.hermegauss(order)
    w1 = w1 / w1.sum()
    r = int(keep.sum())
    grids = np.meshgrid(*([z1] * r), indexing="ij")
    z = np.stack([g.ravel() for g in grids], axis=1)
    wt = np.prod(np.stack(np.meshgrid(*([w1] * r), indexing="ij"), axis=0).reshape(r, -1), axis=0)
    return z @ (vec[:, keep] * np.sqrt(lam[keep])).T, wt


def layers_below(problem, gammas, widths, order: int = 40) -> Layers:
    """:class:`Layers` of the depth-L network of ``problem`` (L = len(gammas) >= 2) at layer widths ``widths``."""
    from asymexp.numeric.deep_theory import _inner_variance

    depth = len(gammas)
    if depth < 2 or len(widths) != depth:
        raise SpecError(f"gammas {gammas} and widths {widths}: depth >= 2 with one width per layer is required")
    spec = problem.spec(gammas, widths)
    laws = spec.weight_laws
    nu = [float(n) ** (1.0 - 2.0 * float(g)) for n, g in zip(widths[:-1], gammas[:-1])]
    pts = problem.points
    first = quadrature_samples(Law("normal", 0, 1), laws[0], pts, order, c_nodes=1)
    s, s1 = sigma_derivatives(problem.activation, first.w @ pts.T, 1)
    wt = first.weight
    kernel_below = pts @ pts.T                                              # K_{l-1}, from K_0 = x . x'
    for level in range(1, depth - 1):                                       # layers 2 .. L-1 from the CLT
        kernel_below = np.einsum("k,kp,kq->pq", wt, s, s)
        z, wt = _gaussian_rule(nu[level - 1] * _inner_variance(laws[level], f"W{level + 1}") * kernel_below,
                               LAYER_ORDER)
        s, s1 = sigma_derivatives(problem.activation, z, 1)
    gram = np.einsum("k,kp,kq->pq", wt, s, s)
    fourth = np.einsum("k,ka,kb,kc,kd->abcd", wt, s, s, s, s)
    d_below = np.einsum("k,kp,kq->pq", wt, s1, s1)
    n_below = int(widths[-2])
    cov = (fourth - np.einsum("ab,cd->abcd", gram, gram)) / n_below
    s_last = _inner_variance(laws[depth - 1], f"W{depth}")
    return Layers(gram, cov, d_below * kernel_below, s_last, s_last * nu[-1], n_below)


def conditional_problem(problem, gram: np.ndarray, w_var: float):
    """The one-hidden-layer problem of the last two layers: inputs the rows of the symmetric square root of
    ``gram`` (P, P), training points first; w ~ N(0, w_var I); the law of c, sigma and alpha of ``problem``."""
    from asymexp.inputs.problems import Problem

    lam, vec = np.linalg.eigh(0.5 * (gram + gram.T))
    root = (vec * np.sqrt(np.maximum(lam, 0.0))) @ vec.T
    m = problem.x.shape[0]
    return Problem(problem.activation, problem.alpha, problem.c_law, Law("normal", 0.0, float(np.sqrt(w_var))),
                   root[:m], problem.y, root[m:], None)


def _rule(q, order: int):
    return quadrature_samples(q.c_law, q.w_law, q.points, order, c_nodes=4)


def _mean_part(q, rule, eps: float, t: float, width: int, dynamics: str) -> np.ndarray:
    from asymexp.numeric.random_terms import deterministic_flow, euler_map

    if dynamics == "gd":
        return euler_map(q, rule, eps, int(np.rint(t * width)), 1.0 / width, fold=False)
    return deterministic_flow(q, rule, eps, [t], fold=False)[0]


def _symmetric_directions(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-directions of Cov(dG) as symmetric P x P matrices: (lam (J,), u (J, P, P)), the negligible ones
    (below 1e-12 of the largest) left out."""
    p = cov.shape[0]
    iu = np.triu_indices(p)
    # coordinates g_ab for a <= b; a symmetric dG has dG_ab = dG_ba = g_ab
    flat = cov[iu[0], iu[1]][:, iu[0], iu[1]]
    lam, vec = np.linalg.eigh(0.5 * (flat + flat.T))
    keep = lam > 1e-12 * max(float(lam.max()), 1e-300)
    dirs = np.zeros((int(keep.sum()), p, p))
    for j, v in enumerate(vec[:, keep].T):
        dirs[j][iu] = v
        dirs[j] = dirs[j] + np.triu(dirs[j], 1).T
    return lam[keep], dirs


def _terms_on(problem, layers: Layers, gamma_last: float, width: int, t: float, dynamics: str, order: int,
              dir_order: int) -> dict:
    """Every term at one width on the rule of ``order`` nodes per dimension, the Gram directions' on the rule of
    ``dir_order`` (see :func:`conditional_terms`)."""
    from asymexp.numeric.gd_terms import rule_steps
    from asymexp.numeric.frozen import FrozenKernel
    from asymexp.numeric.linear_response import response_variance
    from asymexp.numeric.random_terms import rule_values

    eps = float(width) ** (gamma_last - 1.0)
    q = conditional_problem(problem, layers.gram, layers.w_var)
    rule = _rule(q, order)
    base = _mean_part(q, rule, eps, t, width, dynamics)
    vals = rule_values(q, np.array([t]), rule)
    c, bn = vals["values"]["c"][0], vals["values"]["BN"][0]
    v_eps = response_variance(q, rule, eps, t)
    if dynamics == "gd":
        v_eps = v_eps + rule_steps(q, _rule(q, 2), eps, t, width)["dV"]
    lam, dirs = _symmetric_directions(layers.cov)
    curvature, spread = np.zeros_like(base), np.zeros_like(base)
    centre = _mean_part(q, _rule(q, dir_order), eps, t, width, dynamics)
    for lk, u in zip(lam, dirs):
        step = np.sqrt(lk)
        moved = [conditional_problem(problem, layers.gram + s * step * u, layers.w_var) for s in (1.0, -1.0)]
        up, down = (_mean_part(m, _rule(m, dir_order), eps, t, width, dynamics) for m in moved)
        curvature += 0.5 * (up - 2.0 * centre + down)
        spread += (0.5 * (up - down)) ** 2
    s1 = sigma_derivatives(q.activation, rule.w @ q.points.T, 1)[1]
    d_last = np.einsum("k,kp,kq->pq", rule.weight, s1, s1)
    c2 = float(problem.c_law.moment(2))
    inner_a = c2 * layers.s_last * d_last * layers.inner_kernel / width
    frozen = FrozenKernel(vals["A"], np.zeros_like(vals["A"]), q.y, q.alpha, 0.0)
    inner = np.einsum("pjm,jm->p", frozen.kernel_response(t, q.y, q.alpha), inner_a[:, :q.y.shape[0]])
    inner_v = _propagated_variance(vals["A"] + inner_a, vals["S"], q, t) - _propagated_variance(vals["A"], vals["S"], q, t)
    scale = float(width) ** (1.0 - 2.0 * gamma_last)
    return {"mean": base + c / width + curvature + inner, "var": scale * (v_eps + bn / width + inner_v) + spread,
            "D": base, "c_over_n": c / width, "gram_curvature": curvature, "inner_training": inner,
            "V_eps": v_eps, "BN_over_n": bn / width, "gram_spread": spread, "inner_training_var": inner_v,
            "scale": scale}


def _propagated_variance(A: np.ndarray, S: np.ndarray, q, t: float) -> np.ndarray:
    """V_t = diag(Phi_t S Phi_t^T) (P,) under the frozen kernel A (P, P): the leading variance, whose change with the
    inner kernel dA is the inner weights' training seen in the variance (relative order 1/N_L)."""
    from asymexp.numeric.frozen import propagator

    phi = propagator(A, q.y.shape[0], q.alpha, float(t))
    return np.einsum("pq,qr,pr->p", phi, S, phi)


#: The terms of :func:`conditional_terms`, each (P,) per width.
TERMS = ("mean", "var", "D", "c_over_n", "gram_curvature", "inner_training", "V_eps", "BN_over_n", "gram_spread",
         "inner_training_var", "c_eps_over_n", "BN_eps_over_n")
#: The particle rules of the eps-dependence of c and B^N (:func:`asymexp.numeric.variance_correction.terms_at`):
#: (Gauss nodes per w-dimension, per c-dimension) for the value and for its error; K = 96 and 64 nodes in P = 5
#: dimensions (the cost grows like K^2 per step; 3 nodes a side would be 729).
ETA_RULE, ETA_RULE_LOW = (2, 3), (2, 2)
#: Gaussian directions of the Hessian piece of B^N(eps) (its Monte Carlo SE is part of the error).
ETA_REPLICAS = 256


def conditional_terms(problem, gammas, layer_widths, t: float, dynamics: str = "gd", say=None) -> dict:
    """The deep mean and variance at time t > 0 at each entry of ``layer_widths`` (a list of N_1..N_L), from the
    last two layers given the inner ones (module docstring): {name: (E, P) for name in TERMS, "mean_error",
    "var_error": (E, P) (twice the change from ORDER_LOW and DIRECTION_ORDER_LOW nodes per dimension), "scale": (E,) N_L^{1-2gamma_L}}.
    ``dynamics``: "gd" (round(t N_L) steps of 1/N_L, as the deep simulator's default) or "flow". ``say``: a
    callable told one line as each width starts, or None."""
    import time
    from asymexp.numeric.error_control import difference_errors
    from asymexp.numeric.variance_correction import terms_at

    if dynamics not in ("gd", "flow"):
        raise SpecError(f"dynamics {dynamics!r}: the deep prediction is derived for 'gd' and 'flow'")
    gamma_last = float(gammas[-1])
    out = {k: [] for k in TERMS + ("mean_error", "var_error", "scale")}
    start = time.monotonic()
    for i, widths in enumerate(layer_widths):
        if say is not None:
            say(f"asymexp validate: deep prediction: width {i + 1}/{len(layer_widths)} (N = {list(widths)}), "
                f"{time.monotonic() - start:.0f} s")
        layers = layers_below(problem, gammas, widths)
        n = int(widths[-1])
        fine = _terms_on(problem, layers, gamma_last, n, t, dynamics, ORDER, DIRECTION_ORDER)
        rough = _terms_on(problem, layers, gamma_last, n, t, dynamics, ORDER_LOW, DIRECTION_ORDER_LOW)
        err = difference_errors({"mean": fine["mean"], "var": fine["var"]}, {"mean": rough["mean"], "var": rough["var"]})
        eta = terms_at(conditional_problem(problem, layers.gram, layers.w_var), t, float(n) ** (gamma_last - 1.0),
                       ETA_RULE, ETA_RULE_LOW, ETA_REPLICAS)
        fine["c_eps_over_n"], fine["BN_eps_over_n"] = eta["c"] / n, eta["BN"] / n
        fine["mean"] = fine["mean"] + eta["c"] / n
        fine["var"] = fine["var"] + fine["scale"] * eta["BN"] / n
        err["mean"] = err["mean"] + eta["c_error"] / n
        err["var"] = err["var"] + fine["scale"] * eta["BN_error"] / n
        for k in TERMS:
            out[k].append(fine[k])
        out["mean_error"].append(err["mean"])
        out["var_error"].append(err["var"])
        out["scale"].append(fine["scale"])
    return {k: np.array(v) for k, v in out.items()}
