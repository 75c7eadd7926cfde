"""Mechanical derivation of the deterministic hierarchy h, Q_{1,0}, Q_{2,0}, ... of the shallow network.

docs/theory/3-shallow-expansion.md to 5-verified-formulas.md. One hidden unit moves by gradient flow,
``d theta/dt = eps alpha mean_m (y_m - g_t(x_m)) grad f(theta_t, x_m)``, and the deterministic part of the output is
``g_t(x) = eps^{-1} E[f(theta_t, x) - f(theta_0, x)]`` (mean-zero c). Substituting::

    theta_t = theta_0 + sum_{k>=1} eps^k delta_k(t, theta_0),      g_t = h_t + sum_{K>=1} eps^K Q_K,

Taylor-expanding ``grad f(theta_t, .) = sum_q eps^q G_q(.)`` with ``G_q = sum_n 1/n! D^{n+1} f[delta_k1, ...,
delta_kn]``
(ordered k's summing to q) and collecting powers of eps gives::

    d delta_k/dt = alpha mean_m [ r_m G_{k-1}(x_m) - sum_{j=1}^{k-1} Q_j(x_m) G_{k-1-j}(x_m) ],   delta_k(0) = 0,
    dg/dt = alpha mean_m (y_m - g_m) A_t(x, x_m),   A_t = E[grad f(theta_t, x) . grad f(theta_t, x')]
          = sum_q eps^q A_q,   A_q(x, x') = sum_{a+b=q} E[G_a(x) . G_b(x')],
    dQ_K/dt = -alpha mean_m A_0(x, x_m) Q_K(x_m) + alpha mean_m [ r_m A_K(x, x_m) - sum_{j=1}^{K-1} Q_j(x_m)
    A_{K-j}(x, x_m) ].

Time integrals of products of time functions that appear when delta_k is integrated get names
(``R``, ``C``, ``IQ1``, ``I[r,C]``, ...) recorded as :class:`TimeIntegral` definitions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import sympy

from asymexp.symbolic.tensor_algebra import (Deriv, Monomial, TimeFn, collect, fresh, product, relabel, rename_free)

ALPHA = sympy.Symbol("alpha", positive=True)


@dataclass(frozen=True)
class TimeIntegral:
    """``name[i_1..i_n](t) = int_0^t prod_j factors[j](s)[its indices] ds``; the indices of the factors are
    concatenated in order (an outer product), e.g. ``C[m, n] = int_0^t r[m](s) R[n](s) ds``."""

    name: str
    factors: tuple[str, ...]


def integral_name(factors: tuple[str, ...]) -> str:
    """The operand name of ``int_0^t prod factors``: R, C, IQk for the section-5 ones, else ``I[f1,f2,...]``."""
    if factors == ("r",):
        return "R"
    if factors == ("r", "R"):
        return "C"
    if len(factors) == 1 and factors[0].startswith("Q"):
        return "I" + factors[0]
    return "I[" + ",".join(factors) + "]"


def _compositions(total: int, parts: int):
    """Ordered tuples of ``parts`` positive integers summing to ``total``."""
    if parts == 1:
        yield (total,)
        return
    for first in range(1, total - parts + 2):
        for rest in _compositions(total - first, parts - 1):
            yield (first,) + rest


class _Expansion:
    """Caches delta_k, G_q and the integral definitions while the hierarchy is derived."""

    def __init__(self):
        self.deltas: dict[int, list[Monomial]] = {}
        self.integrals: dict[str, TimeIntegral] = {}

    # G_q(point): coefficient of eps^q in grad f(theta_t, point); a vector (free theta index).
    def grad_coefficient(self, q: int, point: str) -> list[Monomial]:
        free = fresh("t")
        if q == 0:
            return [Monomial(sympy.Integer(1), (Deriv(1, point, (free,)),), free=free)]
        out = []
        for n in range(1, q + 1):
            for ks in _compositions(q, n):
                slots = tuple(fresh("t") for _ in ks)
                head = Monomial(sympy.Rational(1, math.factorial(n)), (Deriv(n + 1, point, (free,) + slots),))
                choices = [self.delta(k) for k in ks]
                for picks in _product(choices):
                    parts = [head] + [rename_free(relabel(v), slot) for v, slot in zip(picks, slots)]
                    out.append(product(parts, free=free))
        return out

    def delta(self, k: int) -> list[Monomial]:
        """delta_k(t, theta) as a list of vector monomials, each with exactly one (integral) time function."""
        if k not in self.deltas:
            integrated = [self._integrate(m) for m in self._rate(k)]
            self.deltas[k] = collect(integrated)
        return self.deltas[k]

    def _rate(self, k: int) -> list[Monomial]:
        m = fresh("n")
        drivers = [("r", 0, sympy.Integer(1))] + [(f"Q{j}", j, sympy.Integer(-1)) for j in range(1, k)]
        out = []
        for name, j, sign in drivers:
            weight = Monomial(ALPHA * sign, times=(TimeFn(name, (m,)),), sums=(m,))
            for g in self.grad_coefficient(k - 1 - j, m):
                out.append(product([weight, g], free=g.free))
        return out

    def _integrate(self, mono: Monomial) -> Monomial:
        driver, rest = mono.times[0], sorted(mono.times[1:], key=lambda t: t.name)
        factors = (driver.name,) + tuple(t.name for t in rest)
        points = driver.points + tuple(q for t in rest for q in t.points)
        name = integral_name(factors)
        self.integrals.setdefault(name, TimeIntegral(name, factors))
        return Monomial(mono.coeff, mono.derivs, (TimeFn(name, points),), mono.sums, mono.free)

    def kernel_coefficient(self, q: int, point: str) -> list[Monomial]:
        """A_q(x, x_point) = sum_{a+b=q} E[G_a(x) . G_b(x_point)] (scalar monomials)."""
        out = []
        for a in range(q + 1):
            for left in self.grad_coefficient(a, "p"):
                for right in self.grad_coefficient(q - a, point):
                    right = rename_free(right, left.free)
                    out.append(product([left, right]))
        return out

    def source(self, order: int) -> list[Monomial]:
        """S_K(t, x): the source of dQ_K/dt, K = ``order`` >= 1 (scalar monomials in the point ``p``)."""
        m = fresh("n")
        drivers = [("r", 0, sympy.Integer(1))] + [(f"Q{j}", j, sympy.Integer(-1)) for j in range(1, order)]
        out = []
        for name, j, sign in drivers:
            weight = Monomial(ALPHA * sign, times=(TimeFn(name, (m,)),), sums=(m,))
            for a in self.kernel_coefficient(order - j, m):
                out.append(product([weight, a]))
        return collect(out)


def _product(lists):
    if not lists:
        yield ()
        return
    for head in lists[0]:
        for tail in _product(lists[1:]):
            yield (head,) + tail


@lru_cache(maxsize=None)
def _derived(order: int):
    exp = _Expansion()
    sources = {k: tuple(exp.source(k)) for k in range(1, order + 1)}
    deltas = {k: tuple(exp.delta(k)) for k in range(1, order + 1)}
    return sources, deltas, dict(exp.integrals)


def source_monomials(order: int) -> list[Monomial]:
    """The source S_K of dQ_{K,0}/dt as monomials (K = ``order`` >= 1); see the module docstring."""
    return list(_derived(order)[0][order])


def delta_monomials(order: int) -> list[Monomial]:
    """delta_k(t, theta) for k = ``order`` as vector monomials (free theta index ``c_free``)."""
    return list(_derived(order)[1][order])


def time_integrals(order: int) -> list[TimeIntegral]:
    """Every time integral the sources up to ``order`` use, in dependency order (each after its factors)."""
    defs = _derived(order)[2]
    done: list[TimeIntegral] = []

    def visit(name):
        if name in defs and defs[name] not in done:
            for factor in defs[name].factors:
                visit(factor)
            done.append(defs[name])

    for name in sorted(defs, key=lambda n: (len(defs[n].factors), n)):
        visit(name)
    return done


def integral_definitions_all(order: int) -> dict[str, TimeIntegral]:
    """Name -> definition of every time integral used up to ``order``."""
    return dict(_derived(order)[2])
