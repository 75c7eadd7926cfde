"""The FIM study's networks: those of :mod:`asymexp.bn.model` (one model for fim, lr-scan and one-step), and the
norms ``asymexp fim`` offers, from the table of :mod:`asymexp.norms` (docs/batchnorm.md)."""
from __future__ import annotations

from asymexp.bn.model import EPS, FimNetwork, Forward, forward, normalize_backward
from asymexp.norms import names

NORMS = names("fim")

__all__ = ["NORMS", "EPS", "FimNetwork", "Forward", "forward", "normalize_backward"]
