"""Plain mini-batch SGD of the networks of :mod:`asymexp.bn.model` on labelled data (docs/batchnorm.md, "Training
at larger rates (Bjorck et al.)").

One learning rate for every layer: theta <- theta - lr grad, standard parameterization (the model's He
initialization, W^l entries N(0, 2 / fan_in), zero biases). Batches of B samples drawn without replacement, a
fresh seeded permutation per epoch (a last partial batch is dropped). Losses of one batch (T samples, C outputs,
f the network's outputs, y the labels): ``cross-entropy`` (1/T) sum_t [logsumexp f(t) - f(t)_y(t)] and ``mse``
(1/2T) sum_t ||f(t) - onehot(y(t))||^2 (the model's own loss, :func:`asymexp.bn.model.loss_and_gradient`).

Divergence is an outcome, not an error: the run stops at the first mini-batch whose forward pass or loss is not
finite, or whose loss exceeds :data:`BLOWUP` times the loss of the first mini-batch, and reports the number of
updates made before it (``diverged_step``) and why.

Evaluation (test accuracy, training loss) is in eval mode: with batch norm every hidden layer is normalized by
the population statistics of a fixed reference batch of training samples at the current parameters (what running
averages estimate), the same for every evaluated sample; without normalization the network is a plain function.
Only NumPy: GEMM-sized work, no kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.activations import get
from asymexp.bn.model import (AXIS, EPS, FimNetwork, backward_from_outputs, first_nonfinite, forward,
                              output_values)
from asymexp.norms import entry
from asymexp.norms.numpy_norm import centre_scale, normalize

LOSSES = ("cross-entropy", "mse")
#: A run diverges when a mini-batch loss exceeds BLOWUP times the first mini-batch's loss (or is not finite).
BLOWUP = 1e3
# The labels of a run's two seeded streams, ``np.random.default_rng([seed, label])``, the shuffling and the
# reference batch; any two distinct labels give equally valid draws, so no test can check the numbers.
SHUFFLE_STREAM, REFERENCE_STREAM = 3, 4  # pragma: no mutate


def output_loss(f: np.ndarray, labels: np.ndarray, loss: str):
    """(loss of the batch, dLoss/df (T, C)) for outputs f (T, C) and integer labels (T,)."""
    T, C = f.shape
    rows = np.arange(T)
    if loss == "mse":
        r = f.copy()
        r[rows, labels] -= 1.0
        return float(0.5 * np.sum(r * r) / T), r / T
    z = f - f.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    d = np.exp(logp)
    d[rows, labels] -= 1.0
    return float(-logp[rows, labels].mean()), d / T


def loss_grad(net: FimNetwork, params, x: np.ndarray, labels: np.ndarray, loss: str):
    """(loss, grads [(dL/dW^l, dL/db^l)] or None, the forward pass, the first non-finite place or None) of one
    batch x (T, d) with labels (T,). The backward pass is :func:`asymexp.bn.model.loss_and_gradient`'s, with the
    loss's own output gradient."""
    with np.errstate(all="ignore"):
        fwd = forward(net, params, x)
        where = first_nonfinite(fwd, net.layers)
        if where is not None:
            return float("nan"), None, fwd, where
        value, d = output_loss(output_values(net, fwd.outputs), labels, loss)
        if not np.isfinite(value) or not np.all(np.isfinite(d)):
            return value, None, fwd, "loss"
        grads = backward_from_outputs(net, params, fwd, d)
    return value, grads, fwd, None


def sgd_update(params, grads, lr: float):
    """theta - lr grad, layer by layer (new arrays)."""
    with np.errstate(all="ignore"):
        return [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(params, grads)]


def predict(net: FimNetwork, params, x: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Outputs f (n, C) of x (n, d) in eval mode: batch-norm layers (and a batch-centred output) use the statistics
    of ``reference`` (m, d) propagated through the same network, fixed for every row of x; layer norm is per
    sample anyway. ``reference`` is needed only for a norm with batch statistics."""
    act = get(net.activation)
    row = entry(net.norm)
    kind = row.layer_kind if row.layers == "hidden" else None
    batch = kind is not None and AXIS[kind.axis] == 0
    h, r = np.asarray(x, dtype=np.float64), None if reference is None else np.asarray(reference, np.float64)
    if (batch or net.output_norm is not None) and r is None:
        raise ValueError(f"norm {net.norm!r} needs a reference batch for its statistics")
    with np.errstate(all="ignore"):
        for w, b in params[:-1]:
            u = h @ w.T + b
            ur = None if r is None else r @ w.T + b
            if kind is None:
                z, zr = u, ur
            elif not batch:
                z, zr = normalize(u, 1, kind.centres, kind.scales, EPS)[0], None
            else:
                zr, sd = centre_scale(ur, 0, kind.centres, kind.scales, EPS)
                z = u - ur.mean(axis=0) if kind.centres else u
                z, zr = (z, zr) if sd is None else (z / sd, zr / sd)
            h = act.value(z)
            r = None if zr is None else act.value(zr)
        w, b = params[-1]
        f = h @ w.T + b
        if net.output_norm is not None:
            fr = r @ w.T + b
            c, sd = centre_scale(fr, 0, True, net.output_norm == "batch", EPS)
            f = f - fr.mean(axis=0)
            f = f if sd is None else f / sd
    return f


def evaluate(net: FimNetwork, params, x, labels, reference, loss: str, chunk: int = 4096) -> tuple:
    """(accuracy, mean loss) of the samples x (n, d), labels (n,), in eval mode (:func:`predict`), in chunks."""
    right, total = 0, 0.0
    for i in range(0, x.shape[0], chunk):
        f = predict(net, params, x[i:i + chunk], reference)
        with np.errstate(all="ignore"):
            value, _ = output_loss(f, labels[i:i + chunk], loss)
        right += int(np.sum(np.argmax(f, axis=1) == labels[i:i + chunk]))
        total += value * f.shape[0]
    n = x.shape[0]
    return right / n, total / n


def layer_rms(fwd) -> list:
    """sqrt(mean over batch and units of (h^l)^2) for the hidden layers l = 1..H (inf or nan where not finite)."""
    with np.errstate(all="ignore"):
        return [float(np.sqrt(np.mean(h * h))) for h in fwd.inputs[1:]]


@dataclass(frozen=True)
class Run:
    """One SGD run. ``steps``: updates made; ``diverged_step``: updates made before the mini-batch that diverged
    (None when it did not) and ``diverged_why`` (a layer 1..H, "output" or "loss": non-finite; "blowup": above
    BLOWUP x the first loss); ``test_accuracy``, ``test_loss``, ``train_loss`` (eval mode, after the last step;
    None for a diverged run); ``accuracy_curve``: (updates, test accuracy) at each evaluation; ``steps_to_target``:
    the first evaluation's update count with test accuracy >= target (None: not reached); ``activation_rms``: per
    recorded mini-batch (updates 0, 1, ...), the RMS of h^1..h^H (:func:`layer_rms`)."""

    lr: float
    steps: int
    diverged_step: int | None
    diverged_why: object
    test_accuracy: float | None
    test_loss: float | None
    train_loss: float | None
    accuracy_curve: tuple
    steps_to_target: int | None
    activation_rms: tuple


def train(net: FimNetwork, params, data, lr: float, *, epochs: int, batch: int, loss: str, seed: int,
          eval_every: int, target: float, record: int, reference: int = 1000) -> Run:
    """``epochs`` epochs of SGD at rate ``lr`` from ``params`` (not modified) on ``data`` = (x_train (n, d),
    labels_train (n,), x_test, labels_test). Shuffles from ``seed``; test accuracy every ``eval_every`` updates
    and at the end; activation RMS on the first ``record`` + 1 mini-batches; eval-mode statistics from the first
    ``reference`` training samples of a fixed seeded draw."""
    x, y, xt, yt = data
    n = x.shape[0]
    per_epoch = n // batch
    rng = np.random.default_rng([seed, SHUFFLE_STREAM])
    ref = x[np.random.default_rng([seed, REFERENCE_STREAM]).choice(n, size=min(reference, n), replace=False)]
    p = [(w.copy(), b.copy()) for w, b in params]
    first, rms, curve, hit = None, [], [], None
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n)
        for j in range(per_epoch):
            idx = order[j * batch:(j + 1) * batch]
            value, grads, fwd, where = loss_grad(net, p, x[idx], y[idx], loss)
            if step <= record:
                rms.append(layer_rms(fwd))
            first = value if first is None else first
            if grads is None or value > BLOWUP * first:
                return Run(lr, step, step, where if grads is None else "blowup", None, None, None, tuple(curve),
                           hit, tuple(rms))
            p = sgd_update(p, grads, lr)
            step += 1
            if step % eval_every == 0 or step == epochs * per_epoch:
                acc, _ = evaluate(net, p, xt, yt, ref, loss)
                curve.append((step, acc))
                if hit is None and acc >= target:
                    hit = step
    acc, test_loss = evaluate(net, p, xt, yt, ref, loss)
    _, train_loss = evaluate(net, p, x, y, ref, loss)
    finite = [v if np.isfinite(v) else None for v in (test_loss, train_loss)]
    return Run(lr, step, None, None, acc, *finite, tuple(curve), hit, tuple(rms))
