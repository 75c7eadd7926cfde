"""Batch normalization at initialization, the FIM half: the exact finite-width dual of the Fisher information of
random networks in the standard parameterization, with and without normalization, against the order-parameter
laws (docs/batchnorm.md).

Modules: :mod:`~asymexp.bn.fim.network` (architectures and forward passes), :mod:`~asymexp.bn.fim.dual` (Theta layer
by layer, output projectors, spectra), :mod:`~asymexp.bn.fim.jacobian` (explicit Jacobians: the reference),
:mod:`~asymexp.bn.fim.experiment` (the width grid), :mod:`~asymexp.bn.fim.verdicts` (fits) and
:mod:`~asymexp.bn.fim.fim_figures` (plots).
"""
