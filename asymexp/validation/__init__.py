"""asymexp.validation: hold the derived expansion against finite-width networks, with honest error bars.

The coord-check of this toolkit (docs/theory/5-verified-formulas.md): train many networks of each width with
:mod:`asymexp.sim`, estimate the mean and variance of g^N_t with standard errors (antithetic pairs, the
frozen-kernel control variate, Rao-Blackwell at t = 0 for deep nets), fit the variance exponent together with
its predicted corrections, the constant r(N) = b0 + b1 eps^2 + ... (as many corrections as the declared
goodness-of-fit rule needs), the mean residuals after eps Q1 + eps^2 Q2, and
give a verdict agree / disagree / undetermined. ``asymexp validate`` is the command; docs/validation.md the guide.

>>> from asymexp.numeric import load_problem
>>> from asymexp.validation import validate_shallow
>>> doc = validate_shallow(load_problem("tanh4.toml"), "3/4", [16, 32, 64], replicas=64, progress=False)
>>> doc["verdict"] in ("agree", "disagree", "undetermined")
True
"""
from asymexp.validation.deep_validation import validate_deep
from asymexp.validation.shallow_validation import validate_shallow

__all__ = ["validate_deep", "validate_shallow"]
