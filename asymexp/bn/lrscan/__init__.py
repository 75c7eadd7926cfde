"""Learning-rate thresholds of full-batch GD against the FIM at initialization (docs/batchnorm.md,
"Learning-rate thresholds").

Modules: :mod:`~asymexp.bn.lrscan.full_batch` (MSE loss, gradients, GD runs), :mod:`~asymexp.bn.lrscan.thresholds`
(the two rules and the log-bisection), :mod:`~asymexp.bn.lrscan.scan` (rows per depth and norm) and
:mod:`~asymexp.bn.lrscan.lr_figures` (the plot); against width :mod:`~asymexp.bn.lrscan.widths` (the sweep)
and :mod:`~asymexp.bn.lrscan.width_fits` (its exponents and verdicts).
"""
