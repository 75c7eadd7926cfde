"""The MNIST trainer: plain mini-batch SGD with per-layer rates, evaluation per epoch, checkpoints, resume.

The paper's network (``norm="none"``) runs the fused kernels of :mod:`asymexp.mnist.epoch_kernel`; normalization
layers, other initializations and full-batch GD are the options of :mod:`asymexp.mnist.norm_net`
(docs/mnist.md, "Normalization, initialization, optimizer").

One :class:`TrainConfig` describes a run (network, loss, rates, data); :func:`train` runs it epoch by epoch,
yielding one record per epoch ``{"epoch", "train_loss", "train_acc", "test_acc", "seconds", ...}``:

- ``seconds``: the training pass alone (the fused kernel of :mod:`asymexp.mnist.epoch_kernel`), wall clock;
  ``cpu_seconds``: the same pass in process CPU time (steadier on a shared machine);
- ``train_loss``, ``train_acc``, ``test_acc``: an evaluation pass with the weights at the end of the epoch
  (``train_loss_running``: the mean of the epoch's batch losses, as seen during training).

``eval_every`` K (default 1) evaluates, and records and yields, only epochs 1, K+1, 2K+1, ... and the last
(``epochs``); the other epochs are trained exactly as with K = 1 (evaluation changes no parameter), so the
parameters are bit-identical for every K (docs/mnist.md, "Throughput").

With ``out`` the run is checkpointed to ``out/checkpoint.npz`` (parameters, NumPy RNG state, history; written to
a temporary file, then renamed) after every ``checkpoint_every``-th epoch (default 1: every epoch) and after the
last, and the same call resumes from it. A resumed run is bit-identical to an uninterrupted one: an epoch
depends only on the parameters and the RNG state at its start.
A non-finite loss or weight stops the run with :class:`asymexp.errors.DivergenceError` naming the epoch, the
step and the layers; the last good checkpoint is kept.

Example::

    from asymexp.mnist.train import TrainConfig, train
    for rec in train(TrainConfig(gammas="1,1,1", widths="100,100,100", epochs=2)):
        print(rec["epoch"], rec["test_acc"])
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from asymexp.activations import TRAINER_ONLY, get as get_activation
from asymexp.errors import AsymexpError, DivergenceError, SpecError
from asymexp.mnist.checkpoints import (CHECKPOINT, checkpoint_epoch, load_checkpoint,  # noqa: F401 - re-exported
                                       load_norm_state, save_checkpoint as _save)
from asymexp.mnist.train_options import DTYPES  # noqa: F401 - declared with the options
from asymexp.spec import NetworkSpec, parse_gammas
from asymexp.symbolic.rules import rules_for

# may change between a run and its resumption: they change neither the trained parameters nor the RNG stream
_NOT_IDENTITY = ("epochs", "threads", "eval_every", "checkpoint_every")
#: Defaults of the schedule options (evaluation and checkpoint every epoch: the behaviour before they existed).
SCHEDULE_DEFAULTS = {"eval_every": 1, "checkpoint_every": 1}


@dataclass(frozen=True)
class TrainConfig:
    """One MNIST training run. ``gammas``/``widths``: comma-separated strings or sequences (gammas: any numbers
    the spec accepts, e.g. ``np.linspace(0.5, 1, 3)``; stored as exact "7/10" strings), or one value for every
    layer when ``layers`` is given. ``bias=None`` takes the preset's choice. ``n_train``/``n_test`` use only the first
    images of each part (tests). ``lr_scale`` multiplies every layer's rate alpha_m
    (docs/theory/2-learning-rates.md). ``norm``, ``norm_placement``, ``init``, ``optimizer``: see
    :mod:`asymexp.mnist.norm_net` (defaults: the paper's network, trained by SGD). ``eval_every`` K: evaluate
    (and record) epochs 1, K+1, 2K+1, ... and the last only; ``checkpoint_every`` C: write the checkpoint after
    epochs C, 2C, ... and the last only (both default 1; neither changes the trained parameters, so neither is
    part of :meth:`identity`: a rerun with other values continues the run; docs/mnist.md, "Throughput")."""

    gammas: str = "1,1,1"
    widths: str = "100,100,100"
    layers: int | None = None
    preset: str = "paper-mnist"
    activation: str | None = None
    bias: bool | None = None
    loss: str = "ce"
    lr_scale: float = 1.0
    epochs: int = 1
    batch: int = 20
    dtype: str = "float32"
    seed: int = 0
    shuffle: bool = False
    threads: int | None = None
    dataset: str = "mnist"
    data_dir: str | None = None
    n_train: int | None = None
    n_test: int | None = None
    norm: str = "none"
    norm_placement: str = "pre"
    init: str = "paper"
    optimizer: str = "sgd"
    eval_every: int = 1
    checkpoint_every: int = 1

    def __post_init__(self):
        if not isinstance(self.gammas, str):
            object.__setattr__(self, "gammas", ",".join(str(g) for g in parse_gammas(self.gammas)))
        if not isinstance(self.widths, str):
            object.__setattr__(self, "widths", ",".join(str(int(w)) for w in self.widths))

    def identity(self) -> dict:
        """The fields a checkpoint must match to be resumed. The options of :mod:`asymexp.mnist.norm_net` enter
        only when they differ from their defaults, so checkpoints written before they existed still match."""
        from asymexp.mnist.norm_net import DEFAULTS

        d = dataclasses.asdict(self)
        return {k: v for k, v in d.items() if k not in _NOT_IDENTITY and not (k in DEFAULTS and v == DEFAULTS[k])}

    def canonical_identity(self) -> dict:
        """:meth:`identity` in canonical form: exact gammas and widths per layer, the preset's activation and
        bias filled in, so ``--gammas 1 --layers 2`` and ``--gammas 1.0,1`` are the same run."""
        spec = build_spec(self)
        return self.identity() | {"gammas": ",".join(str(g) for g in spec.gammas),
                                  "widths": ",".join(str(w) for w in spec.widths), "layers": spec.depth,
                                  "activation": activation_of(self, spec), "bias": bool(spec.bias)}


def _same_run(stored: dict, cfg: TrainConfig) -> list[str]:
    """The identity fields in which the checkpoint's config ``stored`` differs from ``cfg`` (canonical forms)."""
    mine = json.loads(json.dumps(cfg.canonical_identity()))
    try:
        theirs = json.loads(json.dumps(TrainConfig(**stored).canonical_identity()))
    except (TypeError, AsymexpError):
        theirs = stored
    return sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))


def _broadcast(text: str, layers: int | None, what: str) -> str:
    items = [t.strip() for t in str(text).split(",")]
    if layers is None:
        return str(text)
    if layers < 1:
        raise SpecError(f"--layers {layers} is not allowed; at least 1 hidden layer")
    if len(items) == 1:
        return ",".join(items * layers)
    if len(items) != layers:
        raise SpecError(f"--{what} {text!r} has {len(items)} entries but --layers is {layers}")
    return str(text)


def build_spec(cfg: TrainConfig) -> NetworkSpec:
    """The network of ``cfg``: 784 inputs, 10 outputs, the preset's laws (paper-mnist: the authors')."""
    from asymexp.mnist.norm_net import check_batches, check_options, check_widths
    from asymexp.mnist.train_options import check_config

    check_config(cfg)  # choices and integer bounds of asymexp.mnist.train_options, the CLI's own
    check_options(cfg.norm, cfg.norm_placement, cfg.init, cfg.optimizer)  # and --norm-placement with --norm
    if cfg.optimizer == "sgd":
        check_batches(cfg.norm, cfg.batch)  # a batch of 1; the last batch is checked with the data
    kwargs = {"input_dim": 784, "output_dim": 10}
    if cfg.bias is not None:
        kwargs["bias"] = cfg.bias
    spec = NetworkSpec.from_strings(_broadcast(cfg.gammas, cfg.layers, "gammas"),
                                    _broadcast(cfg.widths, cfg.layers, "widths"),
                                    activation=None if cfg.activation in TRAINER_ONLY else cfg.activation,
                                    preset=cfg.preset, **kwargs)
    if spec.is_symbolic:
        raise SpecError(f"gammas {[str(g) for g in spec.gammas]} are symbolic; training needs numbers")
    check_widths(cfg.norm, spec.require_widths())
    if cfg.norm != "none" and (act := get_activation(activation_of(cfg, spec))).needs_preactivation:
        raise SpecError(f"--activation {act.name} is not allowed with --norm {cfg.norm} (its derivative is not a "
                        "function of its value, all that the normalized net's backward pass keeps); allowed: --norm none")
    return spec


def size_estimate(cfg: TrainConfig, spec: NetworkSpec):
    """:func:`asymexp.budget.training` of one run of ``cfg`` (``spec`` = :func:`build_spec`), before the data are
    loaded: without n_train/n_test the embedded set's sizes (8000/2000), with data_dir the full MNIST files'
    (60000/10000); full-batch GD takes the whole training set as its batch. Bad sizes: BudgetError."""
    from asymexp import budget

    for name, value, low in (("--n-train", cfg.n_train, 1), ("--n-test", cfg.n_test, 1), ("--epochs", cfg.epochs, 0)):
        if value is not None and value < low:
            raise budget.BudgetError(f"{name} {value} is not allowed; an integer >= {low} is required")
    full = (8000, 2000) if cfg.data_dir is None else (60000, 10000)
    n_train = cfg.n_train or full[0]
    return budget.training([spec.input_dim, *spec.widths, spec.output_dim], n_train, cfg.n_test or full[1],
                           cfg.epochs, n_train if cfg.optimizer == "gd" else cfg.batch,
                           4 if cfg.dtype == "float32" else 8,
                           f"mnist training (widths {','.join(map(str, spec.widths))}, {cfg.epochs} epochs)",
                           eval_every=cfg.eval_every)


def activation_of(cfg: TrainConfig, spec: NetworkSpec) -> str:
    """The network's activation: the spec's, or one the trainer takes although the spec (the expansion layers)
    refuses it (relu); the spec then carries the preset's activation, unused: the learning rates of
    docs/theory/2-learning-rates.md depend on the gammas alone."""
    return cfg.activation if cfg.activation in TRAINER_ONLY else spec.activation


def layer_rates(spec: NetworkSpec, lr_scale: float = 1.0) -> np.ndarray:
    """Learning rates alpha_m (float64 (L+1,), order W1..WL, C) for base rate ``lr_scale`` = alpha, from the
    spec's rules (:func:`asymexp.symbolic.rules.rules_for`). Biases use their layer's rate."""
    if not (isinstance(lr_scale, (int, float)) and np.isfinite(lr_scale) and lr_scale > 0):
        raise SpecError(f"--lr-scale {lr_scale!r} is not allowed; a finite number > 0 is required")
    return rules_for(spec).learning_rates(spec.require_widths(), lr_scale)


def _set_threads(threads: int | None) -> None:
    import numba

    if threads is None:
        return
    top = numba.config.NUMBA_NUM_THREADS
    if not 1 <= threads <= top:
        raise SpecError(f"--threads {threads} is not allowed; 1..{top} (NUMBA_NUM_THREADS) here")
    numba.set_num_threads(threads)


class _FirstLayer:
    """W1 kept transposed as S + 1 u^T with column sums cs (see :mod:`asymexp.mnist.epoch_kernel`)."""

    def __init__(self, theta, layout):
        w0, _, n1, d, _ = layout.table[0]
        self.block = theta[w0:w0 + n1 * d].reshape(n1, d)
        self.S = np.ascontiguousarray(self.block.T)
        self.u = np.zeros(n1)
        self.cs = self.S.astype(np.float64).sum(axis=0)

    def fold(self):
        """Write W1 = (S + 1 u^T)^T back into theta."""
        self.block[...] = (self.S.astype(np.float64) + self.u[None, :]).T.astype(self.block.dtype)


def is_evaluated(epoch: int, epochs: int, eval_every: int) -> bool:
    """Whether epoch ``epoch`` (1-based) of a run of ``epochs`` is evaluated under ``--eval-every``:
    epochs 1, K+1, 2K+1, ... and the last."""
    return (epoch - 1) % eval_every == 0 or epoch == epochs


def _evaluate(theta, layout, scales, first, data, loss_kind):
    from asymexp.mnist.epoch_kernel import evaluate
    from asymexp.mnist.prepare import SHIFT

    losses = np.empty(data.n)
    pred = np.empty(data.n, dtype=np.int64)
    evaluate(theta, layout.table, scales, layout.activation, first.S, first.u, first.cs, SHIFT, data.indptr,
             data.indices, data.values, data.vsum, data.labels, loss_kind, losses, pred)
    return float(losses.mean()), float((pred == data.labels).mean())


def _divergence_message(epoch, step, n_steps, theta, layout, names, cause, last_good, net=None):
    bad = [n for m, n in enumerate(names)
           if not np.isfinite(layout.block(theta, m)).all()
           or (layout.bias(theta, m) is not None and not np.isfinite(layout.bias(theta, m)).all())]
    bad += net.non_finite() if net is not None else []
    if bad:
        where = f"non-finite weights in layer(s) {', '.join(bad)}"
    else:
        big = ", ".join(f"{n} {float(np.abs(layout.block(theta, m)).max()):.3g}" for m, n in enumerate(names))
        where = f"weights still finite (largest |w|: {big})"
    keep = f"the last good checkpoint (epoch {last_good}) is kept" if last_good is not None else "no checkpoint"
    return (f"training diverged at epoch {epoch}, step {step} of {n_steps}: {cause}; {where}; {keep}. "
            "Lower --lr-scale.")


def _warm_up(theta, layout, scales, data, batch, rates, loss_kind):
    """Load (or compile) the kernels outside the timed region: an epoch over no images changes nothing."""
    from asymexp.mnist.epoch_kernel import train_epoch
    from asymexp.mnist.prepare import SHIFT

    first = _FirstLayer(theta, layout)
    train_epoch(theta, layout.table, scales, layout.activation, first.S, first.u, first.cs, SHIFT, data.indptr,
                data.indices, data.values, data.vsum, data.labels, np.zeros(0, dtype=np.int64), batch, rates,
                loss_kind)


def train(cfg: TrainConfig, out=None, resumed: list | None = None) -> Iterator[dict]:
    """Run ``cfg`` and yield one record per evaluated epoch (every epoch by default; ``cfg.eval_every``; see the
    module docstring).

    ``--norm none`` runs the fused kernels of :mod:`asymexp.mnist.epoch_kernel`; another norm the
    :class:`asymexp.mnist.norm_net.NormNet` passes. ``--optimizer gd`` is one step per epoch on all the images.

    Args:
        cfg: the run.
        out: checkpoint folder, or None. A checkpoint there with the same :meth:`TrainConfig.identity` is resumed
            (its epochs are not yielded again; ``resumed`` receives their records); a different one is an error.
    Raises:
        DivergenceError: non-finite loss or weights (names epoch, step and layers; the checkpoint is kept).
    """
    from asymexp.mnist.epoch_kernel import LOSSES, train_epoch
    from asymexp.mnist.norm_net import NormNet, check_batches, init_theta
    from asymexp.mnist.prepare import SHIFT, load_sparse
    from asymexp.nn.layout import build_layout

    spec = build_spec(cfg)
    _set_threads(cfg.threads)
    layout = build_layout(spec)
    layout = dataclasses.replace(layout, activation=int(get_activation(activation_of(cfg, spec)).code))
    rates = layer_rates(spec, cfg.lr_scale)
    dtype = np.dtype(cfg.dtype)
    scales = layout.scales.astype(dtype)
    loss_kind = LOSSES[cfg.loss]
    train_data, test_data, _ = load_sparse(cfg.dataset, cfg.data_dir, cfg.dtype, cfg.n_train, cfg.n_test)
    batch = train_data.n if cfg.optimizer == "gd" else cfg.batch
    check_batches(cfg.norm, batch, train_data.n)
    net = NormNet(layout, cfg.norm, cfg.norm_placement, dtype) if cfg.norm != "none" else None
    rng = np.random.default_rng(cfg.seed)
    theta = init_theta(spec, rng, layout, dtype, cfg.init)
    start, history = 0, []
    last_saved = None  # the epoch of the checkpoint on disk, named when the run diverges
    ckpt = Path(out) / CHECKPOINT if out is not None else None
    if ckpt is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        if ckpt.exists():
            theta_c, meta = load_checkpoint(ckpt)
            diff = _same_run(meta["config"], cfg)
            if diff:
                raise AsymexpError(f"{ckpt} belongs to a run with other settings ({', '.join(diff)} differ); "
                                   "use another --out folder")
            if theta_c.shape != theta.shape:
                raise AsymexpError(f"{ckpt} holds {theta_c.size} parameters, this network {theta.size}; delete it "
                                   "to restart that run, or use another --out")
            if net is not None:
                net.load_state_vector(load_norm_state(ckpt))
            theta, start, history = theta_c.astype(dtype), int(meta["epoch"]), meta["history"]
            last_saved = start
            rng.bit_generator.state = meta["rng_state"]
            if resumed is not None:
                resumed.extend(history)
    n_steps = (train_data.n + batch - 1) // batch
    if net is None:
        _warm_up(theta, layout, scales, train_data, batch, rates, loss_kind)
    else:
        x_train, x_test = (d.dense().astype(dtype) for d in (train_data, test_data))
    for epoch in range(start + 1, cfg.epochs + 1):
        order = rng.permutation(train_data.n) if cfg.shuffle else np.arange(train_data.n)
        t0, c0 = time.perf_counter(), time.process_time()
        if net is None:
            first = _FirstLayer(theta, layout)
            total, done, _, bad = train_epoch(theta, layout.table, scales, layout.activation, first.S, first.u,
                                              first.cs, SHIFT, train_data.indptr, train_data.indices,
                                              train_data.values, train_data.vsum, train_data.labels, order,
                                              batch, rates, loss_kind)
            seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
            first.fold()
        else:
            total, done, bad = net.train_epoch(theta, x_train, train_data.labels, order, batch, rates, loss_kind)
            seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        last_good = last_saved if ckpt is not None else None
        if bad >= 0:
            raise DivergenceError(_divergence_message(epoch, bad + 1, n_steps, theta, layout, spec.layer_names,
                                                      "non-finite loss", last_good, net))
        if not np.isfinite(theta).all() or (net is not None and net.non_finite()):
            raise DivergenceError(_divergence_message(epoch, n_steps, n_steps, theta, layout, spec.layer_names,
                                                      "non-finite weights at the end of the epoch", last_good, net))
        record = None
        if is_evaluated(epoch, cfg.epochs, cfg.eval_every):
            if net is None:
                first = _FirstLayer(theta, layout)
                train_loss, train_acc = _evaluate(theta, layout, scales, first, train_data, loss_kind)
                _, test_acc = _evaluate(theta, layout, scales, first, test_data, loss_kind)
            else:
                train_loss, train_acc = net.evaluate(theta, x_train, train_data.labels, loss_kind)
                _, test_acc = net.evaluate(theta, x_test, test_data.labels, loss_kind)
            record = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "test_acc": test_acc,
                      "seconds": seconds, "train_loss_running": total / max(done, 1), "cpu_seconds": cpu_seconds}
            history.append(record)
        if ckpt is not None and (epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs):
            _save(ckpt, theta, {"config": cfg.identity(), "epoch": epoch, "history": history,
                                "rng_state": rng.bit_generator.state,
                                "spec": spec.to_dict() | {"activation": activation_of(cfg, spec)}},
                  None if net is None else net.state_vector())
            last_saved = epoch
        if record is not None:
            yield record


def run_summary(cfg: TrainConfig, history: list[dict], status: str = "finished") -> dict:
    """The final JSON line of ``asymexp mnist``: spec, rates, best/final accuracy, mean seconds per epoch.

    ``epochs`` is the last recorded epoch (with ``--eval-every`` K > 1 the history holds fewer records than
    epochs; ``seconds_per_epoch`` is then the mean over the recorded epochs' training passes)."""
    spec = build_spec(cfg)
    rates = layer_rates(spec, cfg.lr_scale)
    accs = [h["test_acc"] for h in history]
    best = int(np.argmax(accs)) if accs else None
    return {"summary": True, "status": status, "epochs": history[-1]["epoch"] if history else 0,
            "final_test_acc": accs[-1] if accs else None,
            "best_test_acc": accs[best] if accs else None,
            "best_epoch": history[best]["epoch"] if accs else None,
            "seconds_per_epoch": float(np.mean([h["seconds"] for h in history])) if history else None,
            "learning_rates": {n: float(r) for n, r in zip(spec.layer_names, rates)},
            "learning_rate_exponents": {n: {k: str(v) for k, v in e.items()}
                                        for n, e in rules_for(spec).rate_exponents.items()},
            "loss": cfg.loss, "lr_scale": cfg.lr_scale, "batch": cfg.batch, "dtype": cfg.dtype, "seed": cfg.seed,
            "norm": cfg.norm, "norm_placement": cfg.norm_placement, "init": cfg.init, "optimizer": cfg.optimizer,
            "spec": spec.to_dict() | {"activation": activation_of(cfg, spec)}}
