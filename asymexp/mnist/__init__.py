"""MNIST: the data layer (:mod:`asymexp.mnist.data`) and the hand-written Numba training loops."""
