"""``derive(spec, order)``: every exact statement the toolkit makes about one network specification.

Assembles docs/theory/2-learning-rates.md to 5-verified-formulas.md from :mod:`~asymexp.symbolic.scalings` (rates,
time, orders, nu),
:mod:`~asymexp.symbolic.collapse` (section 4) and, for one hidden layer, :mod:`~asymexp.symbolic.expansion` with the
vanishing analysis of :mod:`~asymexp.symbolic.parity`; for depth >= 2 the finite-width corrections of
:mod:`~asymexp.symbolic.deep_corrections`. ``Derivation.to_json()`` is the ``asymexp derive --json`` document of
docs/interfaces.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from asymexp.activations import get as get_activation
from asymexp.errors import SpecError
from asymexp.symbolic import scalings
from asymexp.symbolic import collapse as deep_rules
from asymexp.symbolic.scalings import HALF

MAX_ORDER = 5


@dataclass(frozen=True)
class Term:
    """The expansion term eps^a eta^b Q_{a,b}: its order (exponent map), randomness, and whether it vanishes."""

    name: str
    a: int
    b: int
    order: tuple
    random: bool
    vanishes: bool
    reason: str = ""


@dataclass
class Derivation:
    """The result of :func:`derive` (exponent maps are tuples of SymPy expressions, one per N_l)."""

    spec: object
    order: int
    gammas: tuple
    groups: list
    time_scale: tuple
    variance_exponent: tuple | None
    collapse: list
    small_parameters: dict
    nu: object
    terms: list
    betas: tuple
    degeneracies: list = field(default_factory=list)
    hierarchy: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    corrections: list = field(default_factory=list)

    @property
    def depth(self) -> int:
        return len(self.gammas)

    @property
    def widths(self) -> list[str]:
        return [f"N{l}" for l in range(1, self.depth + 1)]

    def exponent_dict(self, e) -> dict[str, str]:
        """{"N1": "2/5", ...}: every N_l listed, zeros included."""
        return {n: _text(v) for n, v in zip(self.widths, e)}

    @property
    def learning_rates(self) -> dict[str, tuple]:
        return {g.name: g.learning_rate for g in self.groups}

    def to_json(self) -> dict:
        """The ``asymexp derive --json`` document (docs/interfaces.md), plus documented extra fields."""
        doc = {
            "depth": self.depth,
            "gammas": [_text(g) for g in self.gammas],
            "learning_rates": {name: self.exponent_dict(e) for name, e in self.learning_rates.items()},
            "time_scale": self.exponent_dict(self.time_scale),
            "variance_exponent": None if self.variance_exponent is None else self.exponent_dict(
                self.variance_exponent),
            "nu": self.nu if (self.nu is None or isinstance(self.nu, int)) else str(self.nu),
            "terms": [{"name": t.name, "a": t.a, "b": t.b, "order": self.exponent_dict(t.order), "random": t.random,
                       "vanishes": t.vanishes} for t in self.terms],
            "activation": self.spec.activation,
            "preset": self.spec.preset,
            "weight_laws": {n: str(law) for n, law in zip(self.spec.layer_names, self.spec.weight_laws)},
            "order": self.order,
            "width_path": {n: _text(b) for n, b in zip(self.widths, self.betas)},
            "small_parameters": {k: self.exponent_dict(v) for k, v in self.small_parameters.items()},
            "collapse_orders": {f"Z{l}": self.exponent_dict(v) for l, v in enumerate(self.collapse, start=1)},
            "tangent_kernel": {g.name: {"trains": _is_zero_map(_excess(g, self.depth)),
                                        "order_at_init": self.exponent_dict(_excess(g, self.depth))}
                               for g in self.groups},
            "degeneracies": [{"kind": f.kind, "condition": f.condition, "holds": f.holds, "reason": f.reason}
                             for f in self.degeneracies],
            "hierarchy": [{"name": h.name, "vanishes": h.vanishes, "reason": h.reason,
                           "source_terms": len(h.contractions)} for h in self.hierarchy],
            "notes": list(self.notes),
        }
        if self.depth >= 2:
            doc["deep_corrections"] = [
                {"name": c.name, "quantity": c.quantity, "order": self.exponent_dict(c.order),
                 "path_exponent": _text(c.path_exponent), "present": c.present, "reason": c.reason,
                 "status": c.status, "numeric": c.numeric, "equation": c.text, "latex": c.latex}
                for c in self.corrections]
        if self.depth == 1:
            from asymexp.symbolic.random_expansion import random_terms, term_text

            doc["random_terms"] = [{"name": t.name, "a": t.a, "b": t.b, "vanishes": t.vanishes,
                                    "equation": term_text(t)} for t in random_terms(self.order, self.spec.weight_laws[-1].is_symmetric)]
        return doc


def _text(v) -> str:
    return str(sympy.sympify(v))


def _excess(group, L) -> tuple:
    """The group's one-step contribution at initialization relative to N_L^{-1} (zero map: it trains)."""
    return scalings.add_maps(group.kernel_at_init, scalings.unit_map(L, L, 1))


def _is_zero_map(e) -> bool:
    return all(sympy.expand(v) == 0 for v in e)


def _check(spec, order, betas):
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise SpecError(f"order = {order!r} is not allowed; the order must be an integer in 1..{MAX_ORDER}")
    if betas is None:
        return (sympy.Integer(1),) * spec.depth
    betas = tuple(sympy.Rational(str(b)) for b in betas)
    if len(betas) != spec.depth or any(b <= 0 for b in betas):
        raise SpecError(f"width path {','.join(map(str, betas))} is not allowed; give {spec.depth} positive "
                        "exponents beta_l for N_l = c_l N^beta_l")
    return betas


def derive(spec, order: int = 2, betas=None) -> Derivation:
    """Derive scalings, term orders and (depth 1) the hierarchy for ``spec``.

    Args:
        spec: an :class:`asymexp.spec.NetworkSpec` (numeric or symbolic gammas).
        order: the expansion order K (1..5): terms eps^a eta^b with a + b <= K; Q_{K,0} for depth 1.
        betas: the width path N_l = c_l N^{beta_l} used to order the terms (default: equal widths).
    Returns:
        a :class:`Derivation`; ``.to_json()`` is the docs/interfaces.md document.
    """
    betas = _check(spec, order, betas)
    gammas = scalings.gamma_symbols(spec.gammas)
    L = len(gammas)
    laws = spec.weight_laws
    mean_zero = tuple(law.is_symmetric or law.moment(1) == 0 for law in laws)
    groups = scalings.group_scalings(gammas, mean_zero)
    for g in groups:   # the principle holds by construction; check it anyway
        if scalings.contribution(g) != scalings.unit_map(L, L, -1):
            raise RuntimeError(f"internal error: group {g.name} does not change g by N_L^-1 per step")
    notes = []
    inner_mean_zero = all(mean_zero[1:L])
    collapse = deep_rules.collapse_orders(gammas, spec.activation) if inner_mean_zero else []
    variance = deep_rules.variance_exponent(gammas, spec.activation) if inner_mean_zero else None
    if not inner_mean_zero:
        notes.append("an inner weight law has non-zero mean: the collapse analysis of docs/theory/4-deep-networks.md "
                     "does not apply and no variance exponent is derived")
    params = scalings.small_parameters(gammas[-1], L)
    nu = scalings.nu(gammas[-1])
    flags = deep_rules.degeneracies(gammas, spec.activation, c_mean_zero=mean_zero[L])
    hierarchy_terms, statuses = [], {}
    if L == 1:
        from asymexp.symbolic.equations import hierarchy

        hierarchy_terms = hierarchy(spec, order)
        statuses = {h.order: h for h in hierarchy_terms if h.order >= 1}
    terms = _terms(L, order, params, variance, statuses, betas, gammas, laws[-1].is_symmetric)
    notes += _notes(spec, gammas, variance, nu)
    corrections = []
    if L >= 2 and inner_mean_zero:
        from asymexp.symbolic.deep_corrections import deep_correction_terms

        corrections = deep_correction_terms(spec.gammas, spec.activation, betas, laws[-1].is_symmetric)
    return Derivation(spec, order, gammas, groups, scalings.time_scale(groups), variance, collapse, params, nu,
                      terms, betas, flags, hierarchy_terms, notes, corrections)


def _terms(L, order, params, variance, statuses, betas, gammas, c_symmetric=True) -> list[Term]:
    terms = []
    if L == 1:
        from asymexp.symbolic.random_expansion import random_terms

        randoms = {(t.a, t.b): t for t in random_terms(order, c_symmetric)}
        for total in range(order + 1):
            for b in range(total + 1):
                a = total - b
                name = "h" if (a, b) == (0, 0) else f"Q_{{{a},{b}}}"
                st = statuses.get(a) if b == 0 else None
                vanishes, reason = bool(st and st.vanishes), st.reason if st else ""
                if b >= 1:
                    rt = randoms[(a, b)]
                    vanishes = rt.vanishes
                    reason = "; ".join(sorted({c.reason for c in rt.components})) if vanishes else ""
                terms.append(Term(name, a, b, scalings.term_order(a, b, params), b >= 1, vanishes, reason))
    else:
        zero = scalings.zero_map(L)
        terms.append(Term("h", 0, 0, zero, False, False))
        if variance is not None:
            terms.append(Term("Q_{0,1}", 0, 1, scalings.scale_map(variance, HALF), True, False))
    numeric = all(g.is_Rational for g in gammas)
    if numeric:
        terms.sort(key=lambda t: (-scalings.path_exponent(t.order, betas), t.a + t.b, t.b))
    return terms


def _notes(spec, gammas, variance, nu) -> list[str]:
    L = len(gammas)
    notes = []
    g = gammas[-1]
    if g == HALF:
        notes.append("gamma_L = 1/2: the Xavier/NTK end; the limit is random (eta = 1, the Gaussian term Q_{0,1} is "
                     "O(1)), so this is not an expansion around a deterministic limit; nu is null")
    elif g == 1:
        notes.append("gamma_L = 1: the mean-field end; eps = 1, the limit is the mean-field limit (not h) with "
                     "N^{-1/2} fluctuations; nu is null")
    if not all(x.is_Rational for x in gammas):
        notes.append("symbolic gammas: terms are listed by total order a + b, not by size (the size ordering depends "
                     "on the gamma values)")
    if L == 1:
        notes.append("random terms: written as derivatives of the deterministic terms (section 'The random terms'); "
                     "'vanishes: yes' means every component is identically zero (degree in the targets, odd tensors "
                     "for a symmetric law of c); their means and covariances are computed by "
                     "asymexp.numeric.random_terms (docs/theory/7-random-terms.md)")
    if L >= 2:
        notes.append("depth >= 2: the expansion terms are h and the random term Q_{0,1} (of order sqrt(variance)); "
                     "the finite-width corrections of the mean and the variance (docs/theory/4-deep-networks.md, the "
                     "last two layers given the inner ones) are listed in their own section with orders, equations "
                     "and what the deep prediction computes, estimates or omits; limits are taken one layer after "
                     "another")
        if (get_activation(spec.activation).collapse == "linear" and variance is not None
                and all(x.is_Rational for x in gammas)):
            literal = deep_rules.theory_tanh_rule(gammas)
            if tuple(literal) != tuple(variance):
                notes.append(f"{spec.activation}: docs/theory/4-deep-networks.md's wording (sum of 1 - 2 gamma_l after the last inner "
                             f"gamma = 1/2) gives {deep_rules._show_map(literal)}, the collapse recursion gives "
                             f"{deep_rules._show_map(variance)}: an inner gamma = 1/2 after a collapsed layer keeps it "
                             "collapsed (E sigma(Z)^2 ~ E Z^2 for small Z); the recursion is used")
    return notes
