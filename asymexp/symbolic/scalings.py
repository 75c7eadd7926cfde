"""Learning-rate and time exponents from the backward pass, any depth (docs/theory/2-learning-rates.md), and term orders
(section 3).

An *exponent map* is a tuple ``e`` of SymPy expressions, one per hidden width, standing for prod_l N_l^{e_l};
every entry is linear in the gammas (rationals or symbols), so no ``simplify`` is ever needed.

The derivation follows the principle literally. For weight group m (W^1..W^L, C = W^{L+1}) it walks the
backward pass from the output, ``dg/dZ^L = N_L^{-gamma_L} C sigma'(Z^L)`` and
``dg/dZ^l = N_l^{-gamma_l} sigma'(Z^l) sum_{i <= N_{l+1}} dg/dZ^{l+1,i} W^{l+1,i,.}``; each normalized sum
``N_{l+1}^{-gamma_{l+1}} sum_{i <= N_{l+1}}`` met on the way is sized N_{l+1}^{1-gamma_{l+1}} (law of large numbers,
the papers' convention) or, to see what survives at initialization, N_{l+1}^{1/2-gamma_{l+1}} (a mean-zero sum).
The contribution of group m to the one-step change of g is alpha_m * (number of weights) * |dg/dW^m|^2, and the
exponents of alpha_m solve the linear equations "contribution = N_L^{-1}" (``sympy.linsolve``).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import sympy

HALF = sympy.Rational(1, 2)


def gamma_symbols(gammas) -> tuple[sympy.Expr, ...]:
    """Spec gammas (Fraction or symbol name) as SymPy Rationals or Symbols."""
    out = []
    for g in gammas:
        if isinstance(g, str):
            out.append(sympy.Symbol(g))
        elif isinstance(g, Fraction):
            out.append(sympy.Rational(g.numerator, g.denominator))
        else:
            out.append(sympy.sympify(g))
    return tuple(out)


def zero_map(L: int) -> tuple[sympy.Expr, ...]:
    return (sympy.Integer(0),) * L


def unit_map(L: int, layer: int, value) -> tuple[sympy.Expr, ...]:
    """The map with ``value`` at N_layer (1-based) and zeros elsewhere."""
    return tuple(sympy.sympify(value) if l == layer else sympy.Integer(0) for l in range(1, L + 1))


def add_maps(*maps) -> tuple[sympy.Expr, ...]:
    return tuple(sympy.expand(sum(col, sympy.Integer(0))) for col in zip(*maps))


def scale_map(e, factor) -> tuple[sympy.Expr, ...]:
    return tuple(sympy.expand(factor * v) for v in e)


@dataclass(frozen=True)
class GroupScaling:
    """The backward-pass bookkeeping of one weight group (exponent maps)."""

    name: str
    gradient: tuple          # |dg/dW^m_{ij}| with law-of-large-numbers sizing
    gradient_at_init: tuple  # the same with mean-zero backward sums sized N^{1/2 - gamma}
    count: tuple             # number of weights in the group
    learning_rate: tuple     # exponents of alpha_m / alpha (solved)
    kernel_at_init: tuple    # the group's contribution to the one-step change at initialization
    mean_zero_sums: tuple[bool, ...]  # for each backward sum passed (outermost first): mean zero at init?


def _gradient(m: int, gammas, half_sizing: list[bool]) -> tuple:
    """|dg/dW^m| as an exponent map; ``half_sizing[l]`` True sizes the normalized sum over N_{l+1} as
    N^{1/2-gamma} (mean-zero), else N^{1-gamma}."""
    L = len(gammas)
    if m == L + 1:                                   # dg/dC^i = N_L^{-gamma_L} H^{L,i}
        return unit_map(L, L, -gammas[L - 1])
    delta = unit_map(L, L, -gammas[L - 1])           # dg/dZ^{L,i} = N_L^{-gamma_L} C^i sigma'(Z^{L,i})
    for l in range(L - 1, m - 1, -1):                # dg/dZ^l = N_l^{-gamma_l} sigma' sum_{i<=N_{l+1}} dg/dZ^{l+1,i} W
        size = HALF if half_sizing[l] else sympy.Integer(1)
        delta = add_maps(delta, unit_map(L, l + 1, size), unit_map(L, l, -gammas[l - 1]))
    if m >= 2:                                       # dZ^{m,i}/dW^{m,i,j} = N_{m-1}^{-gamma_{m-1}} H^{m-1,j}
        delta = add_maps(delta, unit_map(L, m - 1, -gammas[m - 2]))
    return delta


def _count(m: int, L: int) -> tuple:
    """Number of weights of group m: N_m N_{m-1} with N_0 = d and N_{L+1} = 1 (width-independent)."""
    maps = [zero_map(L)]
    if m <= L:
        maps.append(unit_map(L, m, 1))
    if m >= 2:
        maps.append(unit_map(L, m - 1, 1))
    return add_maps(*maps)


def group_scalings(gammas, mean_zero_laws: tuple[bool, ...] | None = None) -> list[GroupScaling]:
    """Derive every group's learning-rate exponents (docs/theory/2-learning-rates.md) and its size at initialization.

    Args:
        gammas: SymPy gammas (see :func:`gamma_symbols`), length L.
        mean_zero_laws: for W^1..W^L, C: whether the law has mean zero (default: all True), which decides
            whether a backward sum is mean-zero at initialization.
    Returns:
        one :class:`GroupScaling` per group, in the order W1..WL, C.
    """
    L = len(gammas)
    if mean_zero_laws is None:
        mean_zero_laws = (True,) * (L + 1)
    target = unit_map(L, L, -1)
    out = []
    for m in range(1, L + 2):
        lln = _gradient(m, gammas, [False] * (L + 1))
        # the backward sum over layer l+1 multiplies by W^{l+1} (mean zero?) inside a chain starting with C
        mean_zero = [mean_zero_laws[l] or mean_zero_laws[L] for l in range(L + 1)]
        clt = _gradient(m, gammas, mean_zero)
        count = _count(m, L)
        unknowns = tuple(sympy.Dummy(f"a{l}") for l in range(1, L + 1))   # never clash with gamma names
        known = add_maps(count, scale_map(lln, 2))
        equations = [u + k - t for u, k, t in zip(unknowns, known, target)]
        (solution,) = sympy.linsolve(equations, unknowns)
        rate = tuple(sympy.expand(v) for v in solution)
        at_init = add_maps(rate, count, scale_map(clt, 2))
        name = "C" if m == L + 1 else f"W{m}"
        passed = tuple(mean_zero[l] for l in range(L - 1, m - 1, -1))
        out.append(GroupScaling(name, lln, clt, count, rate, at_init, passed))
    return out


def contribution(group: GroupScaling) -> tuple:
    """alpha_m * count * |dg/dW^m|^2 with the derived rate (law-of-large-numbers sizing)."""
    return add_maps(group.learning_rate, group.count, scale_map(group.gradient, 2))


def time_scale(groups: list[GroupScaling]) -> tuple:
    """t = k / prod N_l^{e_l}: an O(1) change of g needs 1/(one-step change) steps. All groups agree."""
    steps = scale_map(contribution(groups[0]), -1)
    return steps


def closed_form_rates(gammas) -> dict[str, tuple]:
    """docs/theory/2-learning-rates.md's closed formula; a test oracle only, never used by :func:`group_scalings`."""
    L = len(gammas)
    out = {}
    for m in range(1, L + 2):
        e = [sympy.Integer(0)] * L
        e[L - 1] -= 1
        if m <= L:
            e[m - 1] += 2 * gammas[m - 1] - 1
        if m >= 2:
            e[m - 2] += 2 * gammas[m - 2] - 1
        for l in range(m + 1, L + 1):
            e[l - 1] += 2 * gammas[l - 1] - 2
        out["C" if m == L + 1 else f"W{m}"] = tuple(sympy.expand(v) for v in e)
    return out


# --- section 3: small parameters, term orders, nu ------------------------------------------------------------
def small_parameters(gamma_L, L: int) -> dict[str, tuple]:
    """eps = N_L^{gamma_L - 1} and eta = N_L^{1/2 - gamma_L} as exponent maps."""
    return {"eps": unit_map(L, L, gamma_L - 1), "eta": unit_map(L, L, HALF - gamma_L)}


def term_order(a: int, b: int, params: dict[str, tuple]) -> tuple:
    """Order of eps^a eta^b."""
    return add_maps(scale_map(params["eps"], a), scale_map(params["eta"], b))


def nu(gamma_L):
    """Number of deterministic corrections before the first random term: the smallest a >= 1 with
    a (1 - gamma) >= gamma - 1/2 (docs/theory/3-shallow-expansion.md). None at gamma = 1/2 or 1; a SymPy Piecewise for a
    symbolic gamma."""
    if gamma_L.is_Rational:
        if gamma_L <= HALF or gamma_L >= 1:
            return None
        a = 1
        while a * (1 - gamma_L) < gamma_L - HALF:
            a += 1
        return a
    a = sympy.Dummy("a")
    (bound,) = sympy.solve(sympy.Eq(a * (1 - gamma_L), gamma_L - HALF), a)   # the equality edge, 1 - g > 0
    return sympy.Piecewise((sympy.ceiling(bound), sympy.And(gamma_L > HALF, gamma_L < 1)))


def path_exponent(order_map, betas) -> sympy.Expr:
    """The exponent of N along the width path N_l = c_l N^{beta_l}: sum_l e_l beta_l."""
    return sympy.expand(sum((e * b for e, b in zip(order_map, betas)), sympy.Integer(0)))
