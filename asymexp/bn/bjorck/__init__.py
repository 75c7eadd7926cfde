"""Bjorck et al.'s experiment on real data: plain mini-batch SGD of deep ReLU MLPs with and without batch norm
across learning rates (docs/batchnorm.md, "Training at larger rates (Bjorck et al.)"; ``asymexp lr-train``).

- :mod:`asymexp.bn.bjorck.sgd`: the loss (cross-entropy or MSE), its gradient with the forward pass, the SGD run
  with divergence as an outcome, the evaluation with population batch-norm statistics;
- :mod:`asymexp.bn.bjorck.study`: the settings, their price, the scan over datasets, norms, rates and seeds;
- :mod:`asymexp.bn.bjorck.bjorck_verdicts`: the tables (per rate, mean +- SE over seeds), the largest trainable
  rate, the paired difference at a small rate, the activation growth, and the verdicts;
- :mod:`asymexp.bn.bjorck.bjorck_figures`: accuracy and loss against the rate, activation norms against depth.
"""
