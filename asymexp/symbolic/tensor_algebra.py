"""A small algebra of fully contracted tensor networks over one hidden unit theta = (c, w).

Every object of the shallow hierarchy (docs/theory/3-shallow-expansion.md to 5-verified-formulas.md) is a sum of
:class:`Monomial` terms::

    coeff(alpha) * sum_{m, n, ...} mu_m mu_n ... * prod_T T(t)[m, n, ...] * E_theta[ prod_j D^{k_j} f(theta, x_j) ]

where the derivative tensors ``D^k f`` are contracted with each other over theta indices. A monomial with
one free theta index (``free``) is a vector field theta -> R^D, such as a displacement ``delta_k(theta)``.
Labels are plain strings; :func:`fresh` hands out unique ones and :func:`relabel` renames the internal labels
of a monomial before it is inserted into a bigger one. Nothing here imports NumPy.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import sympy

_counter = itertools.count()


def fresh(kind: str) -> str:
    """A new unique label; ``kind`` is ``"t"`` (theta index) or ``"n"`` (training-point index)."""
    return f"{kind}{next(_counter)}"


@dataclass(frozen=True)
class Deriv:
    """The derivative tensor D^order f(theta, x_point), indices ``indices`` (len == order).

    ``point`` is ``"p"`` (the evaluation point x) or a training-point label."""

    order: int
    point: str
    indices: tuple[str, ...]


@dataclass(frozen=True)
class TimeFn:
    """A time-dependent array ``name`` over training points ``points`` (e.g. ``r[m]``, ``C[m, n]``)."""

    name: str
    points: tuple[str, ...]


@dataclass(frozen=True)
class Monomial:
    """coeff * (mean over ``sums``) * prod(times) * E_theta[prod(derivs)], optionally one free theta index."""

    coeff: sympy.Expr
    derivs: tuple[Deriv, ...] = ()
    times: tuple[TimeFn, ...] = ()
    sums: tuple[str, ...] = ()
    free: str | None = None

    def scaled(self, factor) -> "Monomial":
        return replace(self, coeff=self.coeff * factor)


def relabel(mono: Monomial, keep: tuple[str, ...] = ("p",)) -> Monomial:
    """Rename every internal label (summed training points, contracted theta indices, the free index) freshly;
    labels in ``keep`` stay."""
    mapping: dict[str, str] = {}

    def new(label: str, kind: str) -> str:
        if label in keep:
            return label
        if label not in mapping:
            mapping[label] = fresh(kind)
        return mapping[label]

    for s in mono.sums:
        new(s, "n")
    derivs = tuple(Deriv(d.order, new(d.point, "n") if d.point in mono.sums else d.point,
                         tuple(new(i, "t") for i in d.indices)) for d in mono.derivs)
    times = tuple(TimeFn(t.name, tuple(mapping.get(q, q) for q in t.points)) for t in mono.times)
    return Monomial(mono.coeff, derivs, times, tuple(mapping[s] for s in mono.sums),
                    None if mono.free is None else new(mono.free, "t"))


def product(parts: list[Monomial], coeff=1, free: str | None = None) -> Monomial:
    """The product of monomials whose labels are already distinct (call :func:`relabel` first)."""
    c = sympy.Integer(1) * coeff
    derivs, times, sums = [], [], []
    for part in parts:
        c *= part.coeff
        derivs += part.derivs
        times += part.times
        sums += part.sums
    return Monomial(sympy.expand(c), tuple(derivs), tuple(times), tuple(sums), free)


def rename_free(mono: Monomial, label: str) -> Monomial:
    """The same vector with its free theta index called ``label``."""
    old = mono.free
    derivs = tuple(Deriv(d.order, d.point, tuple(label if i == old else i for i in d.indices)) for d in mono.derivs)
    return replace(mono, derivs=derivs, free=label)


def derivative_tensor(order: int, point: str, indices: tuple[str, ...]) -> Monomial:
    """The monomial E[D^order f(theta, point)] with the given indices (no coefficient)."""
    return Monomial(sympy.Integer(1), (Deriv(order, point, indices),))


def collect(monos: list[Monomial]) -> list[Monomial]:
    """Canonical labels (order of first appearance), like terms merged, zero terms dropped; order kept."""
    out: dict[tuple, Monomial] = {}
    for mono in monos:
        canon = canonical(mono)
        key = (canon.derivs, canon.times, canon.sums, canon.free)
        if key in out:
            out[key] = replace(out[key], coeff=sympy.expand(out[key].coeff + canon.coeff))
        else:
            out[key] = canon
    return [m for m in out.values() if m.coeff != 0]


def canonical(mono: Monomial) -> Monomial:
    """Relabel to c0, c1, ... (theta) and m0, m1, ... (training points) in order of first appearance, with the
    summed training points ordered as they first appear."""
    theta: dict[str, str] = {}
    points: dict[str, str] = {}
    if mono.free is not None:
        theta[mono.free] = "c_free"

    def th(label):
        return theta.setdefault(label, f"c{len(theta)}")

    def pt(label):
        if label == "p":
            return "p"
        return points.setdefault(label, f"m{len(points)}")

    derivs = tuple(Deriv(d.order, pt(d.point), tuple(th(i) for i in d.indices)) for d in mono.derivs)
    times = tuple(TimeFn(t.name, tuple(pt(q) for q in t.points)) for t in mono.times)
    sums = tuple(sorted((pt(s) for s in mono.sums), key=lambda s: int(s[1:])))
    return Monomial(mono.coeff, derivs, times, sums, None if mono.free is None else "c_free")
