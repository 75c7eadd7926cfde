"""Which terms of the shallow hierarchy vanish identically, and why (docs/theory/5-verified-formulas.md, "Facts").

For f(theta, x) = c sigma(w . x) every component of a derivative tensor is either
``d_c d_w^{n-1} f = sigma^{(n-1)}(w.x) x^{n-1}`` (one c-index) or ``d_w^n f = c sigma^{(n)}(w.x) x^n`` (no c-index);
two c-indices give zero. Splitting each contracted theta index of a source monomial into its c or w component
turns E_theta[...] into sums of ``E[c^p] * E_w[prod_j sigma^{(k_j)}(w . x_j)] * (dot products of inputs)``. Such
a piece is zero when

- ``E[c^p] = 0`` (exact odd moments of the output law), or
- w -> -w leaves the law of w invariant and the sigma-product is odd, by the activation's parity fact
  (:attr:`asymexp.activations.Activation.parity`): for tanh sigma^{(k)} has parity (-1)^{k+1}; for the logistic
  sigmoid the same holds for k >= 1 (sigma' is even) while sigma = 1/2 + odd has no parity, so a piece with an
  undifferentiated sigma is never killed this way; for gelu sigma^{(k)} has parity (-1)^k for k >= 2 while
  sigma and sigma' = 1/2 + odd have none.

A monomial vanishes when all its pieces do; Q_{K,0} vanishes when every monomial of its source vanishes
(terms carrying an earlier vanishing Q_j drop out first). Nothing is evaluated numerically.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from asymexp.activations import NO_PARITY
from asymexp.activations import get as get_activation
from asymexp.symbolic.expansion import integral_definitions_all, source_monomials
from asymexp.symbolic.tensor_algebra import Monomial



def parity_of(activation: str):
    """The :class:`asymexp.activations.Parity` of an activation's derivatives (the registry's fact); ``"generic"``
    stands for an activation without parity."""
    return NO_PARITY if activation == "generic" else get_activation(activation).parity


@dataclass(frozen=True)
class Symmetries:
    """What the parity arguments may use: the moments of c, whether w -> -w preserves the law of w, and the
    activation (a registry name, or ``"generic"`` for no parity)."""

    c_moment: Callable[[int], object]
    c_law: str
    w_symmetric: bool
    activation: str

    @classmethod
    def from_spec(cls, spec) -> "Symmetries":
        law = spec.c_law

        def moment(p: int):
            if law.is_symmetric and p % 2:
                return Fraction(0)
            if law.kind == "torch-default":
                return None  # even moments of a symmetric law are > 0; the value is not needed
            return law.moment(p)

        w_sym = spec.weight_laws[0].is_symmetric and (not spec.bias or spec.bias_law.is_symmetric)
        return cls(moment, str(law), w_sym, spec.activation)


def _zero_moment(sym: Symmetries, p: int) -> bool:
    value = sym.c_moment(p)
    return value is not None and value == 0


def _odd_in_w(sym: Symmetries, orders: list[int]) -> bool:
    if not sym.w_symmetric:
        return False
    return parity_of(sym.activation).odd_product(orders)


def monomial_vanishes(mono: Monomial, sym: Symmetries) -> tuple[bool, frozenset[str]]:
    """(vanishes, reasons): whether E_theta[...] of ``mono`` is identically zero for f = c sigma(w.x)."""
    labels = sorted({i for d in mono.derivs for i in d.indices})
    reasons: set[str] = set()
    alive = False

    def pieces(k: int, assignment: dict[str, str]):
        nonlocal alive
        if alive:
            return
        if k == len(labels):
            c_power, orders = 0, []
            for d in mono.derivs:
                n_c = sum(assignment[i] == "c" for i in d.indices)
                c_power += n_c == 0
                orders.append(d.order - n_c)
            why = set()
            if _zero_moment(sym, c_power):
                why.add(f"E[c^{c_power}] = 0")
            if _odd_in_w(sym, orders):
                why.add("odd under w -> -w")
            if why:
                reasons.update(why)
            else:
                alive = True
            return
        for comp in ("w", "c"):
            assignment[labels[k]] = comp
            if comp == "c" and any(sum(assignment.get(i) == "c" for i in d.indices) > 1 for d in mono.derivs):
                continue
            pieces(k + 1, assignment)
        del assignment[labels[k]]

    pieces(0, {})
    return (not alive), frozenset(reasons)


@dataclass(frozen=True)
class TermStatus:
    """Whether Q_{K,0} vanishes identically, with the reason in words."""

    order: int
    vanishes: bool
    reason: str


def _depends_on(name: str, vanished: set[str], defs) -> bool:
    if name in vanished:
        return True
    return name in defs and any(_depends_on(f, vanished, defs) for f in defs[name].factors)


def _analyse(order: int, sym: Symmetries):
    defs = integral_definitions_all(order)
    vanished: set[str] = set()
    statuses, survivors = [], {}
    for K in range(1, order + 1):
        kept, reasons = [], set()
        for mono in source_monomials(K):
            hit = sorted(t.name for t in mono.times if _depends_on(t.name, vanished, defs))
            if hit:
                reasons.add(f"it carries {hit[0]}, which is identically zero")
                continue
            zero, why = monomial_vanishes(mono, sym)
            if zero:
                reasons.update(why)
            else:
                kept.append(mono)
        survivors[K] = kept
        if not kept:
            vanished.add(f"Q{K}")
        statuses.append((K, not kept, reasons))
    return statuses, survivors


def surviving_monomials(order: int, spec) -> list[Monomial]:
    """The source monomials of Q_{order,0} not proved identically zero for ``spec``."""
    return _analyse(order, Symmetries.from_spec(spec))[1][order]


def term_statuses(order: int, sym: Symmetries) -> list[TermStatus]:
    """For K = 1..order: whether Q_{K,0} vanishes identically under ``sym``, with the reason."""
    statuses, _ = _analyse(order, sym)
    c_only = Symmetries(sym.c_moment, sym.c_law, False, sym.activation)
    skew = Symmetries(lambda p: Fraction(0) if p == 1 else None, "a mean-zero skewed law", sym.w_symmetric,
                      sym.activation)
    alone_c = {K for K, v, _ in _analyse(order, c_only)[0] if v}
    alone_w = {K for K, v, _ in _analyse(order, skew)[0] if v}
    out = []
    for K, vanishes, reasons in statuses:
        if not vanishes:
            out.append(TermStatus(K, False, "not identically zero: some term of its source survives every "
                                            "moment and parity argument"))
            continue
        parts = []
        if K in alone_c:
            parts.append(f"every piece of its source has an odd power of c and c ~ {sym.c_law} has vanishing odd "
                         "moments (E[c^p] = 0)")
        if K in alone_w:
            parts.append(("independently, " if parts else "") + f"{parity_of(sym.activation).text}, and with "
                         "E[c] = 0 every piece of its source is odd under w -> -w, which leaves the law of w invariant")
        if not parts:
            parts.append("every piece of its source is zero by: " + "; ".join(sorted(reasons)))
        out.append(TermStatus(K, True, "; ".join(parts)))
    return out
