"""One SGD step at initialization, with and without batch norm (docs/batchnorm.md, "One-step divergence and
gradients at initialization"; contract in docs/interfaces.md, "asymexp one-step").

Modules: :mod:`~asymexp.bn.onestep.one_step` (the step on one mini-batch: relative loss, divergence, activation
moments along the step, gradient statistics), :mod:`~asymexp.bn.onestep.gradient_fraction` (the input-independent
fraction of the output's gradient against kappa2 / kappa1), :mod:`~asymexp.bn.onestep.onestep_study` (the runs over
seeds and their summaries), :mod:`~asymexp.bn.onestep.onestep_figures` and :mod:`~asymexp.bn.onestep.onestep_report`
(figures and the Markdown report).
"""
