"""asymexp: width asymptotics of 1/N^gamma-normalized neural networks.

One immutable :class:`NetworkSpec` (depth, widths, gammas, activation, initial laws) drives every layer of the
toolkit: the SymPy derivations (``asymexp.symbolic``), the numeric theory (``asymexp.theory``), the Numba
simulators (``asymexp.sim``) and the MNIST trainer (``asymexp.mnist``). Importing ``asymexp`` is light: NumPy,
SymPy and Numba are loaded by the submodules that need them, on first use.

>>> from asymexp import NetworkSpec
>>> spec = NetworkSpec.from_strings(gammas="7/10,1", widths="100,200")
>>> spec.depth, [str(g) for g in spec.gammas]
(2, ['7/10', '1'])

References: J. Yu, K. Spiliopoulos, "Normalization effects on deep neural networks", FoDS 5(3) 2023;
"Normalization effects on shallow neural networks and related asymptotic expansions", FoDS 3(2) 2021.
"""
__version__ = "0.1.0"

from asymexp.errors import AsymexpError, DataError, SpecError
from asymexp.spec import Law, NetworkSpec, PRESETS

__all__ = ["AsymexpError", "DataError", "SpecError", "Law", "NetworkSpec", "PRESETS", "__version__"]
