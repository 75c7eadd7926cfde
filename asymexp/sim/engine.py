"""Numba drivers: train R independent networks in parallel (prange over replicas) and record outputs.

Every replica runs the shared core (:mod:`asymexp.nn.generic_kernel`, ``Engine.GENERIC``) or a fused kernel equal
to the core to rounding: :mod:`asymexp.nn.shallow_kernel` (``Engine.SHALLOW``: one hidden layer, no biases) or
:mod:`asymexp.nn.deep_kernel` (``Engine.DEEP``: L >= 2 hidden layers, no biases). With either fused kernel, GD and
SGD steps fuse the backward pass with the update, bit for bit equal to backward + ``sgd_update``. A replica's
numbers depend only on its own initial parameters (and, for SGD, its own drawn data indices), never on the thread
that runs it, so the results do not depend on the thread count.

Dynamics (``mode``, :class:`asymexp.kernel_codes.Dynamics`): ``GD`` full batch (theta -= rates * grad of the mean
loss, one step = 1/time_scale in time), ``SGD`` online (one data point per step, index given), ``FLOW`` gradient
flow d theta/dt = -time_scale rates * grad (RK4, step dt).

Developers: the kernels' on-disk cache is keyed by the hash of every kernel module's source (:mod:`asymexp.jit`),
so editing any kernel compiled into these drivers recompiles them.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from asymexp.jit import kernel
from asymexp.kernel_codes import Dynamics, Engine
from asymexp.nn import deep_kernel as FD
from asymexp.nn import generic_kernel as K
from asymexp.nn import shallow_kernel as F



@kernel()
def _output(theta, table, scales, kind, engine_code, X, Z, H, out):
    """Forward pass with the kernel of ``engine_code`` (:class:`asymexp.kernel_codes.Engine`)."""
    if engine_code == Engine.SHALLOW:
        F.forward(theta, table, scales, kind, X, Z, H, out)
    elif engine_code == Engine.DEEP:
        FD.forward(theta, table, scales, kind, X, Z, H, out)
    else:
        K.forward(theta, table, scales, kind, X, Z, H, out)


@kernel()
def _mean_mse_dout(out, Y, dout):
    """dout <- d/dout of (1/B) sum_b 1/2 (out_b - Y_b)^2; out, Y, dout (1, B)."""
    K.mse_dout(out, Y, dout)
    inv = 1.0 / out.shape[1]
    for b in range(dout.shape[1]):
        dout[0, b] *= inv


@kernel()
def _mean_loss_dout(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout):
    """Forward pass, then dout <- d/dout of (1/B) sum_b 1/2 (out_b - Y_b)^2 over the batch X (B, d), Y (1, B)."""
    _output(theta, table, scales, kind, engine_code, X, Z, H, out)
    _mean_mse_dout(out, Y, dout)


@kernel()
def _mean_loss_grad(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad):
    """grad <- gradient of (1/B) sum_b 1/2 (out_b - Y_b)^2 over the batch X (B, d), Y (1, B)."""
    _mean_loss_dout(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout)
    if engine_code == Engine.SHALLOW:
        F.backward(theta, table, scales, kind, X, H, dout, grad)
    elif engine_code == Engine.DEEP:
        FD.backward(theta, table, scales, kind, X, H, dout, grad)
    else:
        K.backward_z(theta, table, scales, kind, X, Z, H, dout, grad)


@kernel()
def _mean_loss_step(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad, rates):
    """theta <- theta - rates * gradient of the mean loss (one GD/SGD step). With a fused kernel the backward
    pass and the update are one pass (bit for bit the same numbers as backward then sgd_update)."""
    if engine_code == Engine.DEEP:
        T = H.reshape((X.shape[0], H.shape[0]))     # H's memory as the batch-major (B, U) workspace
        FD.forward_rows(theta, table, scales, kind, X, T, out)
        _mean_mse_dout(out, Y, dout)
        FD.backward_update_rows(theta, table, scales, kind, X, T, dout, rates)
    elif engine_code == Engine.SHALLOW:
        _mean_loss_dout(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout)
        F.backward_update(theta, table, scales, kind, X, H, dout, grad, rates)
    else:
        _mean_loss_grad(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad)
        K.sgd_update(theta, grad, table, rates)


@kernel()
def train_one(theta, table, scales, kind, engine_code, n_hidden, Xtr, Ytr, Xev, rates, mode, n_steps, dt,
              time_scale, rec_steps, sgd_idx, rec_out):
    """Train one network in place and write its outputs at Xev (P, d) into rec_out (T, P) whenever the step
    counter equals rec_steps[j] (sorted, >= 0).

    engine_code: an :class:`asymexp.kernel_codes.Engine` code (the caller checks that it applies).
    theta (n_params,) float64; Xtr (M, d), Ytr (1, M); rates (L+1,); mode a :class:`asymexp.kernel_codes.Dynamics`
    code; n_steps steps of
    1/time_scale (GD, SGD) or dt (FLOW); sgd_idx (n_steps,) int64 data indices for SGD (ignored otherwise).
    """
    M = Xtr.shape[0]
    P = Xev.shape[0]
    Zt = np.empty((n_hidden, M))
    Ht = np.empty((n_hidden, M))
    Ze = np.empty((n_hidden, P))
    He = np.empty((n_hidden, P))
    Z1 = np.empty((n_hidden, 1))
    H1 = np.empty((n_hidden, 1))
    outt = np.empty((1, M))
    doutt = np.empty((1, M))
    oute = np.empty((1, P))
    out1 = np.empty((1, 1))
    dout1 = np.empty((1, 1))
    Y1 = np.empty((1, 1))
    X1 = np.empty((1, Xtr.shape[1]))
    grad = np.empty_like(theta)
    T = rec_steps.shape[0]
    j = 0
    while j < T and rec_steps[j] == 0:
        _output(theta, table, scales, kind, engine_code, Xev, Ze, He, oute)
        rec_out[j, :] = oute[0, :]
        j += 1
    if mode == Dynamics.FLOW:
        g1 = np.empty_like(theta)
        g2 = np.empty_like(theta)
        g3 = np.empty_like(theta)
        tmp = np.empty_like(theta)
        half = rates * (time_scale * dt * 0.5)
        full = rates * (time_scale * dt)
        sixth = rates * (time_scale * dt / 6.0)
    for k in range(n_steps):
        if mode == Dynamics.GD:
            _mean_loss_step(theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad, rates)
        elif mode == Dynamics.SGD:
            m = sgd_idx[k]
            Y1[0, 0] = Ytr[0, m]
            X1[0, :] = Xtr[m, :]
            _mean_loss_step(theta, table, scales, kind, engine_code, X1, Y1, Z1, H1, out1, dout1, grad, rates)
        else:
            _mean_loss_grad(theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, g1)
            tmp[:] = theta
            K.sgd_update(tmp, g1, table, half)
            _mean_loss_grad(tmp, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, g2)
            tmp[:] = theta
            K.sgd_update(tmp, g2, table, half)
            _mean_loss_grad(tmp, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, g3)
            tmp[:] = theta
            K.sgd_update(tmp, g3, table, full)
            _mean_loss_grad(tmp, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad)
            for p in range(theta.shape[0]):
                grad[p] += 2.0 * (g2[p] + g3[p]) + g1[p]
            K.sgd_update(theta, grad, table, sixth)
        while j < T and rec_steps[j] == k + 1:
            _output(theta, table, scales, kind, engine_code, Xev, Ze, He, oute)
            rec_out[j, :] = oute[0, :]
            j += 1


@kernel(parallel=True)
def train_many(thetas, table, scales, kind, engine_code, n_hidden, Xtr, Ytr, Xev, rates, mode, n_steps, dt,
               time_scale, rec_steps, sgd_idx, rec_out):
    """:func:`train_one` for every row of thetas (R, n_params), in parallel over replicas.

    sgd_idx (R, n_steps) int64; rec_out (R, T, P). thetas is overwritten with the final parameters."""
    for r in prange(thetas.shape[0]):
        train_one(thetas[r], table, scales, kind, engine_code, n_hidden, Xtr, Ytr, Xev, rates, mode, n_steps, dt,
                  time_scale, rec_steps, sgd_idx[r], rec_out[r])
