"""Derivative tensors of f(theta, x) = c sigma(w . x) and their expectations over theta ~ mu_0.

theta = (c, w) in R^D, D = 1 + d (index 0 is c). Per sample and point (docs/theory/5-verified-formulas.md notation)::

    gf  = (sigma(u), c sigma'(u) x)                       u = w . x
    Hf  = [[0, sigma'(u) x^T], [sigma'(u) x, c sigma''(u) x x^T]]
    D3f : d^3 f / dc dw dw = sigma''(u) x x (every placement of the one c index), d^3 f / dw^3 = c sigma'''(u) x x x

The expectation tensors that the hierarchy needs (p, q over all P points; a, b, n over the M training points)::

    A[p,q]        = E[gf_p . gf_q]                    (the frozen tangent kernel, section 3)
    S[p,q]        = Cov(f_p, f_q)                     (= E[c^2] E[sigma sigma] when E f = 0)
    G1[p,q,n]     = E[gf_q^T Hf_p gf_n]
    Ta[p,q,a,b]   = E[(Hf_p gf_a) . (Hf_q gf_b)]
    G2b[p,q,a,b]  = E[gf_q^T Hf_p Hf_a gf_b]
    G2c[p,q,a,b]  = E[gf_q . D3f_p[gf_a, gf_b]]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.activations import sigma_derivatives
from asymexp.numeric.quadrature import SampleSet
from asymexp.numeric.tensor_kernel import accumulate_tensors


def derivative_tensors(activation: str, c: np.ndarray, w: np.ndarray, points: np.ndarray, order: int = 3):
    """Per-sample derivatives of f = c sigma(w . x) at ``points``.

    Args:
        c: (K,), w: (K, d) samples; points: (P, d); order: highest derivative (0..3).
    Returns:
        [f (K,P), gf (K,P,D), Hf (K,P,D,D), D3f (K,P,D,D,D)] truncated to ``order`` + 1 entries; D = 1 + d.
    """
    c = np.asarray(c, dtype=np.float64)
    x = np.asarray(points, dtype=np.float64)
    u = np.asarray(w, dtype=np.float64) @ x.T
    s = sigma_derivatives(activation, u, max(order, 0))
    k, p = u.shape
    d = x.shape[1]
    cc = c[:, None]
    out = [cc * s[0]]
    if order >= 1:
        gf = np.empty((k, p, d + 1))
        gf[..., 0] = s[0]
        gf[..., 1:] = (cc * s[1])[..., None] * x[None]
        out.append(gf)
    if order >= 2:
        hf = np.zeros((k, p, d + 1, d + 1))
        cross = s[1][..., None] * x[None]
        hf[..., 0, 1:] = cross
        hf[..., 1:, 0] = cross
        hf[..., 1:, 1:] = (cc * s[2])[..., None, None] * np.einsum("pi,pj->pij", x, x)[None]
        out.append(hf)
    if order >= 3:
        d3 = np.zeros((k, p, d + 1, d + 1, d + 1))
        xx = s[2][..., None, None] * np.einsum("pi,pj->pij", x, x)[None]
        d3[..., 0, 1:, 1:] = xx
        d3[..., 1:, 0, 1:] = xx
        d3[..., 1:, 1:, 0] = xx
        d3[..., 1:, 1:, 1:] = (cc * s[3])[..., None, None, None] * np.einsum("pi,pj,pl->pijl", x, x, x)[None]
        out.append(d3)
    return out


def c_moments(samples: SampleSet) -> tuple[np.ndarray, np.ndarray]:
    """(w-nodes (K_w, d), weighted c-moments (K_w, 5)): mom[j, i] = sum over the samples at w-node j of
    weight c^i. A product rule (``c_nodes`` > 1) folds its c-nodes; otherwise every sample is its own w-node."""
    k = samples.c_nodes
    if k > 1 and len(samples) % k == 0:
        kw = len(samples) // k
        c, wt = samples.c.reshape(k, kw), samples.weight.reshape(k, kw)
        mom = np.stack([np.sum(wt * c**i, axis=0) for i in range(5)], axis=1)
        return samples.w[:kw], mom
    return samples.w, samples.weight[:, None] * samples.c[:, None] ** np.arange(5)


@dataclass(frozen=True)
class ExpectationTensors:
    """Expectations over theta ~ mu_0 (see the module docstring for the index conventions).

    ``A_se`` / ``S_se``: Monte Carlo standard errors of A and S (zeros for quadrature). G1 is None for
    ``order`` < 1; Ta, G2b, G2c are None for ``order`` < 2.
    """

    A: np.ndarray
    S: np.ndarray
    mean_f: np.ndarray
    A_se: np.ndarray
    S_se: np.ndarray
    G1: np.ndarray | None = None
    Ta: np.ndarray | None = None
    G2b: np.ndarray | None = None
    G2c: np.ndarray | None = None


def expectation_tensors(activation: str, samples: SampleSet, points: np.ndarray, n_train: int,
                        order: int = 2, chunk: int = 65536) -> ExpectationTensors:
    """Accumulate the expectation tensors over ``samples`` in chunks (the compiled closed forms of
    :func:`asymexp.numeric.tensor_kernel.accumulate_tensors`; :func:`derivative_tensors` is the same algebra
    written out in theta-space).

    Args:
        activation: "sigmoid" or "tanh"; samples: weighted (c, w); points: (P, d), training points first;
        n_train: M; order: 0 (A, S), 1 (+ G1) or 2 (+ Ta, G2b, G2c).
    """
    x = np.asarray(points, dtype=np.float64)
    m = n_train
    sums: dict[str, np.ndarray] = {}

    def add(name, value):
        sums[name] = sums[name] + value if name in sums else value

    gram = x @ x.T
    names = ("A", "A2", "S", "S2", "f", "G1", "Ta", "G2b", "G2c")
    w_nodes, mom = c_moments(samples)
    for lo in range(0, len(w_nodes), chunk):
        s = np.stack(sigma_derivatives(activation, w_nodes[lo:lo + chunk] @ x.T, 3), axis=-1)      # (k, P, 4)
        for name, value in zip(names, accumulate_tensors(mom[lo:lo + chunk], s, gram, m, min(order, 2))):
            add(name, value)
    mean_f = sums["f"]
    cov = sums["S"] - np.outer(mean_f, mean_f)
    if samples.kind == "monte-carlo":
        n = len(samples)
        a_se = np.sqrt(np.maximum(sums["A2"] - sums["A"] ** 2, 0.0) / (n - 1))
        s_se = np.sqrt(np.maximum(sums["S2"] - sums["S"] ** 2, 0.0) / (n - 1))
    else:
        a_se = s_se = np.zeros_like(cov)
    higher = [sums[k] if (k == "G1" and order >= 1) or order >= 2 else None for k in ("G1", "Ta", "G2b", "G2c")]
    return ExpectationTensors(sums["A"], cov, mean_f, a_se, s_se, *higher)
