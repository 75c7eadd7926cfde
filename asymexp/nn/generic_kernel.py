"""Numba kernels: forward pass, backward pass and SGD update of one network on a batch.

This is the generic reference core. The fast paths are tested against it to rounding:
- ``asymexp.nn.shallow_kernel`` (one hidden layer);
- ``asymexp.nn.deep_kernel`` (deep simulators);
- ``asymexp.mnist.epoch_kernel`` (trainer).
The last two share the batch-major core ``asymexp.nn.dense`` for the forward products, the activations and
the delta propagation. Each keeps its own weight-gradient pass. The simulators
fall back to this core for networks the fused kernels do not cover.

They are pure functions over arrays (the layout of ``asymexp.nn.layout``);
orchestration (loops over replicas, epochs, batches) lives outside them.

Shapes (B = batch size, d = input dimension, K = outputs, U = total hidden units):
    theta (P,), table int64 (L+1, 5), scales float64 (L+1,), X (B, d) C-contiguous,
    Z, H (U, B) workspaces (pre-activations and activations of all hidden layers, layer m in rows
    U_OFF[m] .. U_OFF[m] + N_OUT[m]), out (K, B), dout (K, B) = dLoss/dout, grad (P,).
Everything is in the dtype of theta (float32 or float64); the kernels specialize on it.
"""
from __future__ import annotations

import numpy as np

from asymexp.activations.numba_forms import act_plain, dact, dact_from_h, keeps_preactivation
from asymexp.jit import kernel


@kernel(inline=True)
def _rows(H, p0, n):
    """Rows p0 .. p0+n of the C-contiguous (U, B) workspace, typed as contiguous (a view, no copy)."""
    B = H.shape[1]
    return H.reshape(H.size)[p0 * B:(p0 + n) * B].reshape((n, B))


@kernel()
def forward(theta, table, scales, kind, X, Z, H, out):
    """Fill Z, H (U, B) and out (K, B) for inputs X (B, d). Returns nothing."""
    n_layers = table.shape[0]
    B = X.shape[0]
    for m in range(n_layers):
        w0, b0, no, ni, u0 = table[m, 0], table[m, 1], table[m, 2], table[m, 3], table[m, 4]
        W = theta[w0:w0 + no * ni].reshape((no, ni))
        if m == 0:
            A = np.dot(W, X.T)
        else:
            p0 = table[m - 1, 4]
            A = np.dot(W, _rows(H, p0, ni))
        s = theta.dtype.type(scales[m])
        last = m == n_layers - 1
        for i in range(no):
            bi = theta[b0 + i] if b0 >= 0 else theta.dtype.type(0.0)
            for b in range(B):
                a = A[i, b] * s + bi
                if last:
                    out[i, b] = a
                else:
                    Z[u0 + i, b] = a
                    H[u0 + i, b] = act_plain(a, kind)


@kernel()
def backward(theta, table, scales, kind, X, H, dout, grad):
    """grad <- dLoss/dtheta, given the forward workspace H and dout = dLoss/dout (K, B).

    The loss is whatever produced dout (a sum over the batch: divide dout by B for a mean). sigma' is taken
    from H (:func:`asymexp.activations.numba_forms.dact_from_h`): for gelu and sin, whose sigma' is not a
    function of sigma, the deltas are NaN; use :func:`backward_z`."""
    _backward(theta, table, scales, kind, X, H, H, dout, grad, False)


@kernel()
def backward_z(theta, table, scales, kind, X, Z, H, dout, grad):
    """:func:`backward` for every activation: sigma' from the pre-activations Z (U, B) of :func:`forward` where
    sigma' is not a function of sigma (gelu, sin; :func:`asymexp.activations.numba_forms.dact`), from H
    otherwise (the same numbers as :func:`backward` there)."""
    _backward(theta, table, scales, kind, X, Z, H, dout, grad, keeps_preactivation(kind))


@kernel(inline=True)
def _backward(theta, table, scales, kind, X, Z, H, dout, grad, from_z):
    n_layers = table.shape[0]
    B = X.shape[0]
    delta = dout.copy()
    for m in range(n_layers - 1, -1, -1):
        w0, b0, no, ni, u0 = table[m, 0], table[m, 1], table[m, 2], table[m, 3], table[m, 4]
        W = theta[w0:w0 + no * ni].reshape((no, ni))
        s = theta.dtype.type(scales[m])
        if m == 0:
            gW = np.dot(delta, X)
        else:
            p0 = table[m - 1, 4]
            Hp = _rows(H, p0, ni)
            gW = np.dot(delta, Hp.T)
        g = grad[w0:w0 + no * ni].reshape((no, ni))
        for i in range(no):
            for j in range(ni):
                g[i, j] = gW[i, j] * s
        if b0 >= 0:
            for i in range(no):
                acc = theta.dtype.type(0.0)
                for b in range(B):
                    acc += delta[i, b]
                grad[b0 + i] = acc
        if m > 0:
            back = np.dot(W.T, delta)
            p0 = table[m - 1, 4]
            new = np.empty((ni, B), dtype=theta.dtype)
            if from_z:
                for j in range(ni):
                    for b in range(B):
                        new[j, b] = back[j, b] * s * dact(Z[p0 + j, b], kind)
            else:
                for j in range(ni):
                    for b in range(B):
                        new[j, b] = back[j, b] * s * dact_from_h(H[p0 + j, b], kind, 1.0)
            delta = new


@kernel()
def sgd_update(theta, grad, table, rates):
    """theta <- theta - rates[m] * grad on layer m's weights and biases (rates float64 (L+1,))."""
    for m in range(table.shape[0]):
        w0, b0, no, ni = table[m, 0], table[m, 1], table[m, 2], table[m, 3]
        r = theta.dtype.type(rates[m])
        for k in range(w0, w0 + no * ni):
            theta[k] -= r * grad[k]
        if b0 >= 0:
            for k in range(b0, b0 + no):
                theta[k] -= r * grad[k]


@kernel()
def mse_dout(out, Y, dout):
    """Loss 1/2 sum (out - Y)^2 over the batch; Y, out, dout (K, B). Returns the loss, fills dout."""
    loss = 0.0
    for i in range(out.shape[0]):
        for b in range(out.shape[1]):
            e = out[i, b] - Y[i, b]
            dout[i, b] = e
            loss += 0.5 * e * e
    return loss
