"""Per-class centring of a trained network's outputs at evaluation only (docs/mnist.md, "Prediction rule or
learning: per-class centring of saved checkpoints").

A net on the constant-mode plateau may already order its outputs by class and still answer one class for every
image, because one output carries a large offset common to all images. Centring output k by its mean over the
training images,

    out_ik - m_k,    m_k = (1/n_train) sum_i out_ik   (i over the training images),

removes that offset without touching a parameter. m is fixed by the training set, so every test image is classified
alone: this is the rule that ``--norm mean-last`` applies in eval mode with its running mean, here applied to a
network that was trained without it. If a plain net's accuracy rises under it, that part of what mean-last "frees"
is the prediction rule, not learning.

The outputs are computed by :meth:`asymexp.mnist.norm_net.NormNet.forward` (the trainer's dense core, in the run's
dtype) with a zero running mean, i.e. the plain network. Shapes: outputs (n, 10); accuracies are fractions of the
images; losses are the run's loss per image, averaged.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from asymexp.errors import AsymexpError


def _net(cfg):
    """(spec, layout, NormNet) of a plain run ``cfg`` whose mean-last layer subtracts nothing (running mean 0)."""
    from asymexp.activations import get as get_activation
    from asymexp.mnist.norm_net import NormNet
    from asymexp.mnist.train import activation_of, build_spec
    from asymexp.nn.layout import build_layout

    spec = build_spec(cfg)
    layout = build_layout(spec)
    layout = dataclasses.replace(layout, activation=int(get_activation(activation_of(cfg, spec)).code))
    net = NormNet(layout, "mean-last", "pre", cfg.dtype)
    return spec, layout, net


def outputs(theta, cfg, x) -> np.ndarray:
    """The plain network's outputs (n, 10), float64, for dense normalized inputs ``x`` (n, 784) of the run
    ``cfg`` (a :class:`asymexp.mnist.train.TrainConfig` with ``norm`` none) at parameters ``theta`` (P,)."""
    from asymexp.mnist.norm_net import EVAL_CHUNK

    if cfg.norm != "none":
        raise AsymexpError(f"per-class centring applies to plain runs; this one has --norm {cfg.norm}")
    _, _, net = _net(cfg)
    theta = np.asarray(theta, dtype=np.dtype(cfg.dtype))
    x = np.asarray(x, dtype=np.dtype(cfg.dtype))
    parts = [net.forward(theta, x[lo:lo + EVAL_CHUNK], train=False, update_running=False)[0]
             for lo in range(0, x.shape[0], EVAL_CHUNK)]
    return np.concatenate(parts).astype(np.float64)


def mean_loss(out, labels, loss: str) -> float:
    """The run's loss (``ce``, ``mse`` or ``paper-mse``, :mod:`asymexp.mnist.epoch_kernel`) of outputs (n, K) with
    integer labels (n,), averaged over the images."""
    from asymexp.mnist import norm_kernel as nk
    from asymexp.mnist.epoch_kernel import LOSSES

    out = np.ascontiguousarray(out, dtype=np.float64)
    pred = np.empty(out.shape[0], dtype=np.int64)
    return float(nk.loss_rows(out, np.asarray(labels, dtype=np.int64), LOSSES[loss], 1.0, np.empty_like(out),
                              pred)) / out.shape[0]


def centred(train_out, test_out) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train_out - m, test_out - m, m) with m (K,) the mean of ``train_out`` (n_train, K) over its images."""
    m = np.asarray(train_out, dtype=np.float64).mean(axis=0)
    return train_out - m, test_out - m, m


def binomial_se(p: float, n: int) -> float:
    """Standard error of an accuracy ``p`` measured on ``n`` images, sqrt(p (1 - p) / n)."""
    return math.sqrt(max(p * (1.0 - p), 0.0) / n)


def check_checkpoint(path) -> dict:
    """Evaluate the checkpoint file ``path`` of a plain ``asymexp mnist`` run with and without per-class centring.

    Returns a JSON-ready dict: ``gammas``, ``seed``, ``epoch``, ``steps`` (SGD steps trained), ``recorded`` (the
    run's own evaluation of that epoch, when it was evaluated), and for ``plain`` and ``centred``: ``train_loss``,
    ``train_acc``, ``test_acc`` with ``test_acc_se`` (binomial, over the test images); ``offset`` is m (10,), the
    training-set mean of each output, and ``offset_spread`` its max minus min."""
    from asymexp.mnist.checkpoints import load_checkpoint
    from asymexp.mnist.prepare import load_sparse
    from asymexp.mnist.train import TrainConfig

    theta, meta = load_checkpoint(path)
    cfg = TrainConfig(**meta["config"])
    train, test, _ = load_sparse(cfg.dataset, cfg.data_dir, cfg.dtype, cfg.n_train, cfg.n_test)
    out_train, out_test = (outputs(theta, cfg, d.dense()) for d in (train, test))
    c_train, c_test, m = centred(out_train, out_test)
    result = {"checkpoint": str(Path(path)), "gammas": cfg.gammas, "seed": cfg.seed, "lr_scale": cfg.lr_scale,
              "epoch": int(meta["epoch"]),
              "steps": int(meta["epoch"]) * ((train.n + cfg.batch - 1) // cfg.batch if cfg.optimizer == "sgd" else 1),
              "n_train": train.n, "n_test": test.n, "offset": m.tolist(),
              "offset_spread": float(m.max() - m.min())}
    for name, (a, b) in {"plain": (out_train, out_test), "centred": (c_train, c_test)}.items():
        test_acc = float((b.argmax(axis=1) == test.labels).mean())
        result[name] = {"train_loss": mean_loss(a, train.labels, cfg.loss),
                        "train_acc": float((a.argmax(axis=1) == train.labels).mean()),
                        "test_acc": test_acc, "test_acc_se": binomial_se(test_acc, test.n)}
    recorded = [h for h in meta["history"] if h["epoch"] == result["epoch"]]
    result["recorded"] = ({k: recorded[0][k] for k in ("train_loss", "train_acc", "test_acc")}
                          if recorded else None)
    return result
