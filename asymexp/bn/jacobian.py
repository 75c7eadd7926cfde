"""Explicit Jacobians J (C T x P) of the batch function: the reference the layer-by-layer dual is checked against,
and the baseline of benchmarks/bench_fim.py (docs/batchnorm.md, "The dual").

- :func:`batch_outputs`: the normalized outputs (T, C) of the whole batch, as a function of the parameters;
- :func:`finite_difference_jacobian`: J by central differences of :func:`batch_outputs` (any ``norm``; small nets);
- :func:`explicit_jacobian_blocks`: J of a per-sample network, one layer (and unit block) at a time, from the
  per-sample deltas: row (k, t) of layer l is delta_k^l(t) x [h^{l-1}(t), 1] (its columns are a permutation
  of :func:`flatten`'s order, which leaves J J^T unchanged).
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import SpecError
from asymexp.bn.model import FimNetwork, forward, hidden_backward, output_values


def batch_outputs(net: FimNetwork, params, x: np.ndarray) -> np.ndarray:
    """f (T, C): u^L, centred over the batch (``mean-last``) or batch-normalized (``bn-last``)."""
    return output_values(net, forward(net, params, x).outputs)


def flatten(params) -> np.ndarray:
    """All parameters as one vector (per layer: W row-major, then b)."""
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in params])


def unflatten(net: FimNetwork, theta: np.ndarray):
    """The inverse of :func:`flatten` for ``net``'s shapes."""
    f, out, i = net.fans, [], 0
    for l in range(len(f) - 1):
        n = f[l + 1] * f[l]
        out.append((theta[i:i + n].reshape(f[l + 1], f[l]), theta[i + n:i + n + f[l + 1]]))
        i += n + f[l + 1]
    return out


def finite_difference_jacobian(net: FimNetwork, params, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """J (C T, P) by central differences, rows (k, t) -> k T + t; error O(step^2) + O(eps / step) per entry."""
    theta = flatten(params)
    cols = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = step
        hi = batch_outputs(net, unflatten(net, theta + e), x)
        lo = batch_outputs(net, unflatten(net, theta - e), x)
        cols.append(((hi - lo) / (2 * step)).T.ravel())
    return np.stack(cols, axis=1)


def explicit_jacobian_blocks(net: FimNetwork, params, x: np.ndarray, unit_block: int = 64):
    """Yield column blocks of J (C T, n) of the raw outputs u^L of a per-sample network (no batch norm in the
    hidden layers), at most ``unit_block`` output units of one layer per block (a block holds their weights and biases)."""
    if net.hidden_norm == "batch":
        raise SpecError(f"norm {net.norm!r} couples the samples: its Jacobian is that of the batch function "
                        "(finite_difference_jacobian or asymexp.bn.dual.batch_theta)")
    fwd = forward(net, params, x)
    C, T = net.outputs, x.shape[0]
    deltas = {net.layers + 1: np.broadcast_to(np.eye(C)[:, None, :], (C, T, C))}
    d = np.broadcast_to(params[-1][0][:, None, :], (C, T, net.width))
    for l in range(net.layers, 0, -1):
        g = hidden_backward(net, d * fwd.slopes[l - 1][None], fwd, l, lead=1)
        deltas[l] = g
        if l > 1:
            d = g @ params[l - 1][0]
    for l in range(1, net.layers + 2):
        h = np.hstack([fwd.inputs[l - 1], np.ones((T, 1))])
        g = deltas[l]
        for lo in range(0, g.shape[2], unit_block):
            blk = g[:, :, lo:lo + unit_block]
            yield np.einsum("ktm,tn->ktmn", blk, h).reshape(C * T, -1)
