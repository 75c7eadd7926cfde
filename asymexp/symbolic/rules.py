"""The rules derived from a spec, computed once by the symbolic layer and cached: the one home every stage
(simulators, trainer, validation, CLI) reads them from.

- learning-rate exponents alpha_m / alpha = prod_l N_l^{e_ml} for W1..WL, C (docs/theory/2-learning-rates.md),
  derived on the backward pass by :func:`asymexp.symbolic.scalings.group_scalings`;
- the time scale: t = k / N_L (one GD/SGD step is 1/N_L in time);
- the variance exponent of g at initialization, the collapse orders and the degenerate limits
  (docs/theory/4-deep-networks.md), from :mod:`asymexp.symbolic.collapse`;
- nu, the number of deterministic corrections before the first random term (docs/theory/3-shallow-expansion.md).

Everything is an exact :class:`fractions.Fraction`; floating point appears only in :meth:`Rules.learning_rates`.

>>> from asymexp.spec import NetworkSpec
>>> r = rules_for(NetworkSpec(gammas=("7/10", "1")))
>>> {k: str(v) for k, v in r.rate_exponents["W1"].items()}
{'N1': '2/5', 'N2': '-1'}
>>> str(r.variance_exponent["N2"]), r.nu
('-1', None)
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from asymexp.errors import SpecError

Exponents = dict  # {"N1": Fraction, ..., "NL": Fraction}


def _fraction(value) -> Fraction:
    return Fraction(int(value.p), int(value.q))


def _exponent_map(e) -> Exponents:
    return {f"N{l}": _fraction(v) for l, v in enumerate(e, start=1)}


@dataclass(frozen=True)
class Rules:
    """Exact rules of one numeric spec (gammas and activation; widths do not enter).

    Attributes:
        gammas: gamma_1..gamma_L.
        activation: the activation's name.
        rate_exponents: {"W1": {"N1": e, ..., "NL": e}, ..., "C": {...}}: exponents of alpha_m / alpha.
        time_exponents: {"N1": 0, ..., "NL": 1}: one unit of time is prod_l N_l^{e_l} steps (t = k / N_L).
        variance_exponent: {"N1": e, ...}: Var g_0 is of order prod_l N_l^{e_l}.
        collapse_orders: [v_1, ..., v_L]: E (Z^l)^2 is of order prod N^{v_l} (v_1 = 0).
        eps_exponents: {"N1": 0, ..., "NL": gamma_L - 1}: the expansion's small parameter eps = N_L^{gamma_L - 1}.
        nu: the smallest a >= 1 with a (1 - gamma_L) >= gamma_L - 1/2; None at gamma_L = 1/2 or 1.
        degeneracies: ({"kind", "condition", "reason"}, ...) for the degenerate limits that hold.
    """

    gammas: tuple[Fraction, ...]
    activation: str
    rate_exponents: dict[str, Exponents]
    time_exponents: Exponents
    variance_exponent: Exponents
    collapse_orders: tuple[Exponents, ...]
    eps_exponents: Exponents
    nu: int | None
    degeneracies: tuple[dict, ...]

    @property
    def depth(self) -> int:
        return len(self.gammas)

    def learning_rates(self, widths, alpha: float = 1.0):
        """float64 array (L+1,): alpha_m for W1..WL, C at ``widths`` (N_1..N_L) and base rate ``alpha``."""
        import numpy as np

        if len(widths) != self.depth:
            raise SpecError(f"widths {list(widths)} have {len(widths)} entries; depth {self.depth} needs {self.depth}")
        rates = []
        for name in self.rate_exponents:
            value = float(alpha)
            for l, n in enumerate(widths, start=1):
                value *= float(n) ** float(self.rate_exponents[name][f"N{l}"])
            rates.append(value)
        return np.array(rates, dtype=np.float64)

    def time_scale(self, widths) -> float:
        """GD/SGD steps per unit of time at ``widths``: prod_l N_l^{e_l} (N_L; t = k / N_L)."""
        scale = 1.0
        for l, n in enumerate(widths, start=1):
            scale *= float(n) ** float(self.time_exponents[f"N{l}"])
        return scale

    def variance_exponent_along(self, betas=None) -> Fraction:
        """The exponent of N in Var g_0 along N_l = c_l N^{b_l} (all b_l = 1: equal widths): sum_l b_l e_l."""
        betas = [Fraction(1)] * self.depth if betas is None else [Fraction(b) for b in betas]
        return sum((b * self.variance_exponent[f"N{l}"] for l, b in enumerate(betas, start=1)), Fraction(0))


def rules_for(spec) -> Rules:
    """The :class:`Rules` of a numeric :class:`~asymexp.spec.NetworkSpec` (cached per gammas and activation)."""
    if spec.is_symbolic:
        raise SpecError(f"gammas {[str(g) for g in spec.gammas]} are symbolic; numeric rules need numbers "
                        "(use asymexp.symbolic.derive for symbolic exponents)")
    return _rules(tuple(spec.gammas), spec.activation)


@lru_cache(maxsize=256)
def _rules(gammas: tuple[Fraction, ...], activation: str) -> Rules:
    from asymexp.symbolic.collapse import collapse_orders, degeneracies, variance_exponent
    from asymexp.symbolic.scalings import gamma_symbols, group_scalings, nu, small_parameters, time_scale

    gs = gamma_symbols(gammas)
    groups = group_scalings(gs)
    n = nu(gs[-1])
    return Rules(
        gammas=gammas,
        activation=activation,
        rate_exponents={g.name: _exponent_map(g.learning_rate) for g in groups},
        time_exponents=_exponent_map(time_scale(groups)),
        variance_exponent=_exponent_map(variance_exponent(gs, activation)),
        collapse_orders=tuple(_exponent_map(v) for v in collapse_orders(gs, activation)),
        eps_exponents=_exponent_map(small_parameters(gs[-1], len(gs))["eps"]),
        nu=None if n is None else int(n),
        degeneracies=tuple({"kind": f.kind, "condition": f.condition, "reason": f.reason}
                           for f in degeneracies(gs, activation) if f.holds),
    )
