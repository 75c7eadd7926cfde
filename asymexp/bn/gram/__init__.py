"""The Gram chain of a batch through deep random networks with and without batch normalization: finite-width
simulation (:mod:`asymexp.bn.gram.gram_chain`), the mean-field map and its fixed point
(:mod:`asymexp.bn.gram.gram_mean_field`), one experiment with fits and verdicts (:mod:`asymexp.bn.gram.gram_experiment`)
and its figures (:mod:`asymexp.bn.gram.gram_figures`); the BN kernel by one integral for relu and the identity
(:mod:`asymexp.bn.gram.gram_bn_kernel`), the sweep over batch sizes (:mod:`asymexp.bn.gram.gram_batch_sweep`) and
the mixing rate (:mod:`asymexp.bn.gram.gram_mixing`); docs/batchnorm.md, "The Gram chain".
"""
from __future__ import annotations

from asymexp.bn.gram.gram_chain import ACTIVATIONS, CHAINS, simulate
from asymexp.bn.gram.gram_experiment import run_experiment
from asymexp.bn.gram.gram_mean_field import fixed_point, mean_field_trajectory, predicted_gap_rms

__all__ = ["ACTIVATIONS", "CHAINS", "simulate", "run_experiment", "fixed_point", "mean_field_trajectory", "predicted_gap_rms"]
