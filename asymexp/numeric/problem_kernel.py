"""The frozen kernel of a shallow problem (docs/theory/3-shallow-expansion.md): the limit tangent kernel A and the
initial covariance S computed by the theory layer's rule, wrapped as a :class:`asymexp.numeric.frozen.FrozenKernel`.

It lives apart from :mod:`asymexp.numeric.frozen` (the kernel's algebra: propagator, leading term), which the
hierarchy imports, so that the theory layer can build on that algebra without an import circle.
"""
from __future__ import annotations

import numpy as np

from asymexp.numeric.frozen import FrozenKernel
from asymexp.numeric.shallow_theory import kernel_matrices


def frozen_kernel(problem, quad_order: int | None = None, method: str = "quadrature", n_samples: int | None = None,
                  seed: int = 0) -> FrozenKernel:
    """The frozen kernel of a shallow :class:`~asymexp.inputs.problems.Problem`: A and S by the theory layer's rule
    (:func:`asymexp.numeric.shallow_theory.kernel_matrices`, the same A that h, V and Q1, Q2 use), wrapped with the
    problem's targets and rate. ``error`` bounds the quadrature error of A and S (two rules compared)."""
    A, S, err = kernel_matrices(problem, method, n_samples, seed, quad_order)
    return FrozenKernel(A, S, np.asarray(problem.y, dtype=np.float64), float(problem.alpha), err)
