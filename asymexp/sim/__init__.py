"""asymexp.sim: Numba Monte Carlo simulators of finite-width 1/N^gamma networks (docs/theory/1-network.md to
2-learning-rates.md, 5).

Many independent networks train at once (prange over replicas, float64) on the shared core
:mod:`asymexp.nn.generic_kernel` (or its fused one-hidden-layer twin :mod:`asymexp.nn.shallow_kernel`), by gradient flow
(RK4), full-batch GD with round(t N_L) steps, or online SGD, with the learning rates of docs/theory/2-learning-rates.md.
Outputs are recorded at the training points and probes at requested times; chunks stream to disk.

>>> import numpy as np
>>> from asymexp.spec import NetworkSpec
>>> from asymexp.sim import simulate
>>> spec = NetworkSpec.from_strings("3/4", "16", activation="tanh", input_dim=3)
>>> x = np.array([[0.1, -0.3, 1.0], [0.8, 0.4, 1.0]]); y = np.array([0.5, -0.2])
>>> simulate(spec, x, y, x, [1.0], replicas=4, dynamics="gd").outputs.shape
(4, 1, 2)
"""
from asymexp.sim.replicas import SimError, SimResult, initial_parameters, simulate

__all__ = ["SimError", "SimResult", "initial_parameters", "simulate"]
