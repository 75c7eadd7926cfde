"""What the symbolic layer predicts for a deep validation (docs/theory/4-deep-networks.md): the variance exponent
along a width path, the degenerate limits that hold, and the relative corrections of Var g^N_t, slowest first.

Shared by the deep validation (:mod:`asymexp.validation.deep_validation`) and its constant checks
(:mod:`asymexp.validation.deep_constants`), which import it and not each other.
"""
from __future__ import annotations

from fractions import Fraction

from asymexp.activations import get as get_activation


def spec_rules(gammas, activation: str):
    """The :class:`asymexp.symbolic.rules.Rules` of a deep spec with these gammas and this activation."""
    from asymexp.spec import NetworkSpec
    from asymexp.symbolic.rules import rules_for

    return rules_for(NetworkSpec(gammas=tuple(gammas), activation=activation))


def predicted_exponent(gammas, activation: str, path=None) -> tuple[Fraction, str]:
    """Exponent of N in Var g^N along the width path (equal widths without one), and where it came from: the
    per-layer exponents e_l of N_l (:class:`asymexp.symbolic.rules.Rules`) summed with the path's powers,
    sum_l b_l e_l."""
    betas = None if path is None else [b for _, b in path]
    along = "equal widths" if path is None else "the width path"
    total = spec_rules(gammas, activation).variance_exponent_along(betas)
    return total, f"asymexp.symbolic.collapse.variance_exponent (summed over {along})"


def degenerate_flags(gammas, activation: str) -> list[dict]:
    """Degenerate limits of docs/theory/4-deep-networks.md that hold, from the spec's rules."""
    return [{"kind": f["kind"], "reason": f["reason"]} for f in spec_rules(gammas, activation).degeneracies]


def deep_correction_terms(gammas, activation: str, t: float, path=None, count: int = 2
                          ) -> list[tuple[float, str]]:
    """Relative corrections N^s of Var g^N_t along the width path (equal widths without one), slowest first.

    At t = 0, Var g_0 = N_L^{1-2gamma_L} Var(C) E sigma(Z^L)^2 exactly, with no eps correction. E sigma(Z^L)^2
    is analytic in the second moments q_l = E (Z^l)^2 of the collapsing layers. These are of order N^{v_l}, with
    v_l from :func:`asymexp.symbolic.collapse.collapse_orders` (docs/theory/4-deep-networks.md). The corrections are
    therefore
    the sums sum_l k_l v_l (k_l >= 0, not all 0) over the layers with v_l < 0:

    - tanh (sigma(0) = 0, E tanh(Z)^2 = q - 2 q^2 + ...): every such layer enters alone; the same for every
      activation with the registry's collapse fact ``"linear"`` (gelu: E gelu(Z)^2 = q/4 + O(q^2));
    - sigmoid (sigma(0) != 0, sigma''(0) = 0: E sigma(Z^L)^2 = 1/4 + q_L / 16 + ...): each term contains v_L.

    At t > 0 the training correction eps_L^2 = N_L^{2gamma_L-2} joins them."""
    rules = spec_rules(gammas, activation)
    gammas = rules.gammas
    L = len(gammas)
    betas = [Fraction(1)] * L if path is None else [b for _, b in path]
    v = [sum((b * vl[f"N{l}"] for l, b in enumerate(betas, start=1)), Fraction(0)) for vl in rules.collapse_orders]
    layers = [l for l in range(1, L) if v[l] < 0]          # 0-based index l is layer l + 1 (Z^{l+1})
    terms: dict[Fraction, str] = {}

    def add(power: Fraction, name: str) -> None:
        if power < 0:
            terms[power] = terms[power] + " = " + name if power in terms else name

    def combos(k_left: int, start: int, power: Fraction, used: tuple) -> None:
        if used and (get_activation(activation).collapse == "linear" or (L - 1) in used):
            add(power, "*".join(f"q{l + 1}" for l in used))
        if k_left == 0:
            return
        for i in range(start, len(layers)):
            combos(k_left - 1, i, power + v[layers[i]], used + (layers[i],))

    combos(count + 1, 0, Fraction(0), ())
    if t > 0 and gammas[-1] < 1:
        add(betas[-1] * (2 * gammas[-1] - 2), "eps_L^2")
    ordered = sorted(terms.items(), key=lambda kv: -kv[0])[:count]
    return [(float(p), f"{name} (N^{p})") for p, name in ordered]
