"""Fused Numba kernels of the MNIST trainer: one SGD epoch, and a forward-only evaluation.

The maths is that of :mod:`asymexp.nn.generic_kernel` (docs/theory/1-network.md: hidden layer m's output is multiplied
by
N_m^{-gamma_m} before the next product, biases are added after the scaling), rewritten for speed:

- Batch-major workspaces: ``H (B, U)`` holds the activations of all hidden layers of a batch, layer m in columns
  ``U_OFF[m] .. U_OFF[m] + N_OUT[m]``; every inner loop runs over a contiguous row. Layers 2..L+1 (forward, and
  backward with the update) are the dense-layer core :mod:`asymexp.nn.dense` shared with the deep simulators
  (:mod:`asymexp.nn.deep_kernel`), inlined here and compiled with this module's fast-math flags; the sparse first
  layer, the losses and the activations' choice (libm, float32 tanh rational) are this module's. For an
  activation whose sigma' is not a function of sigma (gelu; :attr:`asymexp.activations.Activation.needs_preactivation`)
  the pre-activations are kept in a second (B, U) workspace for the backward pass; for the others it is empty.
- First layer on the raw pixels. With p in [0, 1] (about 80% zeros) and x = (p - mu) / sd, write v = p / sd
  (sparse, CSR) and c = mu / sd, so x = v - c 1. The first layer's weights are kept transposed,
  ``W1^T = S + 1 u^T`` with ``S (d, N1)`` and an offset row ``u (N1,)``; ``cs`` = column sums of S. Then

      W1 x = S^T v + u sum(v) - c (cs + d u)                       (only the non-zero pixels of v are read)
      W1 <- W1 - r delta x^T  <=>  S[j] -= r v_j delta (j non-zero),  u += r c delta,  cs -= r sum(v) delta

  which is exact algebra: the same SGD step as the dense product, up to rounding. ``u`` and ``cs`` are float64.
- The forward pass adds four rows S[j] per pass over an image's row of activations; the update visits the
  batch's pixels pixel-major (a counting sort of its non-zero pixels), so each row S[j] is written once.
- The update is fused into the backward pass (each row of W_m changes right after delta has been sent back
  through it), so no gradient vector is formed (one row's gradient at a time, in a scratch row); dense loops
  work on four images at a time.

Losses (``loss_kind``), each a mean over the batch:
    0 ``ce``: softmax cross-entropy;  1 ``mse``: 1/2 sum_k (out_k - y_k)^2 on the raw outputs (the theory's loss);
    2 ``paper-mse``: mean over batch *and* classes of (log_softmax(out)_k - y_k)^2, as the authors' code did
    (PyTorch ``MSELoss`` applied to ``log_softmax`` outputs).
Training is sequential (bit-reproducible); evaluation runs in parallel over images, each image's arithmetic
independent of the thread count.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from asymexp.activations.numba_forms import keeps_preactivation
from asymexp.jit import kernel
from asymexp.kernel_codes import LOSS_BY_NAME, Loss
from asymexp.nn import dense


LOSSES = LOSS_BY_NAME


@kernel(inline=True)
def _pixel_major(indptr, indices, values, order, lo, B, d, start, eb, ev):
    """Counting sort of the non-zero pixels of images ``order[lo:lo+B]`` by pixel: the entries of pixel j are
    ``start[j] .. start[j+1]``, each with its image slot ``eb`` (0..B-1) and value ``ev``. start (d+1,) int64."""
    for j in range(d + 1):
        start[j] = 0
    for b in range(B):
        img = order[lo + b]
        for k in range(indptr[img], indptr[img + 1]):
            start[indices[k] + 1] += 1
    for j in range(d):
        start[j + 1] += start[j]
    for b in range(B):
        img = order[lo + b]
        for k in range(indptr[img], indptr[img + 1]):
            j = indices[k]
            pos = start[j]
            eb[pos] = b
            ev[pos] = values[k]
            start[j] = pos + 1
    for j in range(d, 0, -1):
        start[j] = start[j - 1]
    start[0] = 0


@kernel(fastmath="trainer", inline=True)
def _first_forward(theta, table, kind, S, u, cs, shift, indptr, indices, values, vsum, order, lo, B, H, Zk):
    """H[b, :N1] <- sigma(W1 x_b + b1) for images ``order[lo:lo+B]`` from their CSR pixels (four non-zero
    pixels per pass over a row of H). Zk (B, U) or (0, U): where it has rows, the pre-activations are kept there."""
    d, n1 = S.shape[0], S.shape[1]
    b01 = table[0, 1]
    for b in range(B):  # image-major, four pixels per pass over h
        img = order[lo + b]
        h = H[b, 0:n1]
        for i in range(n1):
            h[i] = 0.0
        k, k1 = indptr[img], indptr[img + 1]
        while k + 3 < k1:
            s0, s1, s2, s3 = S[indices[k]], S[indices[k + 1]], S[indices[k + 2]], S[indices[k + 3]]
            v0, v1, v2, v3 = values[k], values[k + 1], values[k + 2], values[k + 3]
            for i in range(n1):
                h[i] += v0 * s0[i] + v1 * s1[i] + v2 * s2[i] + v3 * s3[i]
            k += 4
        while k < k1:
            s0, v0 = S[indices[k]], values[k]
            for i in range(n1):
                h[i] += v0 * s0[i]
            k += 1
    for b in range(B):
        vs = vsum[order[lo + b]]
        h = H[b, 0:n1]
        for i in range(n1):
            a = h[i] + (u[i] * vs - shift * (cs[i] + d * u[i]))
            if b01 >= 0:
                a += theta[b01 + i]
            h[i] = a
    if Zk.shape[0] > 0:
        dense.keep_preactivations(H, 0, n1, B, Zk)
    dense.activate(H, 0, n1, B, kind, False)


@kernel(fastmath="trainer", inline=True)
def _dense_forward(theta, table, scales, kind, B, H, Zk, OUT):
    """Layers 2..L+1 of the batch through the shared core (:mod:`asymexp.nn.dense`): H (B, U) hidden
    activations (layer 1 filled), OUT (B, K) outputs; Zk as in :func:`_first_forward`."""
    n_layers = table.shape[0]
    for m in range(1, n_layers):
        w0, b0, no, ni, q0 = table[m, 0], table[m, 1], table[m, 2], table[m, 3], table[m, 4]
        W = theta[w0:w0 + no * ni].reshape((no, ni))
        bias = theta[b0:b0 + no] if b0 >= 0 else theta[0:0]
        last = m == n_layers - 1
        Y = OUT if last else H
        dense.affine(W, scales[m], bias, H, table[m - 1, 4], Y, 0 if last else q0, B)
        if not last:
            if Zk.shape[0] > 0:
                dense.keep_preactivations(H, q0, no, B, Zk)
            dense.activate(H, q0, no, B, kind, False)


@kernel(fastmath="trainer", inline=True)
def _loss_and_dout(out, label, loss_kind, dout, inv_b):
    """Loss of one image (K outputs, integer label) and dout = dLoss/dout * inv_b. Returns the loss (float64)."""
    K = out.shape[0]
    if loss_kind == Loss.MSE:
        loss = 0.0
        for k in range(K):
            e = out[k] - (1.0 if k == label else 0.0)
            loss += 0.5 * e * e
            dout[k] = e * inv_b
        return loss
    mx = out[0]
    for k in range(1, K):
        mx = max(mx, out[k])
    z = 0.0
    for k in range(K):
        z += np.exp(np.float64(out[k] - mx))
    lse = mx + np.log(z)
    if loss_kind == Loss.CE:
        for k in range(K):
            p = np.exp(out[k] - lse)
            dout[k] = (p - (1.0 if k == label else 0.0)) * inv_b
        return lse - out[label]
    # paper-mse: L = 1/K sum_k (l_k - y_k)^2 with l = log_softmax(out); dL/do_j = g_j - softmax_j sum_k g_k
    loss, gsum = 0.0, 0.0
    for k in range(K):
        e = out[k] - lse - (1.0 if k == label else 0.0)
        loss += e * e / K
        dout[k] = 2.0 * e / K
        gsum += 2.0 * e / K
    for k in range(K):
        dout[k] = (dout[k] - np.exp(out[k] - lse) * gsum) * inv_b
    return loss


@kernel(inline=True)
def _argmax(out):
    best = 0
    for k in range(1, out.shape[0]):
        if out[k] > out[best]:
            best = k
    return best


@kernel(fastmath="trainer", inline=True)
def _dense_backward_update(theta, table, scales, kind, rates, B, H, Zk, D, D2, G):
    """Backward pass through layers L+1..2 with the SGD update fused in (:func:`asymexp.nn.dense.backward`).
    On entry D[:B, :K] = dLoss/dout; on exit D[:B, :N1] = dLoss/d(pre-activation of layer 1). D2 (B, >= U) and
    G (>= U,) are workspace. Rows of W_m change right after delta has been sent back through them. Zk: the kept
    pre-activations (gelu, sin), else (0, U)."""
    n_layers = table.shape[0]
    dt = theta.dtype.type
    for m in range(n_layers - 1, 0, -1):
        w0, b0, no, ni = table[m, 0], table[m, 1], table[m, 2], table[m, 3]
        p0 = table[m - 1, 4]
        s = scales[m]
        W = theta[w0:w0 + no * ni].reshape((no, ni))
        bias = theta[b0:b0 + no] if b0 >= 0 else theta[0:0]
        dense.backward(W, s, D, H, p0, B, W, bias, True, dt(rates[m]), G, D2, True)
        if Zk.shape[0] > 0:
            dense.delta_below_z(D2, Zk, p0, ni, B, s, kind, D)
        else:
            dense.delta_below(D2, H, p0, ni, B, s, kind, D)


@kernel(fastmath="trainer", inline=True)
def _first_update(theta, table, S, u, cs, shift, vsum, order, lo, B, start, eb, ev, rate, D):
    """SGD step of the first layer from D[:B, :N1], pixel-major (S rows), plus the rank-one part (u, cs) and
    the bias: W1 <- W1 - rate * sum_b delta_b x_b^T with x_b = v_b - shift."""
    d, n1 = S.shape[0], S.shape[1]
    dt = theta.dtype.type
    b01 = table[0, 1]
    r = dt(rate)
    for j in range(d):  # S[j] -= r sum_b v_bj delta_b, pixel-major
        e = start[j]
        e1 = start[j + 1]
        if e1 == e:
            continue
        srow = S[j]
        while e < e1:
            c0 = r * ev[e]
            d0 = D[eb[e], 0:n1]
            if e + 1 < e1:
                c1 = r * ev[e + 1]
                d1 = D[eb[e + 1], 0:n1]
                for i in range(n1):
                    srow[i] -= c0 * d0[i] + c1 * d1[i]
                e += 2
            else:
                for i in range(n1):
                    srow[i] -= c0 * d0[i]
                e += 1
    for b in range(B):
        vs = vsum[order[lo + b]]
        for i in range(n1):
            di = np.float64(D[b, i])
            u[i] += rate * shift * di
            cs[i] -= rate * vs * di
    if b01 >= 0:
        for i in range(n1):
            acc = dt(0.0)
            for b in range(B):
                acc += D[b, i]
            theta[b01 + i] -= r * acc


@kernel(inline=True)
def _workspace_sizes(table):
    """(U, K): total hidden units (columns of the H workspace) and number of outputs."""
    n_layers = table.shape[0]
    U = 0
    for m in range(n_layers - 1):
        U = max(U, table[m, 4] + table[m, 2])
    return U, table[n_layers - 1, 2]


@kernel(fastmath="trainer")
def train_epoch(theta, table, scales, kind, S, u, cs, shift, indptr, indices, values, vsum, labels, order,
                batch, rates, loss_kind):
    """One epoch of mini-batch SGD over the images in ``order`` (int64 (n,)), batches of ``batch``.

    Args:
        theta: parameters (P,) float32/float64, layout of :mod:`asymexp.nn.layout`; the first layer's block is
            NOT used (it lives in ``S``, ``u``, ``cs``); all other blocks are updated in place.
        table, kind: the layout; scales (L+1,) in theta's dtype.
        S (d, N1) theta's dtype, u (N1,) and cs (N1,) float64: the first layer (module docstring), updated.
        shift: mu / sd; indptr (n+1,), indices, values, vsum (n,): CSR pixels v = p / sd and their sums.
        labels (n,) int64; rates (L+1,) float64 per weight group (biases use their layer's rate).
        loss_kind: 0 ce, 1 mse, 2 paper-mse.
    Returns:
        (sum of batch losses, batches done, correct predictions seen during training, index of the batch whose
        loss was not finite or -1). The epoch stops at a non-finite loss, before that batch's update.
    """
    n = order.shape[0]
    d = S.shape[0]
    U, K = _workspace_sizes(table)
    W_ = max(U, K)
    H = np.zeros((batch, U), dtype=theta.dtype)
    OUT = np.zeros((batch, K), dtype=theta.dtype)
    D = np.zeros((batch, W_), dtype=theta.dtype)
    D2 = np.zeros((batch, W_), dtype=theta.dtype)
    G = np.zeros(W_, dtype=theta.dtype)
    keep = keeps_preactivation(kind)    # sigma' is not a function of sigma: keep z
    Zk = np.zeros((batch if keep else 0, U), dtype=theta.dtype)
    start = np.zeros(d + 1, dtype=np.int64)
    eb = np.zeros(batch * d, dtype=np.int64)
    ev = np.zeros(batch * d, dtype=theta.dtype)
    total, correct = 0.0, 0
    n_batches = (n + batch - 1) // batch
    for t in range(n_batches):
        lo = t * batch
        B = min(batch, n - lo)
        inv_b = 1.0 / B
        loss = 0.0
        _pixel_major(indptr, indices, values, order, lo, B, d, start, eb, ev)
        _first_forward(theta, table, kind, S, u, cs, shift, indptr, indices, values, vsum, order, lo, B, H, Zk)
        _dense_forward(theta, table, scales, kind, B, H, Zk, OUT)
        for b in range(B):
            lab = labels[order[lo + b]]
            loss += _loss_and_dout(OUT[b], lab, loss_kind, D[b, :K], inv_b)
            if _argmax(OUT[b]) == lab:
                correct += 1
        loss *= inv_b
        if not np.isfinite(loss):
            return total, t, correct, t
        total += loss
        _dense_backward_update(theta, table, scales, kind, rates, B, H, Zk, D, D2, G)
        _first_update(theta, table, S, u, cs, shift, vsum, order, lo, B, start, eb, ev, rates[0], D)
    return total, n_batches, correct, -1


@kernel(parallel=True, fastmath="trainer")
def evaluate(theta, table, scales, kind, S, u, cs, shift, indptr, indices, values, vsum, labels, loss_kind,
             losses, predictions):
    """Forward pass of every image (parallel over chunks of images): fills losses (n,) float64 and
    predictions (n,) int64. Same arguments as :func:`train_epoch`; nothing else is modified. Each image's
    arithmetic is the same whatever the thread count."""
    n = labels.shape[0]
    U, K = _workspace_sizes(table)
    order = np.arange(n)
    chunk = 32
    n_chunks = (n + chunk - 1) // chunk
    for c in prange(n_chunks):
        H = np.empty((chunk, U), dtype=theta.dtype)  # every entry used is written first
        OUT = np.empty((chunk, K), dtype=theta.dtype)
        dout = np.empty(K, dtype=theta.dtype)
        Zk = np.empty((0, U), dtype=theta.dtype)   # forward only: no pre-activations kept
        lo = c * chunk
        B = min(n, lo + chunk) - lo
        _first_forward(theta, table, kind, S, u, cs, shift, indptr, indices, values, vsum, order, lo, B, H, Zk)
        _dense_forward(theta, table, scales, kind, B, H, Zk, OUT)
        for b in range(B):
            img = order[lo + b]
            losses[img] = _loss_and_dout(OUT[b], labels[img], loss_kind, dout, 1.0)
            predictions[img] = _argmax(OUT[b])
