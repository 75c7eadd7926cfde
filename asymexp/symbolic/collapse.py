"""Deep networks at initialization (docs/theory/4-deep-networks.md): collapse orders, the variance exponent, which
weight
groups train, and degenerate limits, each with its reason.

Collapse: with i.i.d. mean-zero W^{l+1}, ``E (Z^{l+1})^2 = N_l^{1 - 2 gamma_l} E[sigma(Z^l)^2]`` (Z^1 = W^1 x is O(1)).
If sigma(0) != 0 (sigmoid), E[sigma(Z^l)^2] is O(1) whatever Z^l does, so the order is N_l^{1 - 2 gamma_l}.
If sigma(0) = 0 and sigma'(0) != 0 (tanh, gelu), sigma(Z)^2 ~ sigma'(0)^2 Z^2 for small Z and is O(1) for O(1) Z, so
the orders multiply:
v_{l+1} = (1 - 2 gamma_l) e_l + v_l. The output g = N_L^{-gamma_L} sum_i C^i sigma(Z^{L,i}) is a sum of N_L i.i.d.
terms, so Var g = N_L^{1 - 2 gamma_L} Var(C sigma(Z^L)).
"""
from __future__ import annotations

from dataclasses import dataclass

from asymexp.activations import get as get_activation
from asymexp.symbolic.scalings import HALF, add_maps, unit_map, zero_map


@dataclass(frozen=True)
class Flag:
    """A degenerate (or special) limit: ``holds`` is True/False for numeric gammas, None when it depends on
    symbols (then ``condition`` says when)."""

    kind: str
    condition: str
    holds: bool | None
    reason: str


def collapse_orders(gammas, activation: str) -> list[tuple]:
    """[v_1, ..., v_L]: exponent maps of E (Z^l)^2 at initialization (v_1 = 0), mean-zero inner laws."""
    L = len(gammas)
    v = [zero_map(L)]
    for l in range(1, L):
        step = unit_map(L, l, 1 - 2 * gammas[l - 1])
        v.append(add_maps(step, v[-1]) if _orders_multiply(activation) else step)
    return v


def _orders_multiply(activation: str) -> bool:
    """The registry's collapse fact: ``"linear"`` (sigma(0) = 0, sigma'(0) != 0) makes collapse orders multiply."""
    return get_activation(activation).collapse == "linear"


def variance_exponent(gammas, activation: str) -> tuple:
    """Leading order of Var g^N_0: N_L^{1 - 2 gamma_L} times E[sigma(Z^L)^2] (O(1) for sigmoid, ~ v_L for tanh
    and gelu)."""
    L = len(gammas)
    outer = unit_map(L, L, 1 - 2 * gammas[L - 1])
    if _orders_multiply(activation):
        return add_maps(outer, collapse_orders(gammas, activation)[L - 1])
    return outer


def theory_tanh_rule(gammas) -> tuple:
    """docs/theory/4-deep-networks.md's wording for tanh, literally: the sum of (1 - 2 gamma_l) from the layer after
    the last
    inner gamma = 1/2 up to L. Kept to compare with :func:`variance_exponent` (they differ when an inner
    gamma = 1/2 follows an inner gamma > 1/2)."""
    L = len(gammas)
    start = 1
    for l in range(1, L):
        if gammas[l - 1] == HALF:
            start = l + 1
    return add_maps(zero_map(L), *[unit_map(L, l, 1 - 2 * gammas[l - 1]) for l in range(start, L + 1)])


def _gt_half(g) -> bool | None:
    if g.is_Rational:
        return bool(g > HALF)
    return None


def _any(values):
    if any(v is True for v in values):
        return True
    if all(v is False for v in values):
        return False
    return None


def degeneracies(gammas, activation: str, c_mean_zero: bool = True) -> list[Flag]:
    """The degenerate limits of docs/theory/4-deep-networks.md that hold (or may hold, for symbolic gammas)."""
    L = len(gammas)
    flags = []
    if not c_mean_zero:
        flags.append(Flag("diverging-initial-output", "E[C] != 0", True,
                          f"E[C] != 0: g_0 has a deterministic part N_L^{{1-gamma_L}} E[C] E[sigma(Z^L)] of order "
                          f"N_L^({1 - gammas[-1]}) (bounded only at gamma_L = 1); the expansion of docs/theory/index.md "
                          "section 3 assumes mean-zero C"))
    if L == 1:
        return flags
    inner = [_gt_half(g) for g in gammas[:L - 2]]   # gamma_1 .. gamma_{L-2}
    cond_inner = " or ".join(f"gamma_{l} > 1/2" for l in range(1, L - 1)) or "never (L = 2)"
    last = _gt_half(gammas[L - 2])
    if not _orders_multiply(activation):      # sigma(0) != 0: collapsed layers give the constant sigma(0)
        holds = _any(inner) if inner else False
        if holds is not False:
            flags.append(Flag(
                "input-independent", cond_inner, holds,
                "some inner gamma_l > 1/2 (l <= L-2): E (Z^{l+1})^2 ~ N_l^{1-2 gamma_l} -> 0 for every input, so "
                "H^{l+1} -> sigma(0) = 1/2 and every later layer, hence both kernel parts K_C and K_{W^L}, "
                "forgets the input: the limit is input-independent"))
        weak = None if (last is None or holds is None) else (last and not holds)
        if weak is not False:
            flags.append(Flag(
                "weak-input", f"gamma_{L - 1} > 1/2" + (f" and not ({cond_inner})" if inner else ""), weak,
                f"gamma_{L - 1} > 1/2: Z^L -> 0, so K_C -> sigma(0)^2 is constant and the input enters only "
                f"through K_{{W^L}} = E[C^2] sigma'(0)^2 mean_j H^{{{L - 1},j}}(x) H^{{{L - 1},j}}(x'), which for "
                "sigmoid is nearly constant (eigenvalues of A/M ~ 0.26 and <= 1e-3, docs/theory/4-deep-networks.md)"))
    else:
        holds = _any(inner) if inner else False
        v = collapse_orders(gammas, activation)
        if holds is not False:
            order = v[L - 2]
            flags.append(Flag(
                "vanishing-kernel", cond_inner, holds,
                f"sigma(0) = 0 and some inner gamma_l > 1/2 (l <= L-2): H^{{L-1}} ~ Z^{{L-1}} collapses, so "
                f"K_{{W^L}} ~ E (Z^{L - 1})^2 and K_C ~ E (Z^L)^2 both vanish; the kernel is of order "
                f"{_show_map(order)} and learning stops"))
        if last is not False and not holds:
            flags.append(Flag(
                "output-kernel-vanishes", f"gamma_{L - 1} > 1/2", last,
                f"sigma(0) = 0 and gamma_{L - 1} > 1/2: K_C ~ E (Z^L)^2 ~ {_show_map(v[L - 1])} -> 0; the limiting "
                "kernel is the W^L part alone"))
    return flags


def _show_map(e) -> str:
    parts = [f"N_{l}^({v})" for l, v in enumerate(e, start=1) if v != 0]
    return " ".join(parts) if parts else "O(1)"
