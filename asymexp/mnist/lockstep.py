"""Train K MNIST configurations of one architecture in lockstep, bit-identical to K runs of
:func:`asymexp.mnist.train.train` (docs/mnist.md, "Throughput", "Lockstep"). A Python API; ``asymexp sweep
mnist`` does not use it yet.

Scope: the paper's network (``norm="none"``), SGD, no shuffling (the data order is fixed, so every configuration
sees the same batches). The configurations must share the architecture (widths, activation, biases), the loss,
the batch, the dtype, the data (dataset, data_dir, n_train, n_test) and the number of epochs; gammas, seeds,
lr-scales, presets' rates, initializations and ``eval_every`` are free. Each configuration is initialized exactly
as :func:`asymexp.mnist.train.train` does (same spec, layout, rates, scales, ``init_theta`` from
``default_rng(seed)``), trained epoch by epoch, one :func:`asymexp.mnist.lockstep_kernel.config_epoch` per
configuration, run by ``threads`` Python threads (the kernel releases the GIL; a thread that finishes one
configuration takes the next), the first layer folded back into theta after every epoch as ``train`` does, and
evaluated by the same evaluation kernel at the epochs ``eval_every`` selects. The batches' pixel-major sort is done
once for the whole run (:func:`asymexp.mnist.lockstep_kernel.sort_batches`): the order is the same every epoch.

Example::

    from asymexp.mnist.lockstep import train_lockstep
    from asymexp.mnist.train import TrainConfig
    runs = train_lockstep([TrainConfig(gammas=g, seed=s, epochs=3) for g in ("1/2,1/2,1", "1,1,1") for s in (0, 1)],
                          threads=2)
    runs[0]["theta"], runs[0]["history"][-1]["test_acc"], runs[0]["status"]

A configuration whose loss or weights become non-finite stops there (``status`` "diverged", ``message`` as the
single run's :class:`asymexp.errors.DivergenceError` would say); the others go on.
"""
from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from asymexp.errors import SpecError

#: TrainConfig fields that every configuration of a lockstep run must share (besides the architecture).
SHARED = ("loss", "batch", "dtype", "dataset", "data_dir", "n_train", "n_test", "epochs")


@dataclasses.dataclass
class _Prepared:
    spec: object
    layout: object
    rates: np.ndarray
    scales: np.ndarray
    theta: np.ndarray


def _prepare(cfg):
    """Spec, layout, rates, scales and initial theta of ``cfg``, exactly as :func:`asymexp.mnist.train.train`."""
    from asymexp.activations import get as get_activation
    from asymexp.mnist.norm_net import init_theta
    from asymexp.mnist.train import activation_of, build_spec, layer_rates
    from asymexp.nn.layout import build_layout

    spec = build_spec(cfg)
    layout = build_layout(spec)
    layout = dataclasses.replace(layout, activation=int(get_activation(activation_of(cfg, spec)).code))
    dtype = np.dtype(cfg.dtype)
    theta = init_theta(spec, np.random.default_rng(cfg.seed), layout, dtype, cfg.init)
    return _Prepared(spec, layout, layer_rates(spec, cfg.lr_scale), layout.scales.astype(dtype), theta)


def check_configs(configs) -> None:
    """Refuse (SpecError, one line naming the value and what is allowed) what lockstep cannot train: no
    configuration, a normalized net, another optimizer, shuffling, or configurations that differ in a field of
    :data:`SHARED`."""
    if not configs:
        raise SpecError("train_lockstep needs at least one TrainConfig; got none")
    for i, cfg in enumerate(configs):
        for field, allowed in (("norm", "none"), ("optimizer", "sgd"), ("shuffle", False)):
            if getattr(cfg, field) != allowed:
                raise SpecError(f"configuration {i}: {field} = {getattr(cfg, field)!r} is not allowed in lockstep; "
                                f"allowed: {allowed!r} (docs/mnist.md, 'Lockstep')")
        for field in SHARED:
            if getattr(cfg, field) != getattr(configs[0], field):
                raise SpecError(f"configuration {i}: {field} = {getattr(cfg, field)!r} differs from configuration "
                                f"0's {getattr(configs[0], field)!r}; lockstep configurations must share {field}")


def _check_architecture(configs, prepared) -> None:
    first = prepared[0]
    for i, p in enumerate(prepared[1:], start=1):
        what = None
        if tuple(p.spec.widths) != tuple(first.spec.widths):
            what = f"widths {','.join(map(str, p.spec.widths))} differ from configuration 0's " \
                   f"{','.join(map(str, first.spec.widths))}"
        elif p.layout.activation != first.layout.activation:
            what = f"activation {configs[i].activation!r} differs from configuration 0's {configs[0].activation!r}"
        elif not np.array_equal(p.layout.table, first.layout.table):
            what = "the parameter layout (biases) differs from configuration 0's"
        if what is not None:
            raise SpecError(f"configuration {i}: {what}; lockstep configurations must share the architecture")


def _set_threads(threads) -> tuple[int, int]:
    """(threads to use, Numba's previous thread count): ``threads`` (None: Numba's current count), checked as
    ``--threads``, also set as Numba's count (the evaluation and the shared sort run in parallel over images and
    batches)."""
    import numba

    from asymexp.mnist.train import _set_threads as set_threads

    previous = numba.get_num_threads()
    set_threads(threads)
    return numba.get_num_threads(), previous


def shared_sort(data, batch):
    """``(order, starts, ebs, evs)``: the file order and the pixel-major sort of each of its batches
    (:func:`asymexp.mnist.lockstep_kernel.sort_batches`), for every epoch of every configuration."""
    from asymexp.mnist.lockstep_kernel import sort_batches

    order = np.arange(data.n)
    firsts = np.arange(0, data.n, batch)
    per_batch = np.add.reduceat(np.diff(data.indptr)[order], firsts)
    width = max(int(per_batch.max()), 1)
    starts = np.zeros((firsts.size, data.dim + 1), dtype=np.int64)
    ebs = np.zeros((firsts.size, width), dtype=np.int64)
    evs = np.zeros((firsts.size, width), dtype=data.values.dtype)
    sort_batches(data.indptr, data.indices, data.values, order, batch, data.dim, starts, ebs, evs)
    return order, starts, ebs, evs


def train_lockstep(configs, threads: int | None = None, evaluate: bool = True) -> list[dict]:
    """Train ``configs`` (a list of :class:`asymexp.mnist.train.TrainConfig`) in lockstep on ``threads`` threads
    (None: Numba's current count; the configurations' own ``threads`` field is not used); bit-identical to
    ``train(cfg)`` of each, whatever ``threads``.

    Returns one dict per configuration, in order: ``config``, ``theta`` (final parameters, layout of
    :mod:`asymexp.nn.layout`, the first layer folded back), ``history`` (one record per evaluated epoch:
    ``epoch``, ``train_loss``, ``train_acc``, ``test_acc``, ``train_loss_running``, and ``lockstep_seconds`` /
    ``lockstep_cpu_seconds``: wall and process CPU seconds of that epoch's lockstep pass over all configurations),
    ``status`` ("finished" or "diverged") and ``message`` (None, or the divergence message).
    ``evaluate=False`` skips the evaluation passes (the records then hold ``epoch``, ``train_loss_running`` and
    the seconds only; the parameters are the same).
    Raises SpecError for configurations that cannot be trained together (:func:`check_configs`).
    """
    from asymexp.mnist.epoch_kernel import LOSSES
    from asymexp.mnist.lockstep_kernel import config_epoch
    from asymexp.mnist.prepare import SHIFT, load_sparse
    from asymexp.mnist.train import _divergence_message, _evaluate, _FirstLayer, is_evaluated

    configs = list(configs)
    check_configs(configs)
    prepared = [_prepare(cfg) for cfg in configs]
    _check_architecture(configs, prepared)
    c0 = configs[0]
    layout = prepared[0].layout
    train_data, test_data, _ = load_sparse(c0.dataset, c0.data_dir, c0.dtype, c0.n_train, c0.n_test)
    loss_kind = LOSSES[c0.loss]
    K = len(configs)
    thetas = np.stack([p.theta for p in prepared])
    scales = np.stack([p.scales for p in prepared])
    rates = np.stack([p.rates for p in prepared])
    d, n1 = train_data.dim, int(layout.table[0, 2])
    S = np.zeros((K, d, n1), dtype=thetas.dtype)
    u, cs = np.zeros((K, n1)), np.zeros((K, n1))
    results = np.zeros((K, 4))
    active = np.ones(K, dtype=np.bool_)
    runs = [{"config": cfg, "theta": thetas[k], "history": [], "status": "finished", "message": None}
            for k, cfg in enumerate(configs)]
    n_steps = (train_data.n + c0.batch - 1) // c0.batch
    n_threads, previous = _set_threads(threads)
    pool = ThreadPoolExecutor(max_workers=n_threads)
    try:
        order, starts, ebs, evs = shared_sort(train_data, c0.batch)
        data = (SHIFT, train_data.indptr, train_data.indices, train_data.values, train_data.vsum, train_data.labels,
                order, c0.batch)

        def one_epoch(k):  # config_epoch releases the GIL: one configuration per thread at a time
            results[k] = config_epoch(thetas[k], layout.table, scales[k], layout.activation, S[k], u[k], cs[k],
                                      *data, rates[k], loss_kind, starts, ebs, evs)

        config_epoch(thetas[0], layout.table, scales[0], layout.activation, S[0], u[0], cs[0], *data[:-2],
                     order[:0], c0.batch, rates[0], loss_kind, starts, ebs, evs)   # load or compile, untimed
        for epoch in range(1, c0.epochs + 1):
            firsts = {k: _FirstLayer(thetas[k], layout) for k in np.flatnonzero(active)}
            for k, first in firsts.items():
                S[k], u[k], cs[k] = first.S, first.u, first.cs
            t0, p0 = time.perf_counter(), time.process_time()
            list(pool.map(one_epoch, list(firsts)))
            seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - p0
            for k in np.flatnonzero(active):
                first, run, p = firsts[k], runs[k], prepared[k]
                first.S[...], first.u[...], first.cs[...] = S[k], u[k], cs[k]
                first.fold()
                total, done, bad = results[k, 0], int(results[k, 1]), int(results[k, 3])
                cause = ("non-finite loss", bad + 1) if bad >= 0 else \
                    ("non-finite weights at the end of the epoch", n_steps) if not np.isfinite(thetas[k]).all() \
                    else None
                if cause is not None:
                    active[k] = False
                    run["status"] = "diverged"
                    run["message"] = _divergence_message(epoch, cause[1], n_steps, thetas[k], layout,
                                                         p.spec.layer_names, cause[0], None)
                    continue
                if not is_evaluated(epoch, c0.epochs, configs[k].eval_every):
                    continue
                record = {"epoch": epoch, "train_loss_running": total / max(done, 1), "lockstep_seconds": seconds,
                          "lockstep_cpu_seconds": cpu_seconds}
                if evaluate:
                    ev = _FirstLayer(thetas[k], layout)
                    record["train_loss"], record["train_acc"] = _evaluate(thetas[k], layout, p.scales, ev,
                                                                          train_data, loss_kind)
                    record["test_acc"] = _evaluate(thetas[k], layout, p.scales, ev, test_data, loss_kind)[1]
                run["history"].append(record)
            if not active.any():
                break
    finally:
        import numba

        pool.shutdown()
        numba.set_num_threads(previous)
    return runs
