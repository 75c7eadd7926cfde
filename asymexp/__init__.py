"""asymexp: width asymptotics of 1/N^gamma-normalized neural networks.

One immutable :class:`NetworkSpec` (depth, widths, gammas, activation, initial laws) drives every layer of the
toolkit: the SymPy derivations (``asymexp.symbolic``), the numeric theory (``asymexp.theory``), the Numba
simulators (``asymexp.sim``) and the MNIST trainer (``asymexp.mnist``). Importing ``asymexp`` is light: NumPy,
SymPy and Numba are loaded by the submodules that need them, on first use.

The Python surface is five verbs, each returning a typed, frozen result with ``to_dict()``, ``to_json()`` and
``plot()`` (see :mod:`asymexp.api`)::

    import asymexp
    asymexp.derive("7/10,1")                                      # exact exponents (SymPy)
    asymexp.theory("tanh4.toml", gamma=0.75, times=1.0)           # h, V, Q1, Q2 (one or several gammas)
    asymexp.simulate("3/4", x, y, widths=16, replicas=8)          # finite-width networks (Numba)
    asymexp.validate("tanh4.toml", 0.75, widths=[16, 32, 64], replicas=64)
    asymexp.train("1,1", widths=[20, 20], epochs=1)               # MNIST

``asymexp.theory`` and ``asymexp.validate`` are also the subpackages of the same names: calling them runs the
verb, their attributes are the subpackages' (``asymexp.theory.shallow_theory``).

>>> from asymexp import NetworkSpec
>>> spec = NetworkSpec.from_strings(gammas="7/10,1", widths="100,200")
>>> spec.depth, [str(g) for g in spec.gammas]
(2, ['7/10', '1'])

References: J. Yu, K. Spiliopoulos, "Normalization effects on deep neural networks", FoDS 5(3) 2023;
"Normalization effects on shallow neural networks and related asymptotic expansions", FoDS 3(2) 2021.
"""
__version__ = "0.1.0"

import importlib
import sys
import types

from asymexp.errors import AsymexpError, DataError, SpecError
from asymexp.spec import Law, NetworkSpec, PRESETS

_VERBS = ("derive", "theory", "simulate", "validate", "train")
_RESULTS = ("DerivationResult", "TheoryResult", "SimulationResult", "ValidationResult", "TrainingResult")
_DUAL = ("theory", "validate")  # both a verb and a subpackage


class _VerbModule(types.ModuleType):
    """A subpackage that is also a verb: ``asymexp.theory(...)`` runs :func:`asymexp.api.verbs.theory`, while
    ``asymexp.theory.shallow_theory`` stays the subpackage's attribute."""

    def __call__(self, *args, **kwargs):
        return _verb(self.__name__.rpartition(".")[2])(*args, **kwargs)

    @property
    def __signature__(self):
        import inspect

        return inspect.signature(_verb(self.__name__.rpartition(".")[2]))


class _Package(types.ModuleType):
    """The type of the ``asymexp`` module: whenever the import system binds the subpackage ``asymexp.theory``
    or ``asymexp.validate`` here, that subpackage becomes callable (a :class:`_VerbModule`)."""

    def __setattr__(self, name, value):
        if (name in _DUAL and isinstance(value, types.ModuleType) and not isinstance(value, _VerbModule)
                and getattr(value, "__name__", "") == f"{__name__}.{name}"):
            value.__class__ = _VerbModule
        super().__setattr__(name, value)


def _verb(name):
    return getattr(importlib.import_module("asymexp.api.verbs"), name)


def __getattr__(name):
    """The verbs and result classes, loaded on first use (``import asymexp`` stays light)."""
    if name in _DUAL:
        return importlib.import_module(f"{__name__}.{name}")  # bound here, made callable, by _Package
    if name in _VERBS:
        value = _verb(name)
    elif name in _RESULTS:
        value = getattr(importlib.import_module("asymexp.api.results"), name)
    else:
        raise AttributeError(f"module 'asymexp' has no attribute {name!r}")
    globals()[name] = value
    return value


sys.modules[__name__].__class__ = _Package
for _name in _DUAL:  # a subpackage imported before this line (none today) becomes callable too
    if f"{__name__}.{_name}" in sys.modules:
        setattr(sys.modules[__name__], _name, sys.modules[f"{__name__}.{_name}"])

__all__ = ["AsymexpError", "DataError", "SpecError", "Law", "NetworkSpec", "PRESETS", "__version__",
           *_VERBS, *_RESULTS]
