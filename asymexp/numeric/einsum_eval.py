"""Evaluating the symbolic layer's hierarchy (``asymexp.symbolic.source_contractions``) numerically.

docs/symbolic.md states the contract: the source of Q_K := Q_{K,0} is a sum of einsum contractions over theta
samples ``s`` (operands wq, fP/fM, gfP/gfM, HfP/HfM, D3fP/D3fM, D{n}fP/D{n}fM, muM) and time functions (r, Q{k},
R, C, IQ{k}, I[...]). This module

- builds the per-sample derivative tensors D^n f of f = c sigma(w . x) for any n (:func:`derivative_tensor`),
- contracts the sample-dependent operands once, over chunks of samples, into fixed point tensors
  (:class:`PrecontractedSource`), so that each ODE step only contracts small (P, M, ...) arrays,
- integrates Q_1..Q_K together with every time integral of ``integral_definitions(K)`` (:func:`solve_contractions`),
  with r_t in closed form and the same DOP853 error control as :mod:`asymexp.numeric.hierarchy`.

It is an independent route to Q1, Q2 (and the symbolic layer's higher orders) next to the hand transcription of
docs/theory/5-verified-formulas.md in :mod:`asymexp.numeric.hierarchy`; tests/test_theory_contractions.py checks that
both agree.
"""
from __future__ import annotations

import re

import numpy as np

from asymexp.activations import get as get_activation
from asymexp.numeric import hierarchy
from asymexp.numeric.quadrature import SampleSet

_STATIC = re.compile(r"^(wq|muM|fP|fM|gfP|gfM|HfP|HfM|D\d+fP|D\d+fM)$")
_ORDER = {"f": 0, "gf": 1, "Hf": 2}


def sigma_derivative_polys(activation: str, order: int) -> list[np.polynomial.Polynomial]:
    """sigma^(k) as polynomials in sigma itself (tanh: t' = 1 - t^2; logistic: s' = s (1 - s)), k = 0..order."""
    P = np.polynomial.Polynomial
    step = P(list(get_activation(activation).derivative_in_value))
    polys = [P([0.0, 1.0])]
    for _ in range(order):
        polys.append(polys[-1].deriv() * step)
    return polys


def derivative_tensor(activation: str, c: np.ndarray, w: np.ndarray, points: np.ndarray, n: int) -> np.ndarray:
    """D^n f for f = c sigma(w . x): (K, P) for n = 0, else (K, P, D, ..., D) with n axes of size D = 1 + d.

    Index 0 of theta is c. Components with two or more c indices vanish; exactly one c index (any position) gives
    sigma^(n-1)(u) x^{(x)(n-1)}; all-w indices give c sigma^(n)(u) x^{(x)n}.
    """
    x = np.asarray(points, dtype=np.float64)
    u = np.asarray(w, dtype=np.float64) @ x.T
    s = get_activation(activation).value(u)
    polys = sigma_derivative_polys(activation, n)
    c = np.asarray(c, dtype=np.float64)[:, None]
    if n == 0:
        return c * s
    k, p = u.shape
    d = x.shape[1]
    out = np.zeros((k, p) + (d + 1,) * n)

    def outer(m):
        t = np.ones((p,))
        sub = "p"
        letters = "abcdefgh"
        ops = []
        for j in range(m):
            sub += "," + "p" + letters[j]
            ops.append(x)
        return np.einsum(sub + "->p" + letters[:m], t, *ops) if m else t

    full = (c * polys[n](s)).reshape(k, p, *([1] * n)) * outer(n)[None]
    out[(slice(None), slice(None)) + (slice(1, None),) * n] = full
    one_c = polys[n - 1](s).reshape(k, p, *([1] * (n - 1))) * outer(n - 1)[None]
    for pos in range(n):
        idx = [slice(1, None)] * n
        idx[pos] = 0
        out[(slice(None), slice(None)) + tuple(idx)] = one_c
    return out


def _operand_order(name: str) -> int:
    base = name[:-1]
    if base in _ORDER:
        return _ORDER[base]
    return int(base[1:-1])  # D{n}f


class PrecontractedSource:
    """One contraction split into its sample part (contracted once over all samples into a point tensor) and its
    time part (contracted at each ODE step): ``value(t) = coefficient * einsum(dyn_subs, tensor, *time arrays)``."""

    def __init__(self, contraction, alpha: float):
        from asymexp.symbolic import ALPHA

        ins, out = contraction.subscripts.split("->")
        ins = ins.split(",")
        ops = contraction.operands
        self.static = [i for i, name in enumerate(ops) if _STATIC.match(name)]
        self.dynamic = [i for i, name in enumerate(ops) if not _STATIC.match(name)]
        dyn_letters = set("".join(ins[i] for i in self.dynamic)) | set(out)
        static_letters = "".join(dict.fromkeys("".join(ins[i] for i in self.static)))
        keep = "".join(ch for ch in static_letters if ch in dyn_letters)
        self.static_subs = ",".join(ins[i] for i in self.static) + "->" + keep
        self.dyn_subs = ",".join([keep] + [ins[i] for i in self.dynamic]) + "->" + out
        self.static_names = [ops[i] for i in self.static]
        self.dynamic_names = [ops[i] for i in self.dynamic]
        self.coefficient = float(contraction.coefficient.subs(ALPHA, alpha))
        self.tensor = None
        self.text = str(contraction)

    @property
    def max_order(self) -> int:
        return max((_operand_order(n) for n in self.static_names if n not in ("wq", "muM")), default=0)

    def accumulate(self, arrays: dict) -> None:
        ops = [arrays[n] for n in self.static_names]
        shapes = tuple(o.shape for o in ops)
        if getattr(self, "_path_for", None) != shapes:  # plan the contraction once per chunk shape
            self._path = np.einsum_path(self.static_subs, *ops, optimize="greedy")[0]
            self._path_for = shapes
        part = np.einsum(self.static_subs, *ops, optimize=self._path)
        self.tensor = part if self.tensor is None else self.tensor + part

    def __call__(self, arrays: dict) -> np.ndarray:
        return self.coefficient * np.einsum(self.dyn_subs, self.tensor, *[arrays[n] for n in self.dynamic_names],
                                            optimize=True)


def precontract(activation: str, samples: SampleSet, points: np.ndarray, n_train: int, sources, chunk: int = 1024):
    """Accumulate every source's sample part over ``samples`` (chunks of ``chunk``)."""
    top = max(s.max_order for s in sources)
    m = n_train
    for part in samples.chunks(chunk):
        arrays = {"wq": part.weight, "muM": np.full(m, 1.0 / m)}
        for n in range(top + 1):
            t = derivative_tensor(activation, part.c, part.w, points, n)
            name = {0: "f", 1: "gf", 2: "Hf"}.get(n, f"D{n}f")
            arrays[name + "P"], arrays[name + "M"] = t, t[:, :m]
        for s in sources:
            s.accumulate(arrays)


def prepared_sources(problem, samples: SampleSet, order: int, spec=None) -> list[list[PrecontractedSource]]:
    """The sources of Q_1..Q_order with their sample parts contracted over ``samples`` (the costly step; the
    result serves any targets y and any times, :func:`solve_prepared`)."""
    from asymexp.symbolic import source_contractions

    per_order = [[PrecontractedSource(c, problem.alpha) for c in source_contractions(k, spec)]
                 for k in range(1, order + 1)]
    precontract(problem.activation, samples, problem.points, problem.x.shape[0], [s for ss in per_order for s in ss])
    return per_order


def solve_contractions(problem, samples: SampleSet, A: np.ndarray, times, order: int, spec=None,
                       rtol: float = 1e-12) -> list[np.ndarray]:
    """Q_1..Q_order at ``times`` from the symbolic layer's contractions, on ``problem.points``.

    Args:
        problem: the Problem; samples: weighted theta samples (quadrature or Monte Carlo); A: (P, P) kernel from
            the same samples; times: (T,); order: K >= 1; spec: optional NetworkSpec for the symbolic layer's
            pruning of identically vanishing terms.
    Returns:
        [Q_1 (T, P), ..., Q_K (T, P)].
    """
    return solve_prepared(prepared_sources(problem, samples, order, spec), A, problem.y, problem.alpha,
                          problem.points.shape[0], times, rtol)


def solve_prepared(per_order, A: np.ndarray, y: np.ndarray, alpha: float, n_points: int, times,
                   rtol: float = 1e-12) -> list[np.ndarray]:
    """Q_1..Q_K (K = len(per_order)) at ``times`` for targets ``y`` (M,) from prepared sources, each (T, P).

    The targets enter only through the training residual r_t = exp(-alpha t K)(y - h_0) (h_0 = 0), so a shifted
    initial output z is the same as targets y - z on the training points (docs/theory/7-random-terms.md)."""
    from scipy.integrate import solve_ivp

    from asymexp.symbolic import integral_definitions

    times = hierarchy.check_times(times)
    order = len(per_order)
    m, p = y.shape[0], n_points
    integrals = integral_definitions(order)
    shapes = {"r": (m,), **{f"Q{k}": (m,) for k in range(1, order + 1)}}
    for it in integrals:
        shapes[it.name] = sum((shapes[f] for f in it.factors), ())
    layout, offset = {}, 0
    for k in range(1, order + 1):
        layout[f"Q{k}full"] = (offset, (p,))
        offset += p
    for it in integrals:
        size = int(np.prod(shapes[it.name]))
        layout[it.name] = (offset, shapes[it.name])
        offset += size
    eig = hierarchy.Eigen.of(A, m)
    a_pm = alpha * A[:, :m] / m

    def rhs(t, z):
        arrays = {"r": eig.apply(eig.decay(alpha, t), y)}
        for name, (off, shape) in layout.items():
            arrays[name] = z[off:off + int(np.prod(shape))].reshape(shape)
        for k in range(1, order + 1):
            arrays[f"Q{k}"] = arrays[f"Q{k}full"][:m]
        dz = np.empty_like(z)
        for k in range(1, order + 1):
            off, _ = layout[f"Q{k}full"]
            dz[off:off + p] = -a_pm @ arrays[f"Q{k}"] + sum(s(arrays) for s in per_order[k - 1])
        for it in integrals:
            off, shape = layout[it.name]
            val = arrays[it.factors[0]]
            for f in it.factors[1:]:
                val = np.multiply.outer(val, arrays[f])
            dz[off:off + val.size] = val.ravel()
        return dz

    t_end = float(np.max(times))
    if t_end == 0.0:
        return [np.zeros((len(times), p)) for _ in range(order)]
    grid = np.sort(np.unique(times))
    sol = solve_ivp(rhs, (0.0, t_end), np.zeros(offset), method="DOP853", t_eval=grid, rtol=rtol, atol=rtol * 1e-2)
    if not sol.success:
        raise FloatingPointError(f"the contraction hierarchy integration failed: {sol.message}")
    pick = [int(np.searchsorted(grid, t)) for t in times]
    return [sol.y[layout[f"Q{k}full"][0]:layout[f"Q{k}full"][0] + p][:, pick].T for k in range(1, order + 1)]
