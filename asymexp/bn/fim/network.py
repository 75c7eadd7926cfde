"""The random networks of the FIM study: standard parameterization, optional normalization (docs/batchnorm.md).

u^l = W^l h^{l-1} + b^l, l = 1..L = H + 1, h^0 = x (T, d) a batch of T inputs, W^l (fan_out, fan_in) with entries
N(0, s_w^2 / fan_in), b^l ~ N(0, s_b^2); hidden h^l = phi(n(u^l)) with n the normalization of ``norm``:

- ``none``, ``mean-last``, ``bn-last``: n = identity in the hidden layers (the last two act on the outputs only,
  as projectors in :mod:`asymexp.bn.fim.dual`);
- ``bn-hidden``: batch norm in train mode before every activation, per unit over the T samples,
  zhat = (u - mean_t u) / sqrt(var_t u + eps) (gamma = 1, beta = 0 at initialization, held: not FIM parameters);
- ``ln``: layer norm before every activation, per sample over the units.

The C outputs are f_k = u^L_k. Only NumPy: this is orchestration-sized work (GEMMs), no Numba kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.activations import get
from asymexp.errors import SpecError

NORMS = ("none", "mean-last", "bn-last", "bn-hidden", "ln")
#: The variance floor of batch and layer norm (PyTorch's default).
EPS = 1e-5


@dataclass(frozen=True)
class FimNetwork:
    """One architecture: H = ``layers`` hidden layers of ``width`` M, ``outputs`` C, input dimension d,
    activation, (s_w^2, s_b^2) = (``weight_var``, ``bias_var``), ``norm`` (one of :data:`NORMS`)."""

    layers: int
    width: int
    outputs: int
    input_dim: int
    activation: str = "relu"
    weight_var: float = 2.0
    bias_var: float = 0.0
    norm: str = "none"

    def __post_init__(self):
        for name, low in (("layers", 1), ("width", 2), ("outputs", 1), ("input_dim", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < low:
                raise SpecError(f"{name} = {value!r} is not allowed; an integer >= {low} is required")
        object.__setattr__(self, "activation", get(self.activation).name)
        if self.norm not in NORMS:
            raise SpecError(f"norm {self.norm!r} is unknown; allowed: {', '.join(NORMS)}")
        if not (self.weight_var > 0 and self.bias_var >= 0):
            raise SpecError(f"(s_w^2, s_b^2) = ({self.weight_var!r}, {self.bias_var!r}); "
                            "s_w^2 > 0 and s_b^2 >= 0 are required")

    @property
    def fans(self) -> list[int]:
        """[d, M, ..., M, C]: fan-in of layer l at index l - 1, fan-out at index l."""
        return [self.input_dim] + [self.width] * self.layers + [self.outputs]

    @property
    def parameters(self) -> int:
        """P, the number of weights and biases (normalization gains are not FIM parameters here)."""
        f = self.fans
        return sum((f[i] + 1) * f[i + 1] for i in range(len(f) - 1))

    def draw(self, rng) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(W^l (fan_out, fan_in), b^l (fan_out,)) for l = 1..L], float64, from a NumPy ``Generator``."""
        f = self.fans
        out = []
        for i in range(len(f) - 1):
            w = rng.standard_normal((f[i + 1], f[i])) * np.sqrt(self.weight_var / f[i])
            b = rng.standard_normal(f[i + 1]) * np.sqrt(self.bias_var)
            out.append((w, b))
        return out

    @property
    def hidden_norm(self) -> str | None:
        """"batch", "layer" or None: the normalization inside the hidden layers."""
        return {"bn-hidden": "batch", "ln": "layer"}.get(self.norm)


@dataclass
class Forward:
    """The forward pass of one batch: ``inputs[l]`` = [h^{l}, 1]-less activations h^l (T, fan) for l = 0..H,
    ``slopes[l]`` = phi'(n(u^{l+1})) (T, M), ``zhat[l]`` and ``scale[l]`` (the normalized pre-activation and
    1 / sqrt(var + eps), or None without normalization), ``outputs`` = u^L (T, C)."""

    inputs: list
    slopes: list
    zhat: list
    scale: list
    outputs: np.ndarray


def _normalize(u: np.ndarray, axis: int):
    mu = u.mean(axis=axis, keepdims=True)
    c = u - mu
    inv = 1.0 / np.sqrt((c * c).mean(axis=axis, keepdims=True) + EPS)
    return c * inv, inv


def forward(net: FimNetwork, params, x: np.ndarray) -> Forward:
    """Run ``params`` (from :meth:`FimNetwork.draw`) on x (T, d)."""
    act = get(net.activation)
    h = np.asarray(x, dtype=np.float64)
    if h.ndim != 2 or h.shape[1] != net.input_dim:
        raise SpecError(f"inputs of shape {h.shape} do not fit input dimension {net.input_dim}")
    inputs, slopes, zhat, scale = [h], [], [], []
    axis = {"batch": 0, "layer": 1}.get(net.hidden_norm)
    for w, b in params[:-1]:
        u = h @ w.T + b
        if axis is None:
            z, inv = u, None
        else:
            z, inv = _normalize(u, axis)
        h, d1 = act.derivatives(z, 1)
        inputs.append(h)
        slopes.append(d1)
        zhat.append(None if axis is None else z)
        scale.append(inv)
    w, b = params[-1]
    return Forward(inputs, slopes, zhat, scale, h @ w.T + b)


def normalize_backward(g: np.ndarray, zhat: np.ndarray, inv: np.ndarray, axis: int) -> np.ndarray:
    """dLoss/du from g = dLoss/dzhat through zhat = (u - mean) / sqrt(var + eps) along ``axis`` (axis counted
    from the end: -2 for batch norm over samples, -1 for layer norm over units):
    inv * (g - mean g - zhat mean(g zhat)) (docs/batchnorm.md, section "Networks")."""
    return inv * (g - g.mean(axis=axis, keepdims=True) - zhat * (g * zhat).mean(axis=axis, keepdims=True))
