"""The MNIST trainer's options beyond the paper's network: normalization layers, initializations, full-batch GD
(docs/mnist.md, "Normalization, initialization, optimizer").

- ``--norm``: ``none`` (the fused kernels of :mod:`asymexp.mnist.epoch_kernel`); ``bn``, batch norm of every hidden
  layer; ``ln``, layer norm of every hidden layer (both placed before the activation, ``pre``, or after it,
  ``post``, with trainable gamma and beta); ``mean-last``, the output's pre-activation minus its batch mean per
  class (no parameters: the "constant mode" removal of docs/batchnorm.md, section 2).
- ``--init``: ``paper`` (the preset's laws), ``he`` (weights N(0, 2/fan_in)), ``xavier`` (N(0, 2/(fan_in +
  fan_out))); biases keep the preset's law.
- ``--optimizer``: ``sgd`` (mini-batches of ``--batch``) or ``gd`` (one step per epoch on the whole training set).

A normalized network runs :class:`NormNet`: Python orchestration of one step over small kernels, the dense layers of
:mod:`asymexp.mnist.norm_kernel` (the shared core :mod:`asymexp.nn.dense`) and the normalization layers of
:mod:`asymexp.nn.norm_layer` (kernels :mod:`asymexp.nn.normalization`, float64; the dense layers keep the run's
dtype). Shapes: a batch X (B, 784) of normalized inputs x = (p - mu) / sd in the run's dtype, hidden activations
(B, N_m), outputs (B, 10). Train mode uses batch statistics and updates the running ones (momentum 0.1, PyTorch);
evaluation uses the running statistics (``bn``, ``mean-last``), as PyTorch's eval mode; layer norm has none.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from asymexp.errors import SpecError
from asymexp.norms import PLACEMENTS, check, entry, names, placements

NORMS = names("mnist")
INITS = ("paper", "he", "xavier")
OPTIMIZERS = ("sgd", "gd")
#: The options' defaults; a run's identity names an option only when it differs from these (old checkpoints of
#: the paper's network resume unchanged).
DEFAULTS = {"norm": "none", "norm_placement": "pre", "init": "paper", "optimizer": "sgd"}
#: Norms whose train mode needs >= 2 images per batch (statistics over the batch).
BATCH_STATISTICS = tuple(n for n in NORMS if entry(n).kind is not None and entry(n).layer_kind.axis == "batch")
EVAL_CHUNK = 500


def check_options(norm: str, placement: str, init: str, optimizer: str) -> None:
    """:class:`SpecError` (one line, exit status 2) naming an unknown value and what is allowed (the norms and
    their placements: the table of :mod:`asymexp.norms`)."""
    check(norm, "mnist")
    for flag, value, allowed in (("--norm-placement", placement, PLACEMENTS),
                                 ("--init", init, INITS), ("--optimizer", optimizer, OPTIMIZERS)):
        if value not in allowed:
            raise SpecError(f"{flag} {value!r} is unknown; allowed: {', '.join(allowed)}")
    if placement not in placements(norm, "mnist"):
        offering = [n for n in NORMS if placement in placements(n, "mnist")]
        raise SpecError(f"--norm-placement {placement} applies to --norm {' or '.join(offering)} only, "
                        f"not to --norm {norm}")


def check_widths(norm: str, widths) -> None:
    """Layer norm needs at least two units in every hidden layer (its statistics are over the units)."""
    kind = entry(norm, "mnist").layer_kind
    if kind is not None and kind.axis == "features" and min(widths) < 2:
        raise SpecError(f"--norm ln with --widths {','.join(map(str, widths))} is not allowed: layer norm needs "
                        "at least 2 units per hidden layer")


def check_batches(norm: str, batch: int, n: int | None = None) -> None:
    """Refuse batch statistics over one image: ``--norm bn|mean-last`` with a batch of 1, or with ``n`` training
    images whose last batch holds 1."""
    if norm not in BATCH_STATISTICS:
        return
    if batch == 1:
        raise SpecError(f"--norm {norm} with --batch 1 is not allowed: batch statistics need a batch of at least 2 "
                        "(use --batch >= 2, or --norm ln)")
    if n is not None and n % batch == 1:
        raise SpecError(f"--norm {norm} with --batch {batch} and {n} training images leaves a last batch of 1 "
                        "image: batch statistics need at least 2 (change --batch or --n-train)")


def weight_std(init: str, fan_in: int, fan_out: int) -> float:
    """Standard deviation of a weight under ``init``: he sqrt(2/fan_in), xavier sqrt(2/(fan_in + fan_out))."""
    if init == "he":
        return float(np.sqrt(2.0 / fan_in))
    if init == "xavier":
        return float(np.sqrt(2.0 / (fan_in + fan_out)))
    raise SpecError(f"--init {init!r} has no single weight law here; allowed: he, xavier")


def init_theta(spec, rng, layout, dtype, init: str = "paper") -> np.ndarray:
    """Initial theta: the spec's laws (``paper``, :func:`asymexp.nn.layout.init_params`) or normal weights of
    :func:`weight_std`, drawn in the same order (W1, b1, W2, b2, ..., C, bC); biases from the spec's bias law."""
    from asymexp.nn.layout import init_params

    if init == "paper":
        return init_params(spec, rng, layout, dtype)
    theta = np.empty(layout.n_params, dtype=np.float64)
    for m in range(layout.n_layers):
        w0, b0, no, ni, _ = (int(v) for v in layout.table[m])
        theta[w0:w0 + no * ni] = weight_std(init, ni, no) * rng.standard_normal(no * ni)
        if b0 >= 0:
            theta[b0:b0 + no] = spec.bias_law.sample(rng, no, fan_in=ni)
    return theta.astype(dtype)


class NormNet:
    """A normalized network's layers (besides theta) and its train/eval passes.

    Attributes:
        layers: one :class:`asymexp.nn.norm_layer.NormLayer` (train mode) per normalized position: hidden layers
            1..L for ``bn``/``ln``, the output for ``mean-last``.
        states: their :class:`~asymexp.nn.norm_layer.NormState` (gamma, beta, running mean and variance, (F,) each);
            gamma and beta of a hidden layer are trained with that layer's rate, mean-last's stay 1 and 0.
        names: the layers' names in messages (``BN1``, ..., ``LN1``, ..., ``mean-last (output)``).
    """

    def __init__(self, layout, norm: str, placement: str, dtype):
        from asymexp.nn.norm_layer import NormLayer, NormState

        self.layout, self.norm, self.placement, self.dtype = layout, norm, placement, np.dtype(dtype)
        L = layout.n_layers - 1
        self.scales = [self.dtype.type(s) for s in layout.scales]
        self.kind = int(layout.activation)
        row = entry(norm, "mnist")
        if row.layers == "hidden":
            self.where = list(range(L))
            self.layers = [NormLayer(row.kind, "train", placement)] * L
            prefix = {"batch": "BN", "layer": "LN"}[row.kind]
            self.names = [f"{prefix}{m + 1}" for m in self.where]
        elif row.layers == "last":
            self.where = [L]
            self.layers = [NormLayer(row.kind, "train")]
            self.names = [f"{norm} (output)"]
        else:
            raise SpecError(f"--norm {norm!r} does not use the normalized network; allowed: "
                            f"{', '.join(n for n in NORMS if entry(n).kind is not None)}")
        self.eval_layers = [dataclasses.replace(layer, mode="eval") for layer in self.layers]
        self.states = [NormState.initial(int(layout.table[m, 2])) for m in self.where]

    # --- checkpoint form ----------------------------------------------------------------------------------
    def state_vector(self) -> np.ndarray:
        """float64 (4 sum F,): gamma, beta, running mean, running variance of each layer, in order."""
        return np.concatenate([np.concatenate([s.gamma, s.beta, s.running_mean, s.running_var])
                               for s in self.states])

    def load_state_vector(self, v) -> None:
        """Set every layer's state from a vector of :meth:`state_vector` (a checkpoint's)."""
        v = np.asarray(v, dtype=np.float64)
        if v.shape != (sum(4 * s.gamma.size for s in self.states),):
            raise SpecError(f"normalization state of shape {v.shape} does not fit --norm {self.norm}")
        k = 0
        for s in self.states:
            F = s.gamma.size
            s.gamma[:], s.beta[:], s.running_mean[:], s.running_var[:] = (v[k + i * F:k + (i + 1) * F]
                                                                         for i in range(4))
            k += 4 * F

    def non_finite(self) -> list[str]:
        """Names of the normalization layers with a non-finite parameter or running statistic."""
        return [n for n, s in zip(self.names, self.states)
                if not all(np.isfinite(a).all() for a in (s.gamma, s.beta, s.running_mean, s.running_var))]

    # --- passes -------------------------------------------------------------------------------------------
    def _params(self, theta, m):
        W = self.layout.block(theta, m)
        b = self.layout.bias(theta, m)
        return W, (b if b is not None else theta[0:0])

    def forward(self, theta, X, train: bool = True, update_running: bool = True):
        """(out (B, K), ctx) for a batch X (B, d) in theta's dtype; ``train``: batch statistics (updating the
        running ones unless ``update_running`` is false), else the running ones (eval mode)."""
        from asymexp.mnist import norm_kernel as nk
        from asymexp.nn import norm_layer

        dt = self.dtype
        B = X.shape[0]
        layers = self.layers if train else self.eval_layers
        inputs, before_norm, caches = [np.ascontiguousarray(X, dtype=dt)], {}, {}
        n_layers = self.layout.n_layers
        for m in range(n_layers):
            W, bias = self._params(theta, m)
            Z = np.empty((B, W.shape[0]), dtype=dt)
            nk.affine(W, self.scales[m], bias, inputs[-1], Z)
            j = self.where.index(m) if m in self.where else -1
            if m == n_layers - 1:
                if j >= 0:
                    Y, caches[j] = norm_layer.forward(layers[j], Z, self.states[j], update_running)
                    Z = Y.astype(dt)
                return Z, (inputs, before_norm, caches)
            if j >= 0 and self.placement == "pre":
                Y, caches[j] = norm_layer.forward(layers[j], Z, self.states[j], update_running)
                Z = Y.astype(dt)
                nk.activate(Z, self.kind)
            elif j >= 0:
                nk.activate(Z, self.kind)
                before_norm[j] = Z  # sigma(z): delta_below takes sigma' from it
                Y, caches[j] = norm_layer.forward(layers[j], Z, self.states[j], update_running)
                Z = Y.astype(dt)
            else:
                nk.activate(Z, self.kind)
            inputs.append(Z)
        raise AssertionError("unreachable")

    def step(self, theta, X, labels, rates, loss_kind) -> float:
        """One SGD step on the batch (X (B, d), labels (B,) int64), rates (L+1,) per layer (the layer's
        normalization parameters use its rate). Returns the mean batch loss; a non-finite loss leaves theta and
        the normalization parameters as they were (the running statistics have seen the batch)."""
        from asymexp.mnist import norm_kernel as nk
        from asymexp.nn import norm_layer

        dt = self.dtype
        out, (inputs, before_norm, caches) = self.forward(theta, X, True, True)
        B, K = out.shape
        D = np.empty((B, K), dtype=dt)
        loss = nk.loss_rows(out, labels, loss_kind, 1.0 / B, D, np.empty(B, dtype=np.int64)) / B
        if not np.isfinite(loss):
            return loss
        top = self.layout.n_layers - 1
        if top in self.where:  # mean-last: through the centring (no parameters to train)
            D = norm_layer.backward(self.layers[0], caches[0], D, self.states[0])[0].astype(dt)
        for m in range(top, -1, -1):
            W, bias = self._params(theta, m)
            back = m > 0
            Dn = np.empty((B, W.shape[1]) if back else (0, 0), dtype=dt)
            nk.backward_update(W, self.scales[m], bias, D, inputs[m], float(rates[m]), Dn, back)
            if not back:
                break
            j = self.where.index(m - 1) if (m - 1) in self.where else -1
            D = np.empty((B, W.shape[1]), dtype=dt)
            if j < 0:
                nk.delta_below(Dn, inputs[m], self.scales[m], self.kind, D)
                continue
            layer, state = self.layers[j], self.states[j]
            if self.placement == "pre":
                nk.delta_below(Dn, inputs[m], self.scales[m], self.kind, D)
                dZ, dgamma, dbeta = norm_layer.backward(layer, caches[j], D, state)
                D = dZ.astype(dt)
            else:
                dA, dgamma, dbeta = norm_layer.backward(layer, caches[j], Dn * self.scales[m], state)
                nk.delta_below(dA.astype(dt), before_norm[j], dt.type(1.0), self.kind, D)
            state.gamma -= rates[m - 1] * dgamma
            state.beta -= rates[m - 1] * dbeta
        return loss

    def train_epoch(self, theta, X, labels, order, batch: int, rates, loss_kind):
        """Mini-batch SGD over ``order`` (int64 (n,)): (sum of batch losses, batches done, index of the batch with
        a non-finite loss or -1); stops at a non-finite loss before that batch's update."""
        n = order.shape[0]
        n_batches = (n + batch - 1) // batch
        total = 0.0
        for t in range(n_batches):
            idx = order[t * batch:(t + 1) * batch]
            loss = self.step(theta, X[idx], labels[idx], rates, loss_kind)
            if not np.isfinite(loss):
                return total, t, t
            total += loss
        return total, n_batches, -1

    def evaluate(self, theta, X, labels, loss_kind) -> tuple[float, float]:
        """(mean loss, accuracy) in eval mode, chunks of :data:`EVAL_CHUNK` images (results do not depend on the
        chunking: eval mode treats every image alone)."""
        from asymexp.mnist import norm_kernel as nk

        n = X.shape[0]
        total, correct = 0.0, 0
        for lo in range(0, n, EVAL_CHUNK):
            out, _ = self.forward(theta, X[lo:lo + EVAL_CHUNK], train=False, update_running=False)
            pred = np.empty(out.shape[0], dtype=np.int64)
            lab = labels[lo:lo + EVAL_CHUNK]
            total += nk.loss_rows(out, lab, loss_kind, 1.0, np.empty_like(out), pred)
            correct += int((pred == lab).sum())
        return total / n, correct / n
