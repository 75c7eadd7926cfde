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

import functools

import numpy as np
from numba import literally, prange, types
from numba.extending import overload

from asymexp.jit import kernel
from asymexp.kernel_codes import Dynamics, Engine
from asymexp.nn import deep_kernel as FD
from asymexp.nn import generic_kernel as K
from asymexp.nn import shallow_kernel as F

#: A ``train_many`` mode that takes no step: the outputs at t = 0 only, so only the forward pass is compiled.
NO_STEPS = -1


def _code(value) -> int:
    """The integer of a Numba literal type (an ``Engine`` or ``Dynamics`` code known at compile time)."""
    return int(value.literal_value)


def _output(theta, table, scales, kind, engine_code, X, Z, H, out):
    """Forward pass with the kernel of ``engine_code`` (:class:`asymexp.kernel_codes.Engine`)."""


@overload(_output)
def _output_for(theta, table, scales, kind, engine_code, X, Z, H, out):
    if not isinstance(engine_code, types.IntegerLiteral):
        return lambda theta, table, scales, kind, engine_code, X, Z, H, out: literally(engine_code)
    forward = {Engine.SHALLOW: F.forward, Engine.DEEP: FD.forward}.get(_code(engine_code), K.forward)

    def impl(theta, table, scales, kind, engine_code, X, Z, H, out):
        forward(theta, table, scales, kind, X, Z, H, out)
    return impl


@kernel()
def _mean_mse_dout(out, Y, dout):
    """dout <- d/dout of (1/B) sum_b 1/2 (out_b - Y_b)^2; out, Y, dout (1, B)."""
    K.mse_dout(out, Y, dout)
    inv = 1.0 / out.shape[1]
    for b in range(dout.shape[1]):
        dout[0, b] *= inv


def _mean_loss_grad(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad):
    """grad <- gradient of (1/B) sum_b 1/2 (out_b - Y_b)^2 over the batch X (B, d), Y (1, B)."""


@overload(_mean_loss_grad)
def _mean_loss_grad_for(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad):
    if not isinstance(engine_code, types.IntegerLiteral):
        return (lambda theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad:
                literally(engine_code))
    code = _code(engine_code)
    if code == Engine.GENERIC:
        def impl(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad):
            _output(theta, table, scales, kind, engine_code, X, Z, H, out)
            _mean_mse_dout(out, Y, dout)
            K.backward_z(theta, table, scales, kind, X, Z, H, dout, grad)
        return impl
    backward = F.backward if code == Engine.SHALLOW else FD.backward

    def impl(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad):
        _output(theta, table, scales, kind, engine_code, X, Z, H, out)
        _mean_mse_dout(out, Y, dout)
        backward(theta, table, scales, kind, X, H, dout, grad)
    return impl


def _mean_loss_step(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad, rates):
    """theta <- theta - rates * gradient of the mean loss (one GD/SGD step). With a fused kernel the backward
    pass and the update are one pass (bit for bit the same numbers as backward then sgd_update)."""


@overload(_mean_loss_step)
def _mean_loss_step_for(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad, rates):
    if not isinstance(engine_code, types.IntegerLiteral):
        return (lambda theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad, rates:
                literally(engine_code))
    code = _code(engine_code)
    if code == Engine.DEEP:
        def impl(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad, rates):
            T = H.reshape((X.shape[0], H.shape[0]))     # H's memory as the batch-major (B, U) workspace
            FD.forward_rows(theta, table, scales, kind, X, T, out)
            _mean_mse_dout(out, Y, dout)
            FD.backward_update_rows(theta, table, scales, kind, X, T, dout, rates)
    elif code == Engine.SHALLOW:
        def impl(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad, rates):
            _output(theta, table, scales, kind, engine_code, X, Z, H, out)
            _mean_mse_dout(out, Y, dout)
            F.backward_update(theta, table, scales, kind, X, H, dout, grad, rates)
    else:
        def impl(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad, rates):
            _mean_loss_grad(theta, table, scales, kind, engine_code, X, Y, Z, H, out, dout, grad)
            K.sgd_update(theta, grad, table, rates)
    return impl


def _advance(mode, theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad, rates, sgd_idx,
             k, X1, Y1, Z1, H1, out1, dout1, g1, g2, g3, tmp, half, full, sixth):
    """Step k of the dynamics ``mode`` (:class:`asymexp.kernel_codes.Dynamics`): a GD step, an SGD step on the
    data point sgd_idx[k], or an RK4 step of the flow (g1..g3, tmp: workspaces like theta; half, full, sixth: the
    rates times the RK4 weights)."""


@overload(_advance)
def _advance_for(mode, theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad, rates, sgd_idx,
                 k, X1, Y1, Z1, H1, out1, dout1, g1, g2, g3, tmp, half, full, sixth):
    if not isinstance(mode, types.IntegerLiteral):
        return (lambda mode, theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad, rates,
                sgd_idx, k, X1, Y1, Z1, H1, out1, dout1, g1, g2, g3, tmp, half, full, sixth: literally(mode))
    code = _code(mode)
    if code == NO_STEPS:
        def impl(mode, theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad, rates, sgd_idx,
                 k, X1, Y1, Z1, H1, out1, dout1, g1, g2, g3, tmp, half, full, sixth):
            pass
    elif code == Dynamics.GD:
        def impl(mode, theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad, rates, sgd_idx,
                 k, X1, Y1, Z1, H1, out1, dout1, g1, g2, g3, tmp, half, full, sixth):
            _mean_loss_step(theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad, rates)
    elif code == Dynamics.SGD:
        def impl(mode, theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad, rates, sgd_idx,
                 k, X1, Y1, Z1, H1, out1, dout1, g1, g2, g3, tmp, half, full, sixth):
            m = sgd_idx[k]
            Y1[0, 0] = Ytr[0, m]
            X1[0, :] = Xtr[m, :]
            _mean_loss_step(theta, table, scales, kind, engine_code, X1, Y1, Z1, H1, out1, dout1, grad, rates)
    else:
        def impl(mode, theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad, rates, sgd_idx,
                 k, X1, Y1, Z1, H1, out1, dout1, g1, g2, g3, tmp, half, full, sixth):
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
    return impl


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
    n_flow = theta.shape[0] if mode == Dynamics.FLOW else 0     # RK4 workspaces, empty for GD and SGD
    g1 = np.empty(n_flow)
    g2 = np.empty(n_flow)
    g3 = np.empty(n_flow)
    tmp = np.empty(n_flow)
    half = rates * (time_scale * dt * 0.5)
    full = rates * (time_scale * dt)
    sixth = rates * (time_scale * dt / 6.0)
    for k in range(n_steps):
        _advance(mode, theta, table, scales, kind, engine_code, Xtr, Ytr, Zt, Ht, outt, doutt, grad, rates, sgd_idx,
                 k, X1, Y1, Z1, H1, out1, dout1, g1, g2, g3, tmp, half, full, sixth)
        while j < T and rec_steps[j] == k + 1:
            _output(theta, table, scales, kind, engine_code, Xev, Ze, He, oute)
            rec_out[j, :] = oute[0, :]
            j += 1


@functools.cache
def train_many(engine_code: int, mode: int):
    """The kernel that runs :func:`train_one` for every row of thetas (R, n_params), in parallel over replicas,
    with the forward/backward kernel ``engine_code`` (:class:`asymexp.kernel_codes.Engine`) and the dynamics
    ``mode`` (:class:`asymexp.kernel_codes.Dynamics`, or :data:`NO_STEPS` for outputs at t = 0 alone) fixed when
    it is compiled, so that a run compiles only the engine and the dynamics it uses.

    The kernel's arguments: ``(thetas, table, scales, kind, n_hidden, Xtr, Ytr, Xev, rates, n_steps, dt,
    time_scale, rec_steps, sgd_idx, rec_out)`` as :func:`train_one`'s, with sgd_idx (R, n_steps) int64 and
    rec_out (R, T, P). thetas is overwritten with the final parameters."""
    engine_code, mode = int(engine_code), int(mode)

    @kernel(parallel=True)
    def train_many(thetas, table, scales, kind, n_hidden, Xtr, Ytr, Xev, rates, n_steps, dt, time_scale, rec_steps,
                   sgd_idx, rec_out):
        for r in prange(thetas.shape[0]):
            train_one(thetas[r], table, scales, kind, engine_code, n_hidden, Xtr, Ytr, Xev, rates, mode, n_steps,
                      dt, time_scale, rec_steps, sgd_idx[r], rec_out[r])
    return train_many
