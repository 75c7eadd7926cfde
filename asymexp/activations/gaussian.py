"""Gaussian kernels of the activations: E[phi(u) phi(v)] and E[phi'(u) phi'(v)] for a centred Gaussian pair.

(u, v) centred Gaussian with Var u = q1, Var v = q2, Cov(u, v) = c12 (docs/batchnorm.md, the order parameters).
Every function returns ``(value, error)``, two floats: the error bounds |value - exact|.

- an activation with a closed rule in the registry (relu and its step derivative): the closed arc-cosine forms
  of :mod:`asymexp.activations.closed_gaussian` (c = c12 / sqrt(q1 q2), theta = arccos c)
  E[relu(u) relu(v)] = sqrt(q1 q2) (sqrt(1 - c^2) + (pi - theta) c) / (2 pi),  E[step(u) step(v)] = (pi - theta)
  / (2 pi); the error is a rounding bound (16 ulp of the value).
- every other activation (all smooth): a probabilists' Gauss-Hermite product rule on u = sqrt(q1) z1,
  v = sqrt(q2) (c z1 + sqrt(1 - c^2) z2) with :data:`NODES` and 2 x :data:`NODES` nodes per dimension; the value
  is the finer rule, the error |fine - coarse| (the coarse rule's error, which bounds the finer one's since the
  rule converges geometrically on these entire integrands). Gauss-Hermite is not used on a kink: there it
  converges erratically (about 1% off at 120 nodes), and a non-smooth activation without a closed form is
  refused.
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.activations import get
from asymexp.errors import SpecError

#: Nodes per dimension of the coarse Gauss-Hermite rule (the fine rule has twice as many).
NODES = 64
_ULP = 16 * np.finfo(np.float64).eps


def _rule(n: int):
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / w.sum()


def _check(q1: float, q2: float, c12: float) -> float:
    if not (q1 >= 0 and q2 >= 0 and math.isfinite(q1) and math.isfinite(q2) and math.isfinite(c12)):
        raise SpecError(f"variances q1 = {q1!r}, q2 = {q2!r} are not allowed; finite values >= 0 are required")
    if q1 == 0 or q2 == 0:
        return 0.0
    c = c12 / math.sqrt(q1 * q2)
    if abs(c) > 1 + 1e-12:
        raise SpecError(f"correlation {c!r} is outside [-1, 1] (covariance {c12!r}, variances {q1!r}, {q2!r})")
    return min(1.0, max(-1.0, c))


def _quadrature(fn, q1: float, q2: float, c: float, n: int) -> float:
    z, w = _rule(n)
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    u = math.sqrt(q1) * z1
    v = math.sqrt(q2) * (c * z1 + math.sqrt(max(1.0 - c * c, 0.0)) * z2)
    return float((np.outer(w, w) * fn(u) * fn(v)).sum())


def pair_kernel(activation, q1: float, q2: float, c12: float, derivative: bool = False) -> tuple[float, float]:
    """(E[phi(u) phi(v)], error) (``derivative``: of phi'), (u, v) as in the module docstring."""
    act = get(activation)
    q1, q2, c12 = float(q1), float(q2), float(c12)
    c = _check(q1, q2, c12)
    if act.gaussian_closed_form is not None:          # the registry's closed rule (relu)
        value = act.gaussian_closed_form(q1, q2, c, derivative)
        return value, _ULP * max(abs(value), 1e-300)
    if not act.smooth:
        raise SpecError(f"activation {act.name!r} is not smooth and has no closed Gaussian kernel here; "
                        "Gauss-Hermite quadrature is unreliable on a kink")
    order = 1 if derivative else 0
    fn = lambda x: act.derivatives(x, order)[order]  # noqa: E731
    coarse = _quadrature(fn, q1, q2, c, NODES)
    fine = _quadrature(fn, q1, q2, c, 2 * NODES)
    return fine, abs(fine - coarse) + _ULP * abs(fine)


def self_kernel(activation, q: float, derivative: bool = False) -> tuple[float, float]:
    """(E[phi(sqrt(q) z)^2], error) (``derivative``: of phi'^2), z standard normal: relu gives q/2 and 1/2."""
    return pair_kernel(activation, q, q, q, derivative)
