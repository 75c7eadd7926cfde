"""The machine-usable form of the shallow hierarchy: einsum contractions (docs/symbolic.md has the contract).

Each deterministic term Q_{K,0}, K >= 1, solves

    dQ_K/dt(x_p) = -alpha sum_m muM[m] A[p, m] Q_K[m] + S_K(t, x_p),      Q_K(0) = 0,

and ``source_contractions(K)`` lists S_K as ``sum_c c.coefficient(alpha) * np.einsum(c.subscripts, *arrays)`` with
arrays looked up by name in :data:`OPERANDS` (``s`` = samples of theta, ``p`` = evaluation points, training
points first). The list is derived by :mod:`asymexp.symbolic.expansion`, not typed in.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from asymexp.errors import AsymexpError
from asymexp.symbolic.expansion import ALPHA, TimeIntegral, source_monomials, time_integrals
from asymexp.symbolic.tensor_algebra import Monomial

_THETA_LETTERS = "ijklabcdefghABCDEFGHIJKL"
_POINT_LETTERS = "mnoqrtuvwxyzMNOQRTUVWXYZ"
_DERIV_NAMES = {0: "f", 1: "gf", 2: "Hf", 3: "D3f"}

#: Operand names with their index signature (s: theta samples, p: all points, m/n: training points, i..: theta).
OPERANDS = {
    "wq": "s", "muM": "m",
    "fP": "sp", "gfP": "spi", "HfP": "spij", "D3fP": "spijk",
    "fM": "sm", "gfM": "smi", "HfM": "smij", "D3fM": "smijk",
    "r": "m", "R": "m", "C": "mn", "Q{k}": "m", "IQ{k}": "m",
}


@dataclass(frozen=True)
class Contraction:
    """One term ``coefficient(alpha) * np.einsum(subscripts, *[arrays[name] for name in operands])``.

    ``coefficient`` is a SymPy expression in the symbol ``alpha`` only (``float(c.coefficient.subs(ALPHA, a))``).
    """

    coefficient: sympy.Expr
    subscripts: str
    operands: tuple[str, ...]

    def evaluate(self, arrays: dict, alpha: float, optimize=True):
        """The term's value on ``arrays`` (a dict name -> ndarray) for the base rate ``alpha``; ``optimize`` is
        passed to ``np.einsum`` (False is faster for tiny arrays evaluated many times)."""
        import numpy as np

        missing = [name for name in self.operands if name not in arrays]
        if missing:
            raise AsymexpError(f"operand(s) {', '.join(missing)} missing; needed: {', '.join(self.operands)}")
        coeff = float(self.coefficient.subs(ALPHA, alpha))
        return coeff * np.einsum(self.subscripts, *[arrays[n] for n in self.operands], optimize=optimize)

    def __str__(self) -> str:
        return f"{self.coefficient} * einsum('{self.subscripts}', {', '.join(self.operands)})"


def deriv_operand(order: int, at_training: bool) -> str:
    """The operand name of D^order f: fP, gfP, HfP, D3fP, D4fP, ... (``M`` instead of ``P`` at training points)."""
    base = _DERIV_NAMES.get(order, f"D{order}f")
    return base + ("M" if at_training else "P")


def to_contraction(mono: Monomial) -> Contraction:
    """Translate a scalar monomial (free point ``p``) into an einsum term."""
    theta: dict[str, str] = {}
    points: dict[str, str] = {"p": "p"}

    def th(label):
        if label not in theta:
            theta[label] = _THETA_LETTERS[len(theta)]
        return theta[label]

    def pt(label):
        if label not in points:
            points[label] = _POINT_LETTERS[len(points) - 1]
        return points[label]

    subs, ops = ["s"], ["wq"]
    for m in mono.sums:
        subs.append(pt(m))
        ops.append("muM")
    for t in mono.times:
        subs.append("".join(pt(q) for q in t.points))
        ops.append(t.name)
    for d in mono.derivs:
        subs.append("s" + pt(d.point) + "".join(th(i) for i in d.indices))
        ops.append(deriv_operand(d.order, d.point != "p"))
    return Contraction(mono.coeff, ",".join(subs) + "->p", tuple(ops))


def source_contractions(order: int, spec=None) -> list[Contraction]:
    """S_K for Q_{K,0} (K = ``order`` >= 1) as einsum contractions; see docs/symbolic.md.

    Args:
        order: K >= 1.
        spec: optional :class:`asymexp.spec.NetworkSpec`; when given, terms proved identically zero for its
            laws and activation (parity, odd moments; :mod:`asymexp.symbolic.parity`) are left out.
    Returns:
        list of :class:`Contraction`; the sum of their values is a vector over the evaluation points ``p``.
    """
    _check_order(order)
    monos = source_monomials(order)
    if spec is not None:
        from asymexp.symbolic.parity import surviving_monomials

        monos = surviving_monomials(order, spec)
    return [to_contraction(m) for m in monos]


def integral_definitions(order: int) -> list[TimeIntegral]:
    """The time integrals (operands beyond r, Q{k}) that the sources up to ``order`` use, each after its factors."""
    _check_order(order)
    return time_integrals(order)


def kernel_contractions() -> dict[str, Contraction]:
    """The frozen kernels of h and Q_{0,1} (docs/theory/3-shallow-expansion.md):

    - ``A[p, m] = E[gf(x_p) . gf(x_m)]``: ``dh/dt = alpha sum_m muM A[p,m] r[m]``, and the operator of every Q;
    - ``S[p, q] = E[f(x_p) f(x_q)]``: the covariance of Q_{0,1}(0) over all points.
    """
    one = sympy.Integer(1)
    return {"A": Contraction(one, "s,spi,smi->pm", ("wq", "gfP", "gfM")),
            "S": Contraction(one, "s,sp,sq->pq", ("wq", "fP", "fP"))}


def _check_order(order) -> None:
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise AsymexpError(f"order K = {order!r} is not allowed; K must be an integer >= 1")
    if order > 5:
        raise AsymexpError(f"order K = {order} is too high (K = 5 has 542 source terms, K = 6 takes minutes); "
                           "allowed: 1 <= K <= 5")
