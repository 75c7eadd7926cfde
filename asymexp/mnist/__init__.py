"""MNIST: the data layer and the hand-written Numba training loops of the paper's experiments.

Modules: :mod:`.data` (IDX reader, embedded MNIST), :mod:`.prepare` (sparse raw pixels), :mod:`.rates`
(per-layer learning rates, docs/theory/2-learning-rates.md), :mod:`.fused` (Numba kernels: one SGD epoch, evaluation),
:mod:`.train` (the trainer: epochs, checkpoints, resume, divergence), :mod:`.sweep` (the gamma grid through
``asymexp.executor``), :mod:`.report` (analysis and figure of a grid), :mod:`.demo_step`. See docs/mnist.md.
Nothing heavy is imported here.
"""
