"""Batch normalization at initialization, the FIM half: the exact finite-width dual of the Fisher information of
random networks in the standard parameterization, with and without normalization, against the order-parameter
laws (docs/batchnorm.md).

Modules: :mod:`~asymexp.bn.fim.experiment` (the width grid, on the wing's shared network
:mod:`asymexp.bn.model` and its dual :mod:`asymexp.bn.dual`, with :mod:`asymexp.bn.jacobian` the explicit-Jacobian
reference), :mod:`~asymexp.bn.fim.predictions` (the predicted exponent and the case of the net behind it),
:mod:`~asymexp.bn.fim.verdicts` (fits) and
:mod:`~asymexp.bn.fim.fim_figures` (plots).
"""
