"""Numba kernels that train K configurations of one MNIST network in lockstep: one epoch of one configuration, run
in parallel over configurations by Python threads, from one shared pixel-major sort of the batches (docs/mnist.md,
"Throughput", "Lockstep").

K configurations of the same architecture (widths, biases, activation, batch, data and data order; gammas, seeds
and rates free) see the same batches. The counting sort of each batch's non-zero pixels by pixel
(:func:`asymexp.mnist.epoch_kernel._pixel_major`), which the first layer's update reads, is therefore done once for
all configurations (:func:`sort_batches`, parallel over batches) and read by every configuration.

Each configuration's epoch, :func:`config_epoch`, is the body of :func:`asymexp.mnist.epoch_kernel.train_epoch`
with the sort read instead of computed: the same inlined helpers (imported, inlined at Numba IR level), the same
fast-math flags, workspaces of the same shapes and types, compiled on its own and called from Python like
``train_epoch``. Its arithmetic is therefore that of a single run, and the parameters are bit-identical to K
single runs whatever the number of threads. It releases the GIL, so :mod:`asymexp.mnist.lockstep` runs one
configuration per thread at a time. (A ``prange`` loop over configurations calling it was tried first: linked into
the parallel loop's module, the epoch was optimized again there, and a float64 bias sum came out summed in
another order: last digits other than the single run's.) ``tests/test_mnist_lockstep.py`` checks the
bit-identity, from an empty kernel cache too.
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


# Release the GIL while an epoch runs, so that Python threads (asymexp.mnist.lockstep) run several configurations
# at once. Set before the first compilation; it changes only the Python entry wrapper, not the epoch's code.
config_epoch.targetoptions["nogil"] = True
