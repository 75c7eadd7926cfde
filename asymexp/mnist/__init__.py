"""MNIST: the data layer and the hand-written Numba training loops of the paper's experiments.

Modules: :mod:`.prepare` (sparse raw pixels of the data sets in :mod:`asymexp.inputs.datasets`),
:mod:`.epoch_kernel` (Numba kernels: one SGD epoch, evaluation), :mod:`.train` (the trainer: per-layer rates from
:mod:`asymexp.symbolic.rules`, epochs, checkpoints, resume, divergence), :mod:`.mnist_grid` (the gamma grid through
``asymexp.executor``), :mod:`.grid_report` (analysis and figure of a grid), :mod:`.lr_choice` (each
configuration's lr-scale from a scan), :mod:`.grid_compare` (grids side by side at one epoch), :mod:`.centring`
(saved checkpoints evaluated with per-class centred outputs), :mod:`.lockstep` (many configurations in one pass).
The demo step is :mod:`asymexp.demo.mnist_step`. See docs/mnist.md.
Nothing heavy is imported here.
"""
