"""The constant mode of the frozen kernel of sigmoid nets is the mean-gradient outlier (docs/batchnorm.md, "The
constant mode is the mean-gradient outlier"; docs/theory/4-deep-networks.md, "The constant mode").

The frozen tangent kernel of a depth-L 1/N^gamma net (docs/theory/4-deep-networks.md) on P inputs x_p (rows of
x, shape (P, d)) is A = K_L + E[C^2] E[sigma'(Z^L) sigma'(Z^L)] K_{L-1}, the layer kernels built from the input up.
For MNIST inputs with W^1 ~ N(0, s^2) the first pre-activation u = W^1 . x has a standard deviation s |x| ~ 27: the
sigmoid is a step on the scale of the Gaussian, and a Gauss-Hermite rule (as in
:func:`asymexp.numeric.deep_theory.deep_frozen_kernel`, whose span rule is also exponential in P) converges
slowly. Here the first layer is integrated pairwise, exactly up to quadrature, by splitting the sigmoid into its
step and a remainder that decays like e^{-|u|}:

    E[sigma(v) | u] = Phi(m / b) + int (sigma(y) - H(y)) N(y; m, b^2) dy,   (m, b) the conditional law of v given u

(the remainder on a composite Gauss-Legendre rule around the step), and the same split for the outer integral over
u. The deeper layers are smooth (variances <= s^2) and use :func:`asymexp.numeric.pairwise.pair_moments`.
Everything is computed twice (a coarse and a fine rule) and ``error`` is the largest entrywise difference of A;
by Weyl's inequality every eigenvalue of A then moves by at most ``error_spectral`` = ||A_fine - A_coarse||_2.

Biases are left out, as in the deep frozen kernel. A trainable output bias would add a constant to every entry
of A: it adds to the constant mode and is removed with it by the projection below.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from asymexp.errors import SpecError
from asymexp.numeric.deep_theory import _collapse_factors, _inner_variance
from asymexp.numeric.pairwise import pair_moments

#: Panel edges (in units of the sigmoid's own scale) of the composite rule for the decaying remainders.
_EDGES = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 24.0, 40.0])


def _sigmoid(y):
    return 0.5 * (1.0 + np.tanh(0.5 * y))


def _remainder_rule(points: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [-40, 40], ``points`` Gauss-Legendre nodes per panel, panels meeting at 0 (the step).
    The remainders sigma - H and sigma' are below e^{-40} = 4e-18 outside."""
    z, w = np.polynomial.legendre.leggauss(points)
    edges = np.concatenate([-_EDGES[:0:-1], _EDGES])
    lo, hi = edges[:-1, None], edges[1:, None]
    return (0.5 * (hi - lo) * (z + 1.0) + lo).ravel(), (0.5 * (hi - lo) * w).ravel()


def _half_line_rule(points: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for z1 on [0, 9] (standard normal units; the mass beyond 9 is 1e-19), panels of width
    <= ``scale`` but at most 200 panels: where that cap binds (inputs correlated beyond ~0.999), the coarse-against-
    fine difference of :func:`mnist_frozen_kernel` grows and says so."""
    z, w = np.polynomial.legendre.leggauss(points)
    n = max(4, int(math.ceil(9.0 / max(scale, 1e-3))))
    edges = np.linspace(0.0, 9.0, min(n, 200) + 1)
    lo, hi = edges[:-1, None], edges[1:, None]
    return (0.5 * (hi - lo) * (z + 1.0) + lo).ravel(), (0.5 * (hi - lo) * w).ravel()


def _conditional(m: np.ndarray, b: np.ndarray, y: np.ndarray, wy: np.ndarray):
    """E[sigma(v)] and E[sigma'(v)] for v ~ N(m, b^2), m and b of one shape S: two arrays of shape S (b > 0)."""
    dens = np.exp(-0.5 * ((y - m[..., None]) / b[..., None]) ** 2) / (b[..., None] * math.sqrt(2.0 * math.pi))
    s = _sigmoid(y)
    rem = s - (y > 0)
    return ndtr(m / b) + (dens * rem) @ wy, (dens * (s * (1.0 - s))) @ wy


def first_layer_kernels(gram: np.ndarray, points: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """K_1 = E[sigma(u_p) sigma(u_q)] and Kd_1 = E[sigma'(u_p) sigma'(u_q)] (both (P, P)) for the logistic sigmoid,
    u centred Gaussian with covariance ``gram`` (P, P) (s^2 x x^T); ``points`` Gauss-Legendre nodes per panel."""
    g = np.asarray(gram, dtype=np.float64)
    p = g.shape[0]
    sd = np.sqrt(np.maximum(np.diag(g), 0.0))
    if np.any(sd <= 0):
        raise SpecError("an input has zero norm: its first pre-activation is 0, not a Gaussian with a density")
    y, wy = _remainder_rule(points)
    k, kd = np.empty((p, p)), np.empty((p, p))
    # diagonal: E sigma(u)^2 = 1/2 + int (sigma^2 - H) N(u; 0, a^2), E sigma'(u)^2 likewise
    dens = np.exp(-0.5 * (y[None, :] / sd[:, None]) ** 2) / (sd[:, None] * math.sqrt(2.0 * math.pi))
    s = _sigmoid(y)
    np.fill_diagonal(k, 0.5 + (dens * (s * s - (y > 0))) @ wy)
    np.fill_diagonal(kd, (dens * (s * (1.0 - s)) ** 2) @ wy)
    for i in range(p):
        j = np.arange(i + 1, p)
        if j.size == 0:
            continue
        a = sd[i]
        rho = g[i, j] / a                                   # v = rho z1 + b z2 given u = a z1
        b = np.sqrt(np.maximum(g[j, j] - rho * rho, 0.0))
        if np.any(b <= 1e-6 * sd[j]):
            raise SpecError(f"inputs {i} and {int(j[np.argmin(b)])} are (nearly) parallel; drop duplicates")
        # the step part of sigma(u): int_{u > 0} E[sigma(v) | u] N(u; 0, a^2) du, in z1 = u / a
        z1, w1 = _half_line_rule(points, float(np.min(b / np.maximum(np.abs(rho), 1e-12))))
        phi1 = np.exp(-0.5 * z1 ** 2) / math.sqrt(2.0 * math.pi) * w1
        e_s, _ = _conditional(rho[:, None] * z1[None, :], np.repeat(b[:, None], z1.size, 1), y, wy)
        step = e_s @ phi1
        # the remainder of sigma(u) and all of sigma'(u): u on the decaying rule
        dens_u = np.exp(-0.5 * (y / a) ** 2) / (a * math.sqrt(2.0 * math.pi)) * wy
        su = _sigmoid(y)
        e_s, e_d = _conditional(rho[:, None] * (y[None, :] / a), np.repeat(b[:, None], y.size, 1), y, wy)
        k[i, j] = k[j, i] = step + e_s @ ((su - (y > 0)) * dens_u)
        kd[i, j] = kd[j, i] = e_d @ (su * (1.0 - su) * dens_u)
    return k, kd


def _check_spec(spec) -> None:
    if spec.activation != "sigmoid":
        raise SpecError(f"activation {spec.activation!r}: the constant-mode kernel is computed for the logistic "
                        "sigmoid (the paper-mnist activation) only")
    w1 = spec.weight_laws[0]
    if w1.kind != "normal" or float(w1.a) != 0.0:
        raise SpecError(f"W1 ~ {w1}: the constant-mode kernel needs a centred normal first layer (normal(0,s))")


def _chain(spec, x: np.ndarray, points: int, order: int) -> np.ndarray:
    nu, _ = _collapse_factors(spec)
    s1 = float(spec.weight_laws[0].b) ** 2
    k_prev = x @ x.T
    k, kd = first_layer_kernels(s1 * k_prev, points)
    for l in range(1, spec.depth):
        var = _inner_variance(spec.weight_laws[l], f"W{l + 1}")
        k_prev = k
        k, kd, _ = pair_moments(spec.activation, np.zeros(len(x)), nu[l - 1] * var * k, order)
    return k + float(spec.c_law.moment(2)) * kd * k_prev


def mnist_frozen_kernel(spec, x) -> tuple[np.ndarray, float, float]:
    """(A (P, P), error, error_spectral) of ``spec`` (sigmoid, W1 ~ normal(0, s); numeric gammas; widths give the
    finite-width collapse factors, none the sequential limit) on the inputs ``x`` (P, d); the errors are the
    largest entrywise and the spectral norm of A_fine - A_coarse (16 against 8 nodes per panel, 96 against 48
    Gauss-Hermite nodes in the deeper layers)."""
    _check_spec(spec)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise SpecError(f"inputs have shape {x.shape}; (P, d) with P >= 2 is required")
    fine, coarse = _chain(spec, x, 16, 96), _chain(spec, x, 8, 48)
    diff = fine - coarse
    return fine, float(np.max(np.abs(diff))), float(np.linalg.norm(diff, 2))


def centring_projector(p: int) -> np.ndarray:
    """I - 11^T / P (P, P): mean subtraction over the batch."""
    return np.eye(p) - np.full((p, p), 1.0 / p)


def rank_one_bound(A: np.ndarray) -> dict:
    """The rank-one perturbation bound on the top eigenvector of A (P, P). With c = mean of all entries,
    A = c 11^T + R and u = 1 / sqrt(P): u^T A u = c P, A u - c P u = R u, and lambda_2(A) <= lambda_max(R) (Weyl), so
    sin(angle(u, v_1)) <= |R u| / (c P - lambda_max(R)) whenever c P > lambda_max(R) (Davis-Kahan for a Rayleigh
    quotient). Returns c P, lambda_max(R), the sine bound and the overlap bound sqrt(1 - sin^2) (None when the
    bound does not apply). Also, since (I - 11^T/P) A (I - 11^T/P) = P R P, its top eigenvalue is <= lambda_max(R)."""
    A = 0.5 * (A + A.T)
    p = A.shape[0]
    c = float(A.mean())
    R = A - c
    lam_r = float(np.linalg.eigvalsh(R)[-1])
    ru = float(np.linalg.norm(R @ np.full(p, 1.0 / math.sqrt(p))))
    gap = c * p - lam_r
    sine = ru / gap if gap > 0 else None
    overlap = math.sqrt(max(0.0, 1.0 - sine ** 2)) if sine is not None and sine <= 1 else None
    return {"constant_part": c * p, "lambda_max_rest": lam_r, "sine_bound": sine, "overlap_bound": overlap}


def spectrum_report(A: np.ndarray, error_spectral: float = 0.0) -> dict:
    """The spectrum of A / P with and without centring (eigenvalues sorted descending), the top eigenvector's
    overlap |v_1 . 1| / sqrt(P), the gap lambda_1 - lambda_2, and their error bounds from ``error_spectral``
    (= ||dA||_2: each eigenvalue of A / P within ||dA||_2 / P; the overlap within ||dA||_2 / (lambda_1 - lambda_2)
    of A, the sin-theta bound)."""
    A = 0.5 * (A + A.T)
    p = A.shape[0]
    lam, vec = np.linalg.eigh(A / p)
    lam, vec = lam[::-1], vec[:, ::-1]
    Q = centring_projector(p)
    lam_c = np.linalg.eigvalsh(Q @ A @ Q / p)[::-1]
    gap = float(lam[0] - lam[1])
    e_lam = error_spectral / p
    return {"P": p, "eigenvalues": lam, "eigenvalues_centred": lam_c, "eigenvalue_error": e_lam,
            "top": float(lam[0]), "second": float(lam[1]), "gap": gap,
            "overlap": float(abs(vec[:, 0].sum()) / math.sqrt(p)),
            "overlap_error": float(min(1.0, error_spectral / (p * gap))) if gap > 0 else None,
            "top_centred": float(lam_c[0]), "bulk_mean": float((lam.sum() - lam[0]) / (p - 1)),
            "rank_one": rank_one_bound(A)}


def karakida_prediction(spec, x) -> dict | None:
    """Karakida's isotropic prediction for A / P (docs/batchnorm.md, "The laws") from the order parameters of
    :mod:`asymexp.bn.order_parameters`, for the sequential limit with every inner gamma = 1/2 (then the layer
    kernels are the order parameters with s_w^2 = the inner weight variance and qhat^0 = s_1^2 |x|^2 / s_w^2):
    K1 = qhat^L + E[C^2] qtilde^L qhat^{L-1}, K2 the same with the _st quantities, outlier (K1 + (P-1) K2) / P,
    bulk (K1 - K2) / P. None when the spec is outside that case (other gammas or laws)."""
    from asymexp.bn.order_parameters import input_overlaps, order_parameters

    _check_spec(spec)
    nu, regime = _collapse_factors(spec)
    inner = {float(w.moment(2)) for w in spec.weight_laws[1:-1]}
    if any(v != 1.0 for v in nu) or len(inner) > 1 or regime != "sequential-limit":
        return None
    sw2 = inner.pop() if inner else 1.0
    x = np.asarray(x, dtype=np.float64)
    q0, q0_se, qs0, qs0_se = input_overlaps(x)
    scale = float(spec.weight_laws[0].b) ** 2 * x.shape[1] / sw2
    op = order_parameters(spec.activation, spec.depth, sw2, 0.0, q0 * scale, qs0 * scale)
    L, c2 = spec.depth, float(spec.c_law.moment(2))
    k1 = op.qhat[L] + c2 * op.qtilde[L - 1] / sw2 * op.qhat[L - 1]
    k2 = op.qhat_st[L] + c2 * op.qtilde_st[L - 1] / sw2 * op.qhat_st[L - 1]
    p = x.shape[0]
    return {"K1": k1, "K2": k2, "outlier": (k1 + (p - 1) * k2) / p, "bulk": (k1 - k2) / p, "error": op.error,
            "qhat0": q0 * scale, "qhat0_se": q0_se * scale, "qhat_st0": qs0 * scale, "qhat_st0_se": qs0_se * scale}
