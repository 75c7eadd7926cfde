"""asymexp.symbolic: the SymPy layer. One :class:`~asymexp.spec.NetworkSpec` in, exact exponents and equations out.

Unlike a table of formulas, every result here is derived: learning-rate exponents by solving the linear
equations "each weight group changes g by N_L^{-1} per step" on the backward pass sized as orders of N_l
(docs/theory/2-learning-rates.md); the shallow hierarchy by Taylor expansion and collection of powers of eps (sections 3
and 5); vanishing terms by parity and odd-moment arguments. Exponents are SymPy expressions linear in the
gammas, so symbolic gammas cost little.

- :func:`derive` (everything for one spec; ``.to_json()`` is ``asymexp derive --json``),
- :func:`learning_rate_exponents`, :func:`hierarchy`,
- :func:`source_contractions`, :func:`kernel_contractions`, :func:`integral_definitions`: the machine-usable
  form of the shallow hierarchy that :mod:`asymexp.numeric` evaluates (contract in docs/symbolic.md).

>>> from asymexp import NetworkSpec
>>> from asymexp.symbolic import learning_rate_exponents, source_contractions
>>> learning_rate_exponents(NetworkSpec.from_strings("g1,g2"))["W1"]
{'N1': 2*g1 - 1, 'N2': 2*g2 - 3}
>>> print(source_contractions(1)[0])
alpha**2 * einsum('s,m,n,m,n,spi,smij,snj->p', wq, muM, muM, r, R, gfP, HfM, gfM)
"""
from asymexp.lazy import lazy_attributes

_LAZY = {
    "Contraction": "einsum_form", "integral_definitions": "einsum_form", "kernel_contractions": "einsum_form",
    "source_contractions": "einsum_form", "Derivation": "derivation", "derive": "derivation",
    "TermEquation": "equations", "hierarchy": "equations", "ALPHA": "expansion", "TimeIntegral": "expansion",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())  # SymPy-backed names load on first use


def learning_rate_exponents(spec) -> dict:
    """{"W1": {"N1": e, ...}, ..., "C": {...}}: exponents (SymPy) of alpha_m / alpha,
    docs/theory/2-learning-rates.md."""
    from asymexp.symbolic import scalings

    gammas = scalings.gamma_symbols(spec.gammas)
    return {g.name: {f"N{l}": v for l, v in enumerate(g.learning_rate, start=1)}
            for g in scalings.group_scalings(gammas)}


__all__ = ["ALPHA", "Contraction", "Derivation", "TermEquation", "TimeIntegral", "derive", "hierarchy",
           "integral_definitions", "kernel_contractions", "learning_rate_exponents", "source_contractions"]
