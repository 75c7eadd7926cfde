"""Learning-rate thresholds of full-batch GD against the FIM at initialization (docs/batchnorm.md,
"Learning-rate thresholds").

Modules: :mod:`~asymexp.lrscan.full_batch` (MSE loss, gradients, GD runs), :mod:`~asymexp.lrscan.thresholds`
(the two rules and the log-bisection), :mod:`~asymexp.lrscan.scan` (rows per depth and norm) and
:mod:`~asymexp.lrscan.lr_figures` (the plot).
"""
