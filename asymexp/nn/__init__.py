"""The shared network core: flat parameter layout (:mod:`.layout`) and Numba kernels (:mod:`.kernels`)."""
