"""The simulators' drivers are compiled per (engine, dynamics) (asymexp.sim.engine.train_many): the same pair gives
the same kernel, and the outputs at t = 0 come from the forward pass alone (NO_STEPS) with exactly the numbers a
training run records at its step 0."""
from __future__ import annotations

import numpy as np

import asymexp
from asymexp.kernel_codes import Dynamics, Engine
from asymexp.sim import engine

X = np.array([[0.1, -0.3, 1.0], [0.5, 0.2, 1.0], [-0.4, 0.7, 0.2]])
Y = np.array([0.3, -0.2, 0.5])


def test_one_kernel_per_engine_and_dynamics():
    assert engine.train_many(Engine.SHALLOW, Dynamics.FLOW) is engine.train_many(1, 2)
    assert engine.train_many(Engine.SHALLOW, Dynamics.FLOW) is not engine.train_many(Engine.SHALLOW, Dynamics.GD)


def test_outputs_at_time_zero_are_a_training_run_s_first_record():
    spec = asymexp.NetworkSpec.from_strings("3/4", "8", activation="tanh")
    start = asymexp.simulate(spec, X, Y, times=[0.0], replicas=4, seed=5, dynamics="gd")
    trained = asymexp.simulate(spec, X, Y, times=[0.0, 0.5], replicas=4, seed=5, dynamics="gd")
    assert np.array_equal(start.outputs[:, 0], trained.outputs[:, 0])
    assert not np.array_equal(trained.outputs[:, 0], trained.outputs[:, 1])
