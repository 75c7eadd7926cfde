"""The random terms Q_{a,b} (b >= 1) of the shallow expansion as derivatives of the deterministic ones
(docs/theory/7-random-terms.md).

The output is G(z, m): the deterministic hierarchy sum_k eps^k Q_k(z, m) run from the initial output z (a target
shift y - z on the training points) with the expectation tensors of the measure mu_0 + m. At width N,
z = eta Z (Z = nu(f), the Gaussian initial output) and m = eps eta nu (the measure's fluctuation), so Taylor's
formula gives

    Q_{a,b} = sum over k + j = a, i + j = b of  (1 / (i! j!)) d^i_z d^j_m Q_k(0, 0) [Z^i, nu^j].

A component vanishes identically when i > k + 1 (Q_k is a polynomial of degree k + 1 in the targets; h = Q_0 is
affine), and, for a symmetric law of c, when k is odd and j = 0 (Q_k(z, 0) = 0 for odd k). Each component X solves
the Q_k equation differentiated: dX/dt = G X + (the same derivative of the source S_k and of the operator's
measure dependence applied to lower derivatives), a linear ODE driven by the Gaussian fields and lower terms.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import sympy as sp

EPS, ETA, T = sp.symbols("epsilon eta t", positive=True)
Z_FIELD, NU_FIELD = sp.symbols("Z nu")
_Z, _M = sp.symbols("z m")


def q_function(k: int) -> sp.Function:
    """Q_k(z, m): the deterministic term of order k from initial output z and measure perturbation m."""
    return sp.Function(f"Q_{k}")


@dataclass(frozen=True)
class Component:
    """(1/(i! j!)) d^i_z d^j_m Q_k [Z^i, nu^j]; ``vanishes`` with the reason when identically zero."""

    k: int
    i: int
    j: int
    vanishes: bool
    reason: str

    @property
    def coefficient(self) -> sp.Rational:
        return sp.Rational(1, factorial(self.i) * factorial(self.j))

    def derivative(self) -> sp.Expr:
        expr = q_function(self.k)(_Z, _M)
        if self.i:
            expr = sp.Derivative(expr, (_Z, self.i))
        if self.j:
            expr = sp.Derivative(expr, (_M, self.j))
        return expr

    def expression(self) -> sp.Expr:
        return self.coefficient * self.derivative() * Z_FIELD ** self.i * NU_FIELD ** self.j

    def equation(self) -> sp.Eq:
        """dX/dt = G X + dS, X this derivative of Q_k: the differentiated Q_k equation (G the frozen generator,
        dS the same derivative of the source and of the measure dependence of G, applied to lower terms)."""
        x = sp.Function(f"X_{self.k}{self.i}{self.j}")(T)
        gen, src = sp.Symbol("G"), sp.Function(f"dS_{self.k}{self.i}{self.j}")(T)
        return sp.Eq(sp.Derivative(x, T), gen * x + src)


@dataclass(frozen=True)
class RandomTerm:
    """Q_{a,b}: its order eps^a eta^b, its components and whether all of them vanish."""

    a: int
    b: int
    components: tuple

    @property
    def name(self) -> str:
        return f"Q_{{{self.a},{self.b}}}"

    @property
    def order(self) -> sp.Expr:
        return EPS ** self.a * ETA ** self.b

    @property
    def vanishes(self) -> bool:
        return all(c.vanishes for c in self.components)

    def expression(self) -> sp.Expr:
        return sp.Add(*[c.expression() for c in self.components if not c.vanishes])


def _component(k: int, i: int, j: int, c_symmetric: bool) -> Component:
    if i > k + 1:
        return Component(k, i, j, True, f"Q_{k} is a polynomial of degree {k + 1} in the targets")
    if c_symmetric and k % 2 == 1 and j == 0:
        return Component(k, i, j, True, f"Q_{k}(z, 0) = 0 for a symmetric law of c (odd tensors)")
    return Component(k, i, j, False, "")


def random_terms(order: int, c_symmetric: bool = True) -> list[RandomTerm]:
    """Every Q_{a,b} with b >= 1 and a + b <= ``order`` (1..6), in order of a + b then b."""
    if not 1 <= int(order) <= 6:
        raise ValueError(f"order = {order!r}; 1..6 is allowed")
    out = []
    for total in range(1, int(order) + 1):
        for b in range(1, total + 1):
            a = total - b
            comps = tuple(_component(a - j, b - j, j, c_symmetric) for j in range(0, min(a, b) + 1))
            out.append(RandomTerm(a, b, comps))
    return out


def term_text(term: RandomTerm) -> str:
    """One line: Q_{a,b} = sum of components (or 0 with the reasons)."""
    if term.vanishes:
        return f"{term.name} = 0 ({'; '.join(sorted({c.reason for c in term.components}))})"
    return f"{term.name} = {sp.sstr(term.expression())}"


def term_latex(term: RandomTerm) -> str:
    body = "0" if term.vanishes else sp.latex(term.expression())
    return f"Q_{{{term.a},{term.b}}} = {body}"
