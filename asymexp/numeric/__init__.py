"""asymexp.numeric: the numeric theory layer (docs/theory/3-shallow-expansion.md to 5-verified-formulas.md).

Kernels and derivative-tensor expectations over the initial law mu_0, by deterministic quadrature (the projected
trapezoid rule in the span of the data for Gaussian w, refined to a tolerance with per-entry error estimates;
Gauss-Legendre for uniform laws) or seeded Monte Carlo, and the solution
of the hierarchy on the training points and probes: h (= Q_{0,0}), the variance constant V_t, Q_{1,0}, Q_{2,0}.
The quantities do not depend on gamma; combine them as E g ~ h + eps Q1 + eps^2 Q2, Var g ~ N^{1-2 gamma} V,
eps = N^{gamma - 1}. For depth L >= 2, :func:`deep_frozen_kernel` and :func:`deep_variance` give the frozen
limit kernel A = K_C + E[C^2] E[sigma' sigma'] K_{W^L} and V_t (section 4).

>>> from asymexp.numeric import load_problem, shallow_theory
>>> th = shallow_theory(load_problem("tanh4.toml"), gamma=0.75, times=[1.0])
>>> th.h.shape, th.q1_vanishes
((1, 5), True)

Details, error control and the API: docs/theory-layer.md.
"""
from asymexp.numeric.deep_theory import DeepKernel, deep_frozen_kernel, deep_theory, deep_variance
from asymexp.inputs.problems import Problem, ProblemError, builtin_problem, load_problem
from asymexp.numeric.frozen import FrozenKernel, propagator
from asymexp.numeric.problem_kernel import frozen_kernel
from asymexp.numeric.shallow_theory import ShallowTheory, kernel_matrices, q1_vanishing, shallow_theory

__all__ = ["DeepKernel", "FrozenKernel", "Problem", "ProblemError", "ShallowTheory", "builtin_problem",
           "deep_frozen_kernel", "deep_theory", "deep_variance", "frozen_kernel", "kernel_matrices", "load_problem",
           "propagator", "q1_vanishing", "shallow_theory"]
