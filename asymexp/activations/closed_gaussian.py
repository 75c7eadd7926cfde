"""Closed Gaussian kernels (docs/batchnorm.md, the order parameters): (u, v) centred Gaussian, Var u = q1,
Var v = q2, correlation c (clipped to [-1, 1]); each returns E[phi(u) phi(v)] (``derivative``: of phi').

relu: the arc-cosine forms, theta = arccos c,
E[relu(u) relu(v)] = sqrt(q1 q2) (sqrt(1 - c^2) + (pi - theta) c) / (2 pi),  E[step(u) step(v)] = (pi - theta) / (2 pi).
The registry attaches these to their activation (:attr:`asymexp.activations.Activation.gaussian_closed_form`).
"""
from __future__ import annotations

import math


def relu_pair(q1: float, q2: float, c: float, derivative: bool) -> float:
    theta = math.acos(c)
    if derivative:
        return (math.pi - theta) / (2 * math.pi) if q1 > 0 and q2 > 0 else 0.0
    return math.sqrt(q1 * q2) * (math.sqrt(1 - c * c) + (math.pi - theta) * c) / (2 * math.pi)
