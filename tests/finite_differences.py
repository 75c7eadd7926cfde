"""A central finite-difference gradient shared by the tests of the NumPy networks (asymexp.bn.model): the
reference that analytic gradients are held against. Its error is O(h^2) in truncation plus O(eps |L| / h) in
rounding; at h = 1e-6 and float64 that is about 1e-10 |L| for the smooth losses tested."""
import numpy as np

from asymexp.bn.jacobian import flatten, unflatten
from asymexp.bn.model import loss_and_gradient


def central_gradient(net, params, x, y, h: float = 1e-6) -> np.ndarray:
    """(n_params,) (L(theta + h e_i) - L(theta - h e_i)) / 2h for every parameter, L the lr-scan loss."""
    flat = flatten(params)
    fd = np.empty_like(flat)
    for i in range(flat.size):
        e = np.zeros_like(flat)
        e[i] = h
        fd[i] = (loss_and_gradient(net, unflatten(net, flat + e), x, y)[0]
                 - loss_and_gradient(net, unflatten(net, flat - e), x, y)[0]) / (2 * h)
    return fd
