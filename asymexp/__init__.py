"""asymexp: width asymptotics of 1/N^gamma-normalized neural networks.

One immutable :class:`NetworkSpec` (depth, widths, gammas, activation, initial laws) drives every layer of the
toolkit: the SymPy derivations (``asymexp.symbolic``), the numeric theory (``asymexp.numeric``), the Numba
simulators (``asymexp.sim``), the validation (``asymexp.validation``) and the MNIST trainer (``asymexp.mnist``).
Importing ``asymexp`` is light: NumPy, SymPy and Numba are loaded by the submodules that need them, on first use.

The Python surface is five verbs (and the six study verbs below), each returning a typed, frozen result with
``to_dict()``, ``to_json()`` and ``plot()`` (see :mod:`asymexp.api`)::

    import asymexp
    asymexp.derive("7/10,1")                                      # exact exponents (SymPy)
    asymexp.theory("tanh4.toml", gamma=0.75, times=1.0)           # h, V, Q1, Q2 (one or several gammas)
    asymexp.simulate("3/4", x, y, widths=16, replicas=8)          # finite-width networks (Numba)
    asymexp.validate("tanh4.toml", 0.75, widths=[16, 32, 64], replicas=64)
    asymexp.train("1,1", widths=[20, 20], epochs=1)               # MNIST

and one verb per batch-normalization study, with its command's parameters (docs/batchnorm.md)::

    asymexp.gram([32, 64], depth=120, runs=8)                     # the Gram chain (asymexp gram)
    asymexp.fim([32, 64, 128], rho=1, norm="none,mean-last")      # FIM spectrum (also lr_scan, one_step, rmt,
                                                                  # lr_train)

>>> from asymexp import NetworkSpec
>>> spec = NetworkSpec.from_strings(gammas="7/10,1", widths="100,200")
>>> spec.depth, [str(g) for g in spec.gammas]
(2, ['7/10', '1'])

References: J. Yu, K. Spiliopoulos, "Normalization effects on deep neural networks", FoDS 5(3) 2023;
"Normalization effects on shallow neural networks and related asymptotic expansions", FoDS 3(2) 2021.
"""
__version__ = "0.1.0"

from asymexp.errors import AsymexpError, DataError, SpecError
from asymexp.lazy import lazy_attributes
from asymexp.spec import Law, NetworkSpec, PRESETS, parse_gammas

_VERBS = ("derive", "theory", "simulate", "validate", "train", "fim", "gram", "lr_scan", "one_step", "rmt")
_RESULTS = ("DerivationResult", "TheoryResult", "SimulationResult", "ValidationResult", "TrainingResult",
            "FimResult", "GramResult", "LrScanResult", "OneStepResult", "RmtResult")
_VERBS, _RESULTS = _VERBS + ("lr_train",), _RESULTS + ("LrTrainResult",)    # asymexp lr-train (docs/batchnorm.md)
_VERBS, _RESULTS = _VERBS + ("process",), _RESULTS + ("ProcessResult",)     # asymexp process (docs/validation.md)


__getattr__ = lazy_attributes(__name__, {name: "api" for name in _VERBS + _RESULTS}, globals())  # on first use


__all__ = ["AsymexpError", "DataError", "SpecError", "Law", "NetworkSpec", "PRESETS", "parse_gammas", "__version__",
           *_VERBS, *_RESULTS]
