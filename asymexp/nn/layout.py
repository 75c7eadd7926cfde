"""Flat parameter layout of a 1/N^gamma-normalized MLP, and initialization from a :class:`NetworkSpec`.

All parameters of one network live in one 1-D array ``theta`` (float32 or float64). Layer m = 0..L (weight
groups W1..WL, C) owns a row-major block ``W_m`` of shape (n_out, n_in) and, with biases, a block ``b_m`` of
shape (n_out,). ``layout`` is an int64 array (L+1, 5) with columns

    W_OFF, B_OFF (-1 without bias), N_OUT, N_IN, U_OFF (row offset of the layer's units in the workspace)

and ``scales[m]`` multiplies the product W_m H_{m-1}: 1 for the first layer and N_m^{-gamma_m} for m >= 1 (the
normalization of hidden layer m's output, docs/theory/1-network.md). Biases are added after the scaling, as in the
authors' code (``Linear`` applied to the normalized activations).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.activations import get as get_activation
from asymexp.errors import SpecError
from asymexp.spec import NetworkSpec

W_OFF, B_OFF, N_OUT, N_IN, U_OFF = range(5)


@dataclass(frozen=True)
class Layout:
    """Offsets and scales of one network's flat parameter vector.

    Attributes:
        table: int64 (L+1, 5), columns W_OFF, B_OFF, N_OUT, N_IN, U_OFF.
        scales: float64 (L+1,), the normalization factor of each layer's matrix product.
        n_params: length of theta.
        n_hidden: total hidden units (rows of the Z/H workspaces).
        activation: the :class:`asymexp.kernel_codes.Act` code passed to the kernels.
    """

    table: np.ndarray
    scales: np.ndarray
    n_params: int
    n_hidden: int
    activation: int

    @property
    def n_layers(self) -> int:
        return self.table.shape[0]

    def block(self, theta: np.ndarray, m: int) -> np.ndarray:
        """View of W_m (n_out, n_in) inside theta."""
        w0, _, no, ni, _ = self.table[m]
        return theta[w0: w0 + no * ni].reshape(no, ni)

    def bias(self, theta: np.ndarray, m: int) -> np.ndarray | None:
        """View of b_m (n_out,) inside theta, or None without biases."""
        b0, no = self.table[m, B_OFF], self.table[m, N_OUT]
        return None if b0 < 0 else theta[b0: b0 + no]


def build_layout(spec: NetworkSpec) -> Layout:
    """The layout of ``spec`` (needs widths, input_dim and numeric gammas)."""
    widths = spec.require_widths()
    if spec.input_dim is None:
        raise SpecError("this operation needs the input dimension (input_dim); none was given")
    if spec.is_symbolic:
        raise SpecError(f"gammas {[str(g) for g in spec.gammas]} are symbolic; a network needs numbers")
    sizes = [spec.input_dim, *widths, spec.output_dim]
    rows, offset, units = [], 0, 0
    for m in range(len(sizes) - 1):
        n_in, n_out = sizes[m], sizes[m + 1]
        w_off = offset
        offset += n_out * n_in
        b_off = -1
        if spec.bias:
            b_off = offset
            offset += n_out
        rows.append((w_off, b_off, n_out, n_in, units))
        if m < len(sizes) - 2:
            units += n_out
    scales = [1.0] + [float(n) ** -float(g) for n, g in zip(widths, spec.gammas)]
    return Layout(np.array(rows, dtype=np.int64), np.array(scales, dtype=np.float64), offset, units,
                  int(get_activation(spec.activation).code))


def init_params(spec: NetworkSpec, rng: np.random.Generator, layout: Layout | None = None,
                dtype=np.float64) -> np.ndarray:
    """Draw theta from the spec's initial laws (weights per group, biases with ``spec.bias_law``).

    The draw order is fixed (W1, b1, W2, b2, ..., C, bC), so a seed determines theta.
    """
    layout = layout or build_layout(spec)
    theta = np.empty(layout.n_params, dtype=np.float64)
    for m, law in enumerate(spec.weight_laws):
        w0, b0, no, ni, _ = layout.table[m]
        theta[w0: w0 + no * ni] = law.sample(rng, no * ni, fan_in=int(ni))
        if b0 >= 0:
            theta[b0: b0 + no] = spec.bias_law.sample(rng, no, fan_in=int(ni))
    return theta.astype(dtype)
