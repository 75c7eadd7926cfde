"""Named integer codes that cross Numba signatures: one table, imported by the kernels and by their callers.

Numba kernels take small integers (a compiled branch per value) rather than strings; each family is an
``IntEnum`` here, and its string names (as the CLI and the spec write them) map to it in ``*_BY_NAME``.
"""
from __future__ import annotations

from enum import IntEnum


class Act(IntEnum):
    """Activation code (the ``kind`` argument of every kernel); the activations themselves are in
    :mod:`asymexp.activations`."""

    SIGMOID = 0
    TANH = 1
    RELU = 2
    IDENTITY = 3
    SIN = 4
    GELU = 5


class Engine(IntEnum):
    """Which forward/backward kernel a simulator replica runs (:mod:`asymexp.sim.engine`)."""

    GENERIC = 0        # asymexp.nn.generic_kernel: any depth, biases, several outputs
    SHALLOW = 1        # asymexp.nn.shallow_kernel: one hidden layer, no biases, one output
    DEEP = 2           # asymexp.nn.deep_kernel: L >= 2 hidden layers, no biases, one output


class Dynamics(IntEnum):
    """Training dynamics of the simulators (the ``mode`` argument)."""

    GD = 0             # full-batch gradient descent, one step = 1/N_L in time
    SGD = 1            # online SGD, one drawn data point per step
    FLOW = 2           # gradient flow, RK4 with step dt


class Loss(IntEnum):
    """Loss of the MNIST epoch kernel (the ``loss_kind`` argument), each a mean over the batch."""

    CE = 0             # softmax cross-entropy
    MSE = 1            # 1/2 ||out - onehot||^2
    PAPER_MSE = 2      # the authors' MSE convention (docs/mnist.md)


class Norm(IntEnum):
    """Normalization layer of :mod:`asymexp.nn.normalization` (the ``kind`` argument of its kernels); names, and
    what each centres and scales, are in the table of :mod:`asymexp.norms` (``KINDS``)."""

    BATCH = 0          # batch norm: centre and scale each feature over the batch
    MEAN_ONLY = 1      # subtract each feature's batch mean, no scaling
    SCALE_ONLY = 2     # divide each feature by its batch RMS, no centring
    LAYER = 3          # layer norm: centre and scale each sample over its features


DYNAMICS_BY_NAME = {"gd": Dynamics.GD, "sgd": Dynamics.SGD, "flow": Dynamics.FLOW}
LOSS_BY_NAME = {"ce": Loss.CE, "mse": Loss.MSE, "paper-mse": Loss.PAPER_MSE}
