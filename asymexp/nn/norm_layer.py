"""Normalization layers for callers: which layer (:class:`NormLayer`), its parameters (:class:`NormState`), and
forward/backward passes of the layer alone or together with an activation placed before or after it
(docs/batchnorm.md, "Normalization layers"). The arithmetic is in the Numba kernels of
:mod:`asymexp.nn.normalization`; this module checks the input and keeps the bookkeeping.

Shapes: a batch is (B, F) float64, B samples by F features; parameters and gradients of gamma, beta are (F,).

Placement: ``"pre"`` normalizes the pre-activation, y = phi(norm(z)); ``"post"`` normalizes the activation,
y = norm(phi(z)). The activations are those of :mod:`asymexp.activations` (NumPy forms).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asymexp.activations import get as get_activation
from asymexp.errors import AsymexpError, SpecError
from asymexp.kernel_codes import Norm
from asymexp.nn import normalization as kernels
from asymexp.norms import EPS, PLACEMENTS, kind as layer_kind

MODES = ("train", "eval")


@dataclass(frozen=True)
class NormLayer:
    """A normalization layer: kind (``batch``, ``mean-only``, ``scale-only``, ``layer``), mode (``train``: batch
    statistics; ``eval``: running statistics), placement relative to the activation (``pre`` or ``post``), eps
    (added to the variance; :data:`asymexp.norms.EPS`) and the running statistics' momentum (PyTorch's 0.1)."""

    kind: str = "batch"
    mode: str = "train"
    placement: str = "post"
    eps: float = EPS
    momentum: float = 0.1

    def __post_init__(self):
        layer_kind(self.kind)
        if self.mode not in MODES:
            raise SpecError(f"normalization mode {self.mode!r} is unknown; allowed: {', '.join(MODES)}")
        if self.placement not in PLACEMENTS:
            raise SpecError(f"normalization placement {self.placement!r} is unknown; allowed: pre, post")
        if not (np.isfinite(self.eps) and self.eps >= 0):
            raise SpecError(f"normalization eps {self.eps!r} is not allowed; a finite number >= 0 is required")
        if not 0 <= self.momentum <= 1:
            raise SpecError(f"normalization momentum {self.momentum!r} is not allowed; 0 <= momentum <= 1")

    @property
    def code(self) -> Norm:
        return layer_kind(self.kind).code

    @property
    def per_sample(self) -> bool:
        """Statistics over the features of each sample (layer norm), not over the batch."""
        return layer_kind(self.kind).axis == "features"

    @property
    def uses_running_stats(self) -> bool:
        """Eval mode of a batch kind (layer norm computes its statistics per sample in both modes)."""
        return self.mode == "eval" and not self.per_sample


@dataclass
class NormState:
    """The layer's parameters, (F,) each: gamma (ones), beta (zeros), running_mean (zeros), running_var (ones)."""

    gamma: np.ndarray
    beta: np.ndarray
    running_mean: np.ndarray = field(default=None)
    running_var: np.ndarray = field(default=None)

    @classmethod
    def initial(cls, features: int) -> "NormState":
        return cls(np.ones(features), np.zeros(features), np.zeros(features), np.ones(features))


def _batch(X, what: str) -> np.ndarray:
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise AsymexpError(f"{what} has shape {X.shape}; a (batch, features) array is required")
    return X


def _check(layer: NormLayer, X: np.ndarray, state: NormState) -> None:
    B, F = X.shape
    if state.gamma.shape != (F,) or state.beta.shape != (F,):
        raise AsymexpError(f"gamma/beta have shapes {state.gamma.shape}/{state.beta.shape}; ({F},) is required")
    if layer.per_sample and F < 2:
        raise AsymexpError(f"layer norm over {F} feature: its statistics need at least 2 features")
    if layer.mode == "train" and not layer.per_sample and B < 2:
        raise AsymexpError(f"{layer.kind} normalization in train mode with a batch of {B}: batch statistics need "
                           f"a batch of at least 2 (or eval mode, which uses the running statistics)")


def forward(layer: NormLayer, X, state: NormState, update_running: bool = True):
    """(Y (B, F), cache) for a batch X (B, F). Train mode of a batch kind updates the running statistics in
    place unless ``update_running`` is false."""
    X = _batch(X, "the normalization input")
    _check(layer, X, state)
    if layer.uses_running_stats:
        Y, Xhat, inv = kernels.norm_eval_forward(X, state.running_mean, state.running_var, state.gamma,
                                                 state.beta, int(layer.code), float(layer.eps))
    else:
        Y, Xhat, _, inv = kernels.norm_forward(X, state.gamma, state.beta, int(layer.code), float(layer.eps))
        if update_running and not layer.per_sample:
            kernels.update_running(state.running_mean, state.running_var, X, int(layer.code),
                                   float(layer.momentum))
    return Y, (Xhat, inv)


def backward(layer: NormLayer, cache, dY, state: NormState):
    """(dX (B, F), dgamma (F,), dbeta (F,)) from dY = dL/dY and the cache of :func:`forward`."""
    Xhat, inv = cache
    dY = _batch(dY, "the normalization output gradient")
    if dY.shape != Xhat.shape:
        raise AsymexpError(f"dY has shape {dY.shape}; the forward batch was {Xhat.shape}")
    if layer.uses_running_stats:
        return kernels.norm_eval_backward(dY, Xhat, inv, state.gamma)
    return kernels.norm_backward(dY, Xhat, inv, state.gamma, int(layer.code))


def block_forward(layer: NormLayer, Z, activation, state: NormState, update_running: bool = True):
    """(Y, cache): phi(norm(Z)) for placement ``pre``, norm(phi(Z)) for ``post``; Z (B, F) pre-activations."""
    act = get_activation(activation)
    Z = _batch(Z, "the pre-activation")
    if layer.placement == "pre":
        N, norm_cache = forward(layer, Z, state, update_running)
        return act.value(N), (act, N, norm_cache)
    Y, norm_cache = forward(layer, act.value(Z), state, update_running)
    return Y, (act, Z, norm_cache)


def block_backward(layer: NormLayer, cache, dY, state: NormState):
    """(dZ (B, F), dgamma (F,), dbeta (F,)) from dY = dL/dY and the cache of :func:`block_forward`."""
    act, U, norm_cache = cache
    dY = _batch(dY, "the block output gradient")
    if layer.placement == "pre":
        return backward(layer, norm_cache, dY * act.derivative(U), state)
    dH, dgamma, dbeta = backward(layer, norm_cache, dY, state)
    return dH * act.derivative(U), dgamma, dbeta
