"""The random networks of the batch-normalization studies, their MSE loss and its gradient: one model for
``asymexp fim``, ``asymexp lr-scan`` and ``asymexp one-step`` (docs/batchnorm.md).

Standard parameterization: u^l = W^l h^{l-1} + b^l, l = 1..L = H + 1, h^0 = x (T, d) a batch of T inputs,
W^l (fan_out, fan_in) with entries N(0, s_w^2 / fan_in), b^l ~ N(0, s_b^2); hidden h^l = phi(n(u^l)) with n the
normalization of ``norm`` (a network norm of :mod:`asymexp.norms`):

- ``none``, ``mean-last``, ``bn-last``: n = identity in the hidden layers (the last two act on the outputs only:
  f = u^L minus its batch mean, or batch-normalized; in the FIM as projectors, :mod:`asymexp.bn.dual`);
- ``bn`` (alias ``bn-hidden``): batch norm in train mode before every activation, per unit over the T samples,
  zhat = (u - mean_t u) / sqrt(var_t u + eps) (gamma = 1, beta = 0 at initialization, held: not parameters);
- ``ln``: layer norm before every activation, per sample over the units.

The arithmetic of the normalizations is :mod:`asymexp.norms.numpy_norm`. Loss of one batch (T samples, C
outputs): L(theta) = (1 / 2T) sum_t ||f(t) - y(t)||^2, whose Gauss-Newton Hessian is the FIM F = J^T J / T.
Only NumPy: GEMM-sized work, no kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.activations import get
from asymexp.errors import SpecError
from asymexp.norms import EPS, entry
from asymexp.norms.numpy_norm import centre_scale, normalize, normalize_backward

__all__ = ["EPS", "DATA", "FimNetwork", "Forward", "forward", "output_values", "loss_and_gradient",
           "fim_network", "make_data", "normalize_backward"]

#: The array axis of a (T, M) batch over which each statistics axis of :data:`asymexp.norms.AXES` runs.
AXIS = {"batch": 0, "features": 1}
DATA = ("gaussian", "mnist")


@dataclass(frozen=True)
class FimNetwork:
    """One architecture: H = ``layers`` hidden layers of ``width`` M, ``outputs`` C, input dimension d,
    activation, (s_w^2, s_b^2) = (``weight_var``, ``bias_var``), ``norm`` (a norm ``asymexp fim`` offers)."""

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
        entry(self.norm, "fim")
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

    def _kind(self, layers: str):
        row = entry(self.norm)
        return row.layer_kind if row.layers == layers else None

    @property
    def hidden_norm(self) -> str | None:
        """"batch", "layer" or None: the layer kind inside the hidden layers."""
        k = self._kind("hidden")
        return None if k is None else k.name

    @property
    def output_norm(self) -> str | None:
        """"mean-only", "batch" or None: the layer kind acting on the outputs."""
        k = self._kind("last")
        return None if k is None else k.name


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


def forward(net: FimNetwork, params, x: np.ndarray) -> Forward:
    """Run ``params`` (from :meth:`FimNetwork.draw`) on x (T, d)."""
    act = get(net.activation)
    h = np.asarray(x, dtype=np.float64)
    if h.ndim != 2 or h.shape[1] != net.input_dim:
        raise SpecError(f"inputs of shape {h.shape} do not fit input dimension {net.input_dim}")
    inputs, slopes, zhat, scale = [h], [], [], []
    kind = net._kind("hidden")
    for w, b in params[:-1]:
        u = h @ w.T + b
        if kind is None:
            z, inv = u, None
        else:
            z, inv = normalize(u, AXIS[kind.axis], kind.centres, kind.scales, EPS)
        h, d1 = act.derivatives(z, 1)
        inputs.append(h)
        slopes.append(d1)
        zhat.append(None if kind is None else z)
        scale.append(inv)
    w, b = params[-1]
    return Forward(inputs, slopes, zhat, scale, h @ w.T + b)


def hidden_backward(net: FimNetwork, g: np.ndarray, fwd: Forward, layer: int, lead: int = 0) -> np.ndarray:
    """dLoss/du^l from g = dLoss/dzhat^l of hidden layer ``layer`` (1..H) through its normalization (g itself
    without one); ``lead`` leading broadcast axes before the (T, M) ones (the dual's seeds)."""
    kind = net._kind("hidden")
    if kind is None:
        return g
    axis = AXIS[kind.axis] - 2
    pad = (None,) * lead
    return normalize_backward(g, fwd.zhat[layer - 1][pad], fwd.scale[layer - 1][pad], axis, kind.centres,
                              kind.scales)


def output_values(net: FimNetwork, u: np.ndarray) -> np.ndarray:
    """f (T, C) from u^L (T, C): centred over the batch (``mean-last``), batch-normalized (``bn-last``,
    (u - mean) / sqrt(var + eps)) or u itself."""
    kind = net._kind("last")
    if kind is None:
        return u
    c, sd = centre_scale(u, 0, kind.centres, kind.scales, EPS)
    return c if sd is None else c / sd


def fim_network(layers: int, width: int, outputs: int, input_dim: int, activation: str, norm: str,
                weight_var: float = 2.0, bias_var: float = 0.0, tool: str = "lr-scan") -> FimNetwork:
    """The :class:`FimNetwork` of a ``norm`` that ``tool`` offers (``lr-scan`` or ``one-step``)."""
    entry(norm, tool)
    return FimNetwork(layers, width, outputs, input_dim, activation, weight_var, bias_var, norm)


def make_data(data: str, samples: int, width: int, outputs: int, activation: str, layers: int, seed: int,
              pool=None):
    """(x (T, d), y (T, C)). ``gaussian``: x ~ N(0, I_M) and y the outputs of a random teacher (a FimNetwork of
    the same depth, width and activation, no normalization, its own seed), scaled to unit variance per output;
    ``mnist``: T random training digits (d = 784) from ``pool`` = (images, labels) and one-hot targets (C = 10)."""
    rng = np.random.default_rng([seed, 1])
    if data == "gaussian":
        x = rng.standard_normal((samples, width))
        teacher = FimNetwork(layers, width, outputs, width, activation)
        y = forward(teacher, teacher.draw(np.random.default_rng([seed, 2])), x).outputs
        return x, y / np.maximum(y.std(axis=0), 1e-12)
    if data == "mnist":
        images, labels = pool
        if samples > images.shape[0]:
            raise SpecError(f"samples = {samples} exceed the {images.shape[0]} MNIST training digits")
        idx = rng.choice(images.shape[0], size=samples, replace=False)
        return images[idx], np.eye(10)[labels[idx]]
    raise SpecError(f"data {data!r} is unknown; allowed: {', '.join(DATA)}")


def first_nonfinite(fwd: Forward, layers: int):
    """1..H: the first hidden layer whose activations are not finite; "output" for u^L; None if all finite."""
    for l in range(1, layers + 1):
        if not np.all(np.isfinite(fwd.inputs[l])):
            return l
    return None if np.all(np.isfinite(fwd.outputs)) else "output"


def loss_and_gradient(net: FimNetwork, params, x: np.ndarray, y: np.ndarray):
    """(loss, [(dL/dW^l, dL/db^l)], layer): the MSE loss of the module docstring (outputs raw, centred
    ``mean-last`` or batch-normalized ``bn-last``), its gradient (same shapes as ``params``) and the first
    non-finite layer of the forward pass (None when finite; the gradient is then None too)."""
    with np.errstate(all="ignore"):
        fwd = forward(net, params, x)
        where = first_nonfinite(fwd, net.layers)
        T = x.shape[0]
        r = output_values(net, fwd.outputs) - y
        loss = float(0.5 * np.sum(r * r) / T)
        if where is not None or not np.isfinite(loss):
            return loss, None, where if where is not None else "loss"
        grads = backward_from_outputs(net, params, fwd, r / T)
    return loss, grads, None


def backward_from_outputs(net: FimNetwork, params, fwd: Forward, d: np.ndarray) -> list:
    """[(dL/dW^l, dL/db^l)] (the shapes of ``params``) from d = dL/d(output values) (T, C) of a finite forward
    pass ``fwd``: through the outputs' batch function (``mean-last``, ``bn-last``), then layer by layer down
    (every loss of the BN studies and ``asymexp lr-train`` ends here)."""
    out = net._kind("last")
    if out is not None:                              # through the batch function of the outputs
        zhat, inv = normalize(fwd.outputs, 0, out.centres, out.scales, EPS)
        d = normalize_backward(d, zhat, inv, 0, out.centres, out.scales)
    grads = [None] * len(params)
    for l in range(net.layers, -1, -1):              # params[l] maps h^l -> u^{l+1}
        grads[l] = (d.T @ fwd.inputs[l], d.sum(axis=0))
        if l == 0:
            break
        d = hidden_backward(net, (d @ params[l][0]) * fwd.slopes[l - 1], fwd, l)
    return grads
