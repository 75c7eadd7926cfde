"""The shallow hierarchy as equations: h, Q_{0,1}, Q_{1,0}, ..., Q_{K,0} for one spec
(docs/theory/3-shallow-expansion.md to 5-verified-formulas.md).

:func:`hierarchy` returns one :class:`TermEquation` per term, each ``dQ/dt = -alpha A Q + source`` with the
source as a SymPy expression (``source_expression``), as einsum contractions (``contractions``, the form the
numeric layer evaluates) and as text/LaTeX, plus whether the term vanishes identically and why.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from asymexp.errors import SpecError
from asymexp.symbolic.einsum_form import Contraction, kernel_contractions, source_contractions
from asymexp.symbolic.expansion import delta_monomials
from asymexp.symbolic.parity import Symmetries, term_statuses

E = sympy.Function("E")
MEAN = sympy.Function("mean")


@dataclass(frozen=True)
class TermEquation:
    """``dQ/dt(x) = -alpha mean_m A(x, x_m) Q(x_m) + source``; ``order`` is K (0 for h and Q_{0,1})."""

    name: str
    order: int
    random: bool
    vanishes: bool
    reason: str
    initial: str
    contractions: tuple[Contraction, ...]
    source_expression: sympy.Expr
    surviving: tuple[Contraction, ...] = ()

    def source_text(self) -> list[str]:
        return [contraction_text(c) for c in self.contractions]

    def source_tex(self) -> list[str]:
        return [contraction_tex(c) for c in self.contractions]


def hierarchy(spec, order: int) -> list[TermEquation]:
    """h, Q_{0,1} and Q_{1,0} .. Q_{order,0} for a one-hidden-layer ``spec``.

    Args:
        spec: a depth-1 :class:`asymexp.spec.NetworkSpec` (its c and w laws and activation decide which terms
            vanish).
        order: K >= 1.
    Returns:
        list of :class:`TermEquation`, in the order h, Q_{0,1}, Q_{1,0}, ..., Q_{K,0}.
    """
    if spec.depth != 1:
        raise SpecError(f"the hierarchy is derived for one hidden layer; this spec has depth {spec.depth}")
    one = sympy.Integer(1)
    kern = kernel_contractions()
    alpha = sympy.Symbol("alpha", positive=True)
    out = [
        TermEquation("h", 0, False, False, "", "h_0 = 0; dh/dt = alpha mean_m A(x, x_m) r_m with r = y - h "
                     f"(A = {kern['A']})", (), alpha * MEAN(sympy.Symbol("m"), sympy.Symbol("r_m") * sympy.Symbol(
                         "A(x,x_m)"))),
        TermEquation("Q_{0,1}", 0, True, False, "",
                     "Q_{0,1}(0) is a centred Gaussian process with covariance S(x,x') = E[f(theta,x) f(theta,x')] "
                     f"({kern['S']})", (), sympy.Integer(0) * one),
    ]
    statuses = {s.order: s for s in term_statuses(order, Symmetries.from_spec(spec))}
    for K in range(1, order + 1):
        cs = tuple(source_contractions(K))
        st = statuses[K]
        kept = tuple(source_contractions(K, spec))
        out.append(TermEquation(f"Q_{{{K},0}}", K, False, st.vanishes, st.reason, f"Q_{{{K},0}}(0) = 0", cs,
                                sum((_expression(c) for c in cs), sympy.Integer(0)), kept))
    return out


def delta_text(k: int, tex: bool = False) -> list[str]:
    """delta_k(t, theta) as text (or LaTeX) terms; the free theta index is named in the text form."""
    from asymexp.symbolic.einsum_form import to_contraction
    from asymexp.symbolic.tensor_algebra import Deriv, Monomial

    lines = []
    for mono in delta_monomials(k):
        # contract the free index with a formal unit vector at "p" to reuse the scalar renderer
        probe = Monomial(mono.coeff, mono.derivs + (Deriv(1, "p", (mono.free,)),), mono.times, mono.sums)
        c = to_contraction(probe)
        lines.append(contraction_tex(c, drop_probe=True) if tex else contraction_text(c, drop_probe=True))
    return lines


# --- rendering -------------------------------------------------------------------------------------------------
def _parse(c: Contraction):
    inputs = c.subscripts.split("->")[0].split(",")
    return list(zip(c.operands, inputs))


def _deriv(name: str):
    """('gfM', ...) -> (order, at_training)."""
    base, where = name[:-1], name[-1]
    order = {"f": 0, "gf": 1, "Hf": 2}.get(base)
    if order is None:
        order = int(base[1:-1])
    return order, where == "M"


def _factors(c: Contraction):
    """Split a term's operands into (mean indices, time factors [(name, idx)], derivative tensors
    [(order, at_training_point, idx)]), in operand order; the sample weights wq are the implicit E[...]."""
    sums, times, derivs = [], [], []
    for name, idx in _parse(c):
        if name == "wq":
            continue
        if name == "muM":
            sums.append(idx)
        elif name[-1] in "PM" and (name[:-1] in ("f", "gf", "Hf") or name.startswith("D")):
            derivs.append((*_deriv(name), idx))
        else:
            times.append((name, idx))
    return sums, times, derivs


def contraction_text(c: Contraction, drop_probe: bool = False) -> str:
    """Plain-text form, e.g. ``alpha**2 mean_{m,n} r[m] R[n] E[ gf(x)_i Hf(x_m)_ij gf(x_n)_j ]``."""
    sums, time_factors, deriv_factors = _factors(c)
    times = [f"{name}[{','.join(idx)}]" for name, idx in time_factors]
    derivs = []
    for order, training, idx in deriv_factors:
        if drop_probe and not training and order == 1:
            free = idx[2:]
            continue
        point = f"x_{idx[1]}" if training else "x"
        label = {0: "f", 1: "gf", 2: "Hf"}.get(order, f"D{order}f")
        derivs.append(f"{label}({point})_{idx[2:]}" if idx[2:] else f"{label}({point})")
    coeff = str(c.coefficient)
    mean = f"mean_{{{','.join(sums)}}} " if sums else ""
    if drop_probe:
        return f"{coeff} * {mean}{' '.join(times)} {' '.join(derivs)}  (free index {free})"
    return f"{coeff} * {mean}{' '.join(times)} E[ {' '.join(derivs)} ]"


def _tex_time(name: str, idx: str) -> str:
    if name in ("r", "R", "C"):
        return f"{name}_{{{idx}}}"
    if name.startswith("IQ"):
        return f"I^{{Q_{{{name[2:]}}}}}_{{{idx}}}"
    if name.startswith("Q"):
        return f"Q_{{{name[1:]}}}(x_{{{idx}}})"
    inner = name[2:-1].replace("[", "(").replace("]", ")")
    return f"I^{{[{inner}]}}_{{{idx}}}"


def contraction_tex(c: Contraction, drop_probe: bool = False) -> str:
    """LaTeX (amsmath only) of one term."""
    sums, time_factors, deriv_factors = _factors(c)
    times = [_tex_time(name, idx) for name, idx in time_factors]
    derivs = []
    for order, training, idx in deriv_factors:
        if drop_probe and not training and order == 1:
            continue
        point = f"x_{{{idx[1]}}}" if training else "x"
        power = "" if order == 1 else f"^{{{order}}}"
        derivs.append(f"\\partial{power} f({point})_{{{idx[2:]}}}")
    coeff = sympy.latex(c.coefficient)
    mean = f"\\operatorname{{mean}}_{{{','.join(sums)}}}\\," if sums else ""
    if drop_probe:
        return f"{coeff}\\,{mean}{' '.join(times)}\\,{' '.join(derivs)}"
    return f"{coeff}\\,{mean}{' '.join(times)}\\,\\mathrm{{E}}\\big[{' '.join(derivs)}\\big]"


def _expression(c: Contraction) -> sympy.Expr:
    """A SymPy expression of one term: coefficient * mean(points, time factors * E(derivative tensors))."""
    sums, time_factors, deriv_factors = _factors(c)
    sums = [sympy.Symbol(idx) for idx in sums]
    times = [sympy.IndexedBase(name)[tuple(sympy.Symbol(i) for i in idx)] for name, idx in time_factors]
    derivs = [sympy.IndexedBase(f"D{order}f")[(sympy.Symbol(f"x_{idx[1]}" if training else "x"),)
                                              + tuple(sympy.Symbol(i) for i in idx[2:])]
              for order, training, idx in deriv_factors]
    body = sympy.Mul(*times) * E(sympy.Mul(*derivs))
    return c.coefficient * MEAN(sympy.Tuple(*sums), body)
