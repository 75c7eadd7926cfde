"""Numba kernels that train K configurations of one MNIST network in lockstep: one epoch each, in parallel over
configurations, from one shared pixel-major sort of the batches (docs/mnist.md, "Throughput", "Lockstep").

K configurations of the same architecture (widths, biases, activation, batch, data and data order; gammas, seeds
and rates free) see the same batches. The counting sort of each batch's non-zero pixels by pixel
(:func:`asymexp.mnist.epoch_kernel._pixel_major`), which the first layer's update reads, is therefore done once for
all configurations (:func:`sort_batches`, parallel over batches) and read by every configuration.

Each configuration's epoch, :func:`config_epoch`, is the body of :func:`asymexp.mnist.epoch_kernel.train_epoch`
with the sort read instead of computed: the same inlined helpers (imported, inlined at Numba IR level), the same
fast-math flags, workspaces of the same shapes and types. Its arithmetic is therefore that of a single run, and the
parameters are bit-identical to K single runs whatever the thread count (each configuration is one iteration of
the parallel loop of :func:`train_epoch_lockstep`, done start to end by one thread). The parallel driver does no
arithmetic on parameters; it calls :func:`config_epoch` (compiled on its own, like ``train_epoch``) per
configuration. ``tests/test_mnist_lockstep.py`` checks the bit-identity, from an empty kernel cache too.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from asymexp.activations.numba_forms import keeps_preactivation
from asymexp.jit import kernel
from asymexp.mnist.epoch_kernel import (_argmax, _dense_backward_update, _dense_forward, _first_forward,
                                        _first_update, _loss_and_dout, _pixel_major, _workspace_sizes)


@kernel(parallel=True)
def sort_batches(indptr, indices, values, order, batch, d, starts, ebs, evs):
    """Pixel-major sort of every batch of ``order`` (batches of ``batch``), in parallel over batches.

    Args:
        indptr, indices, values: CSR pixels of the images; order (n,) int64; d: pixels per image.
        starts (n_batches, d + 1) int64, ebs (n_batches, W) int64, evs (n_batches, W) values' dtype, W >= the
            largest number of non-zero pixels in a batch: filled, row t as ``start``, ``eb``, ``ev`` of
            :func:`asymexp.mnist.epoch_kernel._pixel_major` for batch t.
    """
    n = order.shape[0]
    for t in prange(starts.shape[0]):
        lo = t * batch
        _pixel_major(indptr, indices, values, order, lo, min(batch, n - lo), d, starts[t], ebs[t], evs[t])


@kernel(fastmath="trainer")
def config_epoch(theta, table, scales, kind, S, u, cs, shift, indptr, indices, values, vsum, labels, order,
                 batch, rates, loss_kind, starts, ebs, evs):
    """One epoch of one configuration: :func:`asymexp.mnist.epoch_kernel.train_epoch` with the batches'
    pixel-major sort read from ``starts``, ``ebs``, ``evs`` (:func:`sort_batches` of the same ``order`` and
    ``batch``). Same arguments otherwise, same return value ``(sum of batch losses, batches done, correct
    predictions seen during training, index of the non-finite batch or -1)``."""
    n = order.shape[0]
    d = S.shape[0]
    U, K = _workspace_sizes(table)
    W_ = max(U, K)
    H = np.zeros((batch, U), dtype=theta.dtype)
    OUT = np.zeros((batch, K), dtype=theta.dtype)
    D = np.zeros((batch, W_), dtype=theta.dtype)
    D2 = np.zeros((batch, W_), dtype=theta.dtype)
    G = np.zeros(W_, dtype=theta.dtype)
    keep = keeps_preactivation(kind)
    Zk = np.zeros((batch if keep else 0, U), dtype=theta.dtype)
    total, correct = 0.0, 0
    n_batches = (n + batch - 1) // batch
    for t in range(n_batches):
        lo = t * batch
        B = min(batch, n - lo)
        inv_b = 1.0 / B
        loss = 0.0
        start, eb, ev = starts[t], ebs[t], evs[t]
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


@kernel(parallel=True)
def train_epoch_lockstep(thetas, table, scales, kind, S, u, cs, shift, indptr, indices, values, vsum, labels,
                         order, batch, rates, loss_kind, starts, ebs, evs, active, results):
    """One epoch of SGD for each of K configurations with ``active[k]``, in parallel over configurations.

    Args:
        thetas (K, P): each row a ``theta`` of :func:`asymexp.mnist.epoch_kernel.train_epoch` (same layout
            ``table`` and activation ``kind`` for all); scales (K, L+1) in theta's dtype; rates (K, L+1) float64.
        S (K, d, N1) theta's dtype, u (K, N1) and cs (K, N1) float64: each configuration's first layer, updated.
        shift, indptr, indices, values, vsum, labels, order, batch, loss_kind: as for ``train_epoch``, shared.
        starts, ebs, evs: :func:`sort_batches` of ``order`` and ``batch``.
        active (K,) bool: configurations to train (the others are left untouched).
        results (K, 4) float64: filled for the active ones with ``train_epoch``'s four return values.
    """
    for k in prange(thetas.shape[0]):
        if active[k]:
            total, done, correct, bad = config_epoch(thetas[k], table, scales[k], kind, S[k], u[k], cs[k], shift,
                                                     indptr, indices, values, vsum, labels, order, batch,
                                                     rates[k], loss_kind, starts, ebs, evs)
            results[k, 0] = total
            results[k, 1] = done
            results[k, 2] = correct
            results[k, 3] = bad
