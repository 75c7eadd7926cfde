"""The exact finite-width dual of the FIM: Theta = J J^T (C T x C T), layer by layer, never the P x P matrix.

Rows and columns are indexed (k, t) -> k T + t (output k, sample t). For a network whose samples do not interact
(``none``, ``mean-last``, ``bn-last``, ``ln``; :mod:`asymexp.bn.model`)

    Theta_{(k,t),(k',s)} = sum_l [delta_k^l(t) . delta_k'^l(s)] [h^{l-1}(t) . h^{l-1}(s) + 1]

with delta_k^l(t) = d f_k(t) / d u^l(t) (the +1 is the bias): per layer one (C T x M) (M x C T) GEMM and one
(T x d) (d x T) GEMM (docs/batchnorm.md, "The dual"). With batch norm in the hidden layers every output depends on
the whole batch, and the per-sample Jacobian of the batch function has T x M entries per row and layer:
:func:`batch_theta` carries them (cost O(C T^3 M) per layer instead of O(C^2 T^2 M)).

Output normalization acts on Theta of the raw outputs u^L as a projector: mean subtraction
Jbar = (I_C x P_T) J, P_T = I - 11^T / T; batch norm J_k -> Q_k J_k / sigma_k with
Q_k = P_T - uhat_k uhat_k^T / T (uhat_k the normalized outputs, sigma_k = sqrt(var + eps)). Their gain and bias
are held at 1 and 0 and are not FIM parameters.
"""
from __future__ import annotations

import numpy as np

from asymexp.bn.model import EPS, FimNetwork, Forward, forward, hidden_backward
from asymexp.norms import entry
from asymexp.norms.numpy_norm import centre_scale


def _gram(h: np.ndarray) -> np.ndarray:
    """h h^T + 1 (T, T): the input overlaps of a layer, bias included."""
    return h @ h.T + 1.0


def sample_theta(net: FimNetwork, params, fwd: Forward) -> np.ndarray:
    """Theta (C T, C T) of the raw outputs for per-sample networks (``none``, ``mean-last``, ``bn-last``, ``ln``)."""
    C, T = net.outputs, fwd.outputs.shape[0]
    theta = np.zeros((C * T, C * T))
    g_last = _gram(fwd.inputs[-1])
    for k in range(C):
        theta[k * T:(k + 1) * T, k * T:(k + 1) * T] = g_last
    d = np.broadcast_to(params[-1][0][:, None, :], (C, T, net.width))      # d f_k / d h^H = W^L_k
    for l in range(net.layers, 0, -1):                                      # hidden layer l
        g = hidden_backward(net, d * fwd.slopes[l - 1][None], fwd, l, lead=1)
        flat = g.reshape(C * T, -1)
        theta += (flat @ flat.T) * np.tile(_gram(fwd.inputs[l - 1]), (C, C))
        if l > 1:
            d = g @ params[l - 1][0]
    return theta


def batch_theta(net: FimNetwork, params, fwd: Forward) -> np.ndarray:
    """Theta (C T, C T) with batch norm in the hidden layers: per-sample Jacobians of the batch function.

    Seed s = (k, t) carries d f_k(t) / d u^l(t') for every t' (an (S, T, M) array, S = C T)."""
    C, T, M = net.outputs, fwd.outputs.shape[0], net.width
    S = C * T
    theta = np.zeros((S, S))
    g_last = _gram(fwd.inputs[-1])
    for k in range(C):
        theta[k * T:(k + 1) * T, k * T:(k + 1) * T] = g_last
    d = np.zeros((S, T, M))
    w_last = params[-1][0]
    for k in range(C):
        d[k * T + np.arange(T), np.arange(T), :] = w_last[k]
    for l in range(net.layers, 0, -1):
        g = hidden_backward(net, d * fwd.slopes[l - 1][None], fwd, l, lead=1)
        gt = np.ascontiguousarray(g.transpose(0, 2, 1))                   # (S, M, T)
        left = (gt @ _gram(fwd.inputs[l - 1])).reshape(S, -1)
        theta += left @ gt.reshape(S, -1).T
        if l > 1:
            d = g @ params[l - 1][0]
    return theta


def output_projector(norm: str, outputs: np.ndarray) -> np.ndarray | None:
    """(C, T, T) matrices A_k with J_k -> A_k J_k for an output normalization (``mean-last``, ``bn-last``): the
    Jacobian of u_k -> its centred (and scaled) values over the batch; None for the others."""
    row = entry(norm, "fim")
    if row.layers != "last":
        return None
    T, C = outputs.shape
    p = np.eye(T) - 1.0 / T
    kind = row.layer_kind
    if not kind.scales:
        return np.broadcast_to(p, (C, T, T))
    centred, sigma = centre_scale(outputs, 0, kind.centres, True, EPS)
    uhat = centred / sigma
    return np.stack([(p - np.outer(uhat[:, k], uhat[:, k]) / T) / sigma[0, k] for k in range(C)])


def project(theta: np.ndarray, proj: np.ndarray) -> np.ndarray:
    """A Theta A^T for block-diagonal A = diag(A_1..A_C) ((C, T, T) from :func:`output_projector`)."""
    C, T, _ = proj.shape
    t4 = theta.reshape(C, T, C, T)
    t4 = np.einsum("kab,kbjc->kajc", proj, t4)
    t4 = np.einsum("kajc,jdc->kajd", t4, proj)
    return t4.reshape(C * T, C * T)


def network_theta(net: FimNetwork, params, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, Forward]:
    """(Theta of ``net`` with its normalization, Theta of the raw outputs or None, the forward pass)."""
    fwd = forward(net, params, x)
    if net.hidden_norm == "batch":
        return batch_theta(net, params, fwd), None, fwd
    raw = sample_theta(net, params, fwd)
    proj = output_projector(net.norm, fwd.outputs)
    return (raw, None, fwd) if proj is None else (project(raw, proj), raw, fwd)


def spectrum(theta: np.ndarray, samples: int, outputs: int, parameters: int, vectors: bool = True) -> dict:
    """Spectral statistics of F = J^T J / T from its dual Theta / T (C T x C T).

    Returns lambda_max, lambda_c_plus_1 (the (C+1)-th largest), mean_eig = tr F / P, second_moment
    = sum lambda^2 / P, ``eigenvalues`` (descending, the C T non-trivial ones; F has P - C T more zeros) and,
    with ``vectors``, ``mean_gradient_overlap``: the fraction of the squared norm of each mean gradient
    E_t grad f_k(t) that lies in the top-C eigenspace of F, averaged over k (1 when the outliers are the mean
    gradients; None when the mean gradients vanish, as under output normalization)."""
    dual = theta / samples
    if vectors:
        lam, vec = np.linalg.eigh(dual)
    else:
        lam, vec = np.linalg.eigvalsh(dual), None
    lam = lam[::-1]
    out = {"lambda_max": float(lam[0]), "lambda_c_plus_1": float(lam[outputs]) if lam.size > outputs else None,
           "mean_eig": float(np.trace(dual) / parameters),
           "second_moment": float(np.sum(dual * dual) / parameters), "eigenvalues": lam}
    if vectors:
        top = vec[:, ::-1][:, :outputs]
        fractions = []
        for k in range(outputs):
            u = np.zeros(dual.shape[0])
            u[k * samples:(k + 1) * samples] = 1.0 / np.sqrt(samples)
            norm2 = float(u @ dual @ u)
            proj = top.T @ u
            if norm2 > 1e-12 * abs(np.trace(dual)):
                fractions.append(float(np.sum(lam[:outputs] * proj ** 2) / norm2))
        # None: the mean gradients vanish (removed by an output normalization)
        out["mean_gradient_overlap"] = float(np.mean(fractions)) if fractions else None
    return out
