"""Batch normalization at initialization, the FIM half: the exact finite-width dual of the Fisher information of
random networks in the standard parameterization, with and without normalization, against the order-parameter
laws (docs/batchnorm.md).

Modules: :mod:`~asymexp.fim.network` (architectures and forward passes), :mod:`~asymexp.fim.dual` (Theta layer
by layer, output projectors, spectra), :mod:`~asymexp.fim.jacobian` (explicit Jacobians: the reference),
:mod:`~asymexp.fim.experiment` (the width grid), :mod:`~asymexp.fim.verdicts` (fits) and
:mod:`~asymexp.fim.fim_figures` (plots).
"""
