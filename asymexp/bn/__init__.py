"""The batch-normalization wing (docs/batchnorm.md): the studies of normalized networks and the theory they check.

- :mod:`asymexp.bn.fim` -- the Fisher information of random networks (``asymexp fim``);
- :mod:`asymexp.bn.gram` -- the Gram chain of a batch (``asymexp gram``);
- :mod:`asymexp.bn.lrscan` -- learning-rate thresholds of full-batch GD (``asymexp lr-scan``);
- :mod:`asymexp.bn.onestep` -- one-step divergence and gradients at initialization (``asymexp one-step``);
- :mod:`asymexp.bn.rmt` -- products of Gaussian matrices against the Fuss-Catalan law (``asymexp rmt``, docs/rmt.md);
- the theory beside them: :mod:`asymexp.bn.order_parameters` (kappa1, kappa2 and the FIM laws) and
  :mod:`asymexp.bn.constant_mode` (the mean-gradient outlier of the sigmoid nets).
"""
