"""Benchmark: the hand-written Numba MNIST trainer against the same model in PyTorch (CPU), in one run.

Measures, single-threaded, float32, three hidden layers of width 100, batch 20, 8,000 training images:

1. seconds per epoch (training pass only; best and median of several epochs) for asymexp and PyTorch, on the
   paper's configuration (sigmoid, gammas 1,1,1, paper-mnist preset, the theory's rates) and on a configuration
   that learns within 2 epochs (tanh, gammas 1/2, lr-scale 300), and their ratio;
2. test accuracy after 2 epochs over 3 seeds for both (PyTorch starts from asymexp's initial weights and sees
   the batches in the same order, so the two runs differ only by floating-point rounding);
3. GFLOP/s (dense-equivalent model FLOPs, and the FLOPs actually executed with the sparse first layer)
   against this machine's measured single-thread float32 GEMM rate;
4. the wall time of the 27-configuration grid for 50 epochs, extrapolated from a few measured configurations;
5. the throughput of the paper's grid (``asymexp sweep mnist --layers 3 --grid "gammas=1/2,7/10,1" --seeds 0,1,2
   --epochs 1500``): today's trainer (evaluation of all 10,000 images and a checkpoint after every epoch, the
   defaults) against the fast path (``--eval-every 10 --checkpoint-every 10``) in the same run, on the same
   configurations, each a whole task with its checkpoint folder: process CPU seconds per epoch (setup, measured
   with an epoch-free run, taken out), where the CPU time goes today (training pass, evaluation + checkpoint +
   Python), the ratio, a check that both end with bit-identical parameters, and the wall time of the 81 tasks x
   1500 epochs on 2 worker processes (ceil(81 / 2) = 41 rounds of one task each, one core per worker); and two
   parts of the training pass measured alone: the pixel-major sort of every batch (the data pass that models
   trained in lockstep could share) and one epoch's float32 sigmoids (libm's expf, 8,000 x 300 values).

6. the lockstep path (``asymexp.mnist.lockstep``: K configurations trained together, in parallel over
   configurations) against today's path (K single runs) and PyTorch, per step and per grid, with the bit-identity
   check, the arithmetic count of a step against the GEMM rate and the 27 x 3 grid at 4.5M steps per run
   projected on 2 cores (``benchmarks/bench_mnist_lockstep.py``).

PyTorch is optional: without it the PyTorch rows are skipped. Usage:
``python benchmarks/bench_mnist.py [--quick] [--json] [--grid-only | --lockstep-only]`` (``--grid-only``: item 5
alone; ``--lockstep-only``: item 6 alone). Timings on
a shared machine vary; the best epoch is the figure least disturbed by other processes, the median is reported
next to it, and CPU-time (process) figures are reported as well: on a loaded machine they are the steadier
comparison.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # the GEMM reference rate is single-threaded too
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

PAPER = dict(gammas="1,1,1", widths="100,100,100", activation=None, lr_scale=1.0)
LEARNS = dict(gammas="1/2,1/2,1/2", widths="100,100,100", activation="tanh", lr_scale=300.0)


def _config(base, seed=0, epochs=1):
    from asymexp.mnist.train import TrainConfig

    return TrainConfig(preset="paper-mnist", batch=20, dtype="float32", loss="ce", seed=seed, epochs=epochs,
                       threads=1, **base)


def gemm_rate(n=1024, reps=5) -> float:
    """Measured single-thread float32 GEMM rate in GFLOP/s (NumPy's BLAS, OPENBLAS_NUM_THREADS=1)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(reps))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def flops_per_image(widths=(100, 100, 100), d=784, k=10, nnz=None) -> float:
    """Training FLOPs per image: forward products, weight gradients, and deltas sent back (not into layer 1).

    With ``nnz`` (mean non-zero pixels) the first layer's two products count only the non-zero pixels."""
    sizes = [d, *widths, k]
    first = 2 * (nnz if nnz is not None else d) * sizes[1]
    fwd = first + sum(2 * a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    grad = fwd
    back = sum(2 * a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    return fwd + grad + back


def asymexp_epochs(base, epochs, seed=0):
    """(records, final theta) of an asymexp run."""
    from asymexp.mnist.train import train

    records = list(train(_config(base, seed, epochs)))
    return records


def _initial_theta(base, seed):
    from asymexp.mnist.train import build_spec
    from asymexp.nn.layout import build_layout, init_params

    spec = build_spec(_config(base, seed))
    layout = build_layout(spec)
    return spec, layout, init_params(spec, np.random.default_rng(seed), layout, np.float32)


def torch_run(base, epochs, seed=0):
    """The same model in PyTorch (CPU, one thread), from asymexp's initial weights, same batch order.

    Returns ``(wall seconds per epoch, test accuracy after each epoch, CPU seconds per epoch)``."""
    import torch

    from asymexp.inputs.datasets import load
    from asymexp.mnist.train import layer_rates

    torch.set_num_threads(1)
    spec, layout, theta = _initial_theta(base, seed)
    x, y, xt, yt = load().arrays()
    X, Y, XT = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(xt)
    act = torch.tanh if spec.activation == "tanh" else torch.sigmoid
    lins = []
    for m in range(layout.n_layers):
        w = layout.block(theta, m)
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.copy()))
            lin.bias.copy_(torch.from_numpy(layout.bias(theta, m).copy()))
        lins.append(lin)
    scales = [float(s) for s in layout.scales]

    def net(h):
        for m, lin in enumerate(lins):
            h = lin(h * scales[m]) if m else lin(h)
            if m < len(lins) - 1:
                h = act(h)
        return h

    rates = layer_rates(spec, base["lr_scale"])
    opt = torch.optim.SGD([{"params": lin.parameters(), "lr": float(r)} for lin, r in zip(lins, rates)], lr=1.0)
    loss_fn = torch.nn.CrossEntropyLoss()
    seconds, cpu, accs = [], [], []
    for _ in range(epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, X.shape[0], 20):
            opt.zero_grad()
            loss_fn(net(X[i:i + 20]), Y[i:i + 20]).backward()
            opt.step()
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        with torch.no_grad():
            accs.append(float((net(XT).argmax(1).numpy() == yt).mean()))
    return seconds, accs, cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and seeds (a smoke run)")
    parser.add_argument("--json", action="store_true", help="also print one JSON document at the end")
    parser.add_argument("--grid-only", action="store_true", help="only the grid throughput (item 5)")
    parser.add_argument("--lockstep-only", action="store_true", help="only the lockstep section (item 6)")
    args = parser.parse_args(argv)
    if args.lockstep_only:
        report = lockstep_throughput(quick=args.quick, have_torch=_have_torch())
        if args.json:
            print(json.dumps(report))
        return 0
    if args.grid_only:
        report = grid_throughput(quick=args.quick)
        if args.json:
            print(json.dumps(report))
        return 0
    timing_epochs = 3 if args.quick else 8
    seeds = [0] if args.quick else [0, 1, 2]
    have_torch = _have_torch()
    from asymexp.mnist.prepare import load_sparse

    train_data, _, _ = load_sparse("mnist", None, "float32")
    nnz = train_data.indices.size / train_data.n
    report = {"machine_gemm_gflops": gemm_rate(), "mean_nonzero_pixels": nnz, "threads": 1, "batch": 20,
              "dtype": "float32", "widths": [100, 100, 100], "n_train": train_data.n}
    steps = (train_data.n + 19) // 20
    dense_flops = flops_per_image() * train_data.n
    sparse_flops = flops_per_image(nnz=nnz) * train_data.n
    for name, base in (("paper (sigmoid, gammas 1,1,1, lr-scale 1)", PAPER),
                       ("learns (tanh, gammas 1/2, lr-scale 300)", LEARNS)):
        recs = asymexp_epochs(base, timing_epochs)
        ours = [r["seconds"] for r in recs]
        ours_cpu = [r["cpu_seconds"] for r in recs]
        row = {"asymexp_s_per_epoch_best": min(ours), "asymexp_s_per_epoch_median": float(np.median(ours)),
               "asymexp_cpu_s_per_epoch_best": min(ours_cpu),
               "asymexp_us_per_step_best": min(ours) / steps * 1e6,
               "asymexp_gflops_dense_equivalent": dense_flops / min(ours) / 1e9,
               "asymexp_gflops_executed": sparse_flops / min(ours) / 1e9}
        if have_torch:
            theirs, _, theirs_cpu = torch_run(base, timing_epochs)
            row |= {"torch_s_per_epoch_best": min(theirs), "torch_s_per_epoch_median": float(np.median(theirs)),
                    "torch_cpu_s_per_epoch_best": min(theirs_cpu),
                    "speedup_cpu_best": min(theirs_cpu) / min(ours_cpu),
                    "torch_gflops_dense": dense_flops / min(theirs) / 1e9,
                    "speedup_best": min(theirs) / min(ours),
                    "speedup_median": float(np.median(theirs) / np.median(ours))}
        report[name] = row
        print(f"\n{name}")
        for k, v in row.items():
            print(f"  {k:34s} {v:10.4f}")
    acc = {"asymexp": [], "torch": []}
    for seed in seeds:
        acc["asymexp"].append(asymexp_epochs(LEARNS, 2, seed)[-1]["test_acc"])
        if have_torch:
            acc["torch"].append(torch_run(LEARNS, 2, seed)[1][-1])
    report["test_acc_after_2_epochs"] = {k: {"per_seed": v, "mean": float(np.mean(v)) if v else None,
                                             "sd": float(np.std(v, ddof=1)) if len(v) > 1 else None}
                                         for k, v in acc.items()}
    print("\ntest accuracy after 2 epochs (learns config), seeds", seeds)
    for k, v in report["test_acc_after_2_epochs"].items():
        print(f"  {k:8s} {v['per_seed']}  mean {v['mean']}")
    report |= grid_estimate(quick=args.quick)
    print(f"\nmachine float32 GEMM (1 thread): {report['machine_gemm_gflops']:.1f} GFLOP/s")
    print(f"27-config grid, 50 epochs: {report['grid_27x50_hours_1_worker']:.2f} h on 1 core, "
          f"{report['grid_27x50_hours_2_workers']:.2f} h on 2 (extrapolated from "
          f"{report['grid_measured']})")
    report["grid_throughput"] = grid_throughput(quick=args.quick)
    report["lockstep"] = lockstep_throughput(quick=args.quick, have_torch=have_torch)
    if args.json:
        print(json.dumps(report))
    return 0


def _have_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("PyTorch is not installed: PyTorch rows skipped", file=sys.stderr)
        return False
    return True


def lockstep_throughput(quick=False, have_torch=False) -> dict:
    """Item 6: ``benchmarks/bench_mnist_lockstep.py`` (next to this file)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_mnist_lockstep import lockstep_throughput as measure

    return measure(quick=quick, have_torch=have_torch)


def grid_estimate(quick=False) -> dict:
    """Wall time of one epoch including both evaluation passes, measured on 3 gamma vectors of the grid, then
    extrapolated to 27 configurations x 50 epochs (1 and 2 worker processes)."""
    from asymexp.mnist.train import train

    per_epoch = []
    configs = ["1/2,1/2,1/2", "7/10,7/10,7/10", "1,1,1"]
    epochs = 2 if quick else 3
    for g in configs:
        t0 = time.perf_counter()
        list(train(_config(dict(PAPER, gammas=g), 0, epochs)))
        per_epoch.append((time.perf_counter() - t0) / epochs)
    mean = float(np.mean(per_epoch))
    return {"grid_epoch_wall_s": mean, "grid_measured": f"{len(configs)} configs x {epochs} epochs",
            "grid_27x50_hours_1_worker": mean * 27 * 50 / 3600, "grid_27x50_hours_2_workers": mean * 27 * 50 / 7200}


GRID_GAMMAS = ("1/2", "7/10", "1")
GRID_TASKS = 3 ** 3 * 3          # 27 gamma vectors x 3 seeds
GRID_EPOCHS = 1500
FAST = {"eval_every": 10, "checkpoint_every": 10}


def _task_cost(cfg, folder) -> tuple[float, float, list]:
    """(process CPU seconds, wall seconds, records) of one whole task: ``train`` into ``folder``."""
    from asymexp.mnist.train import train

    c0, t0 = time.process_time(), time.perf_counter()
    records = list(train(cfg, folder))
    return time.process_time() - c0, time.perf_counter() - t0, records


def pass_components(reps=7) -> dict:
    """CPU seconds per epoch (best of ``reps``) of two parts of the training pass, compiled alone with the
    trainer's flags: the pixel-major sort of every batch of 20 (file order; the work several models in lockstep
    could share) and the sigmoid of 8,000 x 300 float32 values drawn from N(0, 3^2) (the hidden units' forward
    activations of one epoch; saturated values take the cheap branches)."""
    from numba import njit

    from asymexp.activations.numba_forms import act
    from asymexp.jit import FASTMATH
    from asymexp.kernel_codes import Act
    from asymexp.mnist.epoch_kernel import _pixel_major
    from asymexp.mnist.prepare import load_sparse
    from asymexp.nn import dense

    @njit
    def sort_epoch(indptr, indices, values, order, batch, d):
        n = order.shape[0]
        start = np.zeros(d + 1, dtype=np.int64)
        eb = np.zeros(batch * d, dtype=np.int64)
        ev = np.zeros(batch * d, dtype=values.dtype)
        for t in range((n + batch - 1) // batch):
            _pixel_major(indptr, indices, values, order, t * batch, min(batch, n - t * batch), d, start, eb, ev)
        return start[d]

    @njit(fastmath=set(FASTMATH["trainer"]))
    def sigmoids(Y):
        dense.activate(Y, 0, Y.shape[1], Y.shape[0], Act.SIGMOID, False)
        return Y[0, 0]

    @njit(fastmath=set(FASTMATH["trainer"]))
    def sigmoids_libm(Y):  # the trainer's float32 sigmoid before sigmoid_row_f32: libm's expf per value
        one = Y.dtype.type(1.0)
        for b in range(Y.shape[0]):
            row = Y[b]
            for k in range(row.shape[0]):
                row[k] = act(row[k], Act.SIGMOID, one, -46.0)
        return Y[0, 0]

    data, _, _ = load_sparse("mnist", None, "float32")
    order = np.arange(data.n)
    z = (np.random.default_rng(0).standard_normal((data.n, 300)) * 3).astype(np.float32)

    def best(fn, make):
        fn(make())
        times = []
        for _ in range(reps):
            arg = make()
            c0 = time.process_time()
            fn(arg)
            times.append(time.process_time() - c0)
        return min(times)

    a, b = z.copy(), z.copy()
    sigmoids(a)
    sigmoids_libm(b)
    return {"pixel_major_sort_cpu_s_per_epoch": best(lambda _: sort_epoch(data.indptr, data.indices, data.values,
                                                                          order, 20, 784), lambda: None),
            "sigmoid_cpu_s_per_epoch": best(sigmoids, z.copy),
            "sigmoid_libm_cpu_s_per_epoch": best(sigmoids_libm, z.copy),
            "sigmoid_bits_equal_libm": bool(np.array_equal(a.view(np.uint32), b.view(np.uint32)))}


def grid_throughput(quick=False) -> dict:
    """Today's trainer (defaults: evaluate and checkpoint every epoch) against the fast path (:data:`FAST`) on the
    same gamma vectors of the paper's grid, interleaved, one task at a time in this process (one thread). Per path:
    CPU and wall seconds per epoch, setup (an ``epochs=0`` task: data, warm-up) taken out; for today's path also
    the training pass alone (the records' ``cpu_seconds``). Extrapolated: the 81 x 1500-epoch grid on 2 workers,
    41 rounds (wall = 41 x 1500 x seconds per epoch, one core per worker). The fast path is measured over
    ``epochs`` epochs with evaluations at 1, 11, 21, ... and the last, a larger share than the grid's 151 in 1500,
    so its figure is conservative."""
    import dataclasses
    import tempfile

    from asymexp.mnist.train import CHECKPOINT, load_checkpoint

    vectors = ["1/2,7/10,1", "1,1/2,7/10", "7/10,1,1/2"][:1 if quick else 3]
    epochs = 10 if quick else 30
    rows, same = [], True
    with tempfile.TemporaryDirectory() as tmp:
        for i, g in enumerate(vectors):
            base = _config(dict(PAPER, gammas=g), seed=i % 3, epochs=epochs)
            _task_cost(dataclasses.replace(base, epochs=1), f"{tmp}/warm{i}")   # load the kernels
            setup_cpu, setup_wall, _ = _task_cost(dataclasses.replace(base, epochs=0), f"{tmp}/setup{i}")
            row = {"gammas": g}
            for name, cfg in (("today", base), ("fast", dataclasses.replace(base, **FAST))):
                cpu, wall, recs = _task_cost(cfg, f"{tmp}/{name}{i}")
                row[f"{name}_cpu_s_per_epoch"] = (cpu - setup_cpu) / epochs
                row[f"{name}_wall_s_per_epoch"] = (wall - setup_wall) / epochs
                if name == "today":
                    row["today_train_pass_cpu_s_per_epoch"] = float(np.mean([r["cpu_seconds"] for r in recs]))
            theta_a, _ = load_checkpoint(f"{tmp}/today{i}/{CHECKPOINT}")
            theta_b, _ = load_checkpoint(f"{tmp}/fast{i}/{CHECKPOINT}")
            same = same and bool(np.array_equal(theta_a, theta_b))
            rows.append(row)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "gammas"}
    rounds = -(-GRID_TASKS // 2)
    hours = {f"grid_{name}_hours_2_workers_{kind}": mean[f"{name}_{kind}_s_per_epoch"] * rounds * GRID_EPOCHS / 3600
             for name in ("today", "fast") for kind in ("cpu", "wall")}
    train_pass = mean["today_train_pass_cpu_s_per_epoch"]
    report = {"measured": f"{len(vectors)} gamma vectors x {epochs} epochs per path", "fast_options": FAST,
              **mean, "today_rest_cpu_s_per_epoch": mean["today_cpu_s_per_epoch"] - train_pass,
              "ratio_cpu": mean["today_cpu_s_per_epoch"] / mean["fast_cpu_s_per_epoch"],
              "ratio_wall": mean["today_wall_s_per_epoch"] / mean["fast_wall_s_per_epoch"],
              "parameters_bit_identical": same, **hours, "per_config": rows}
    print(f"\ngrid throughput ({report['measured']}; fast path: --eval-every {FAST['eval_every']} "
          f"--checkpoint-every {FAST['checkpoint_every']})")
    print(f"  today: {mean['today_cpu_s_per_epoch']:.4f} s CPU per epoch (training pass {train_pass:.4f}, "
          f"evaluation + checkpoint + Python {report['today_rest_cpu_s_per_epoch']:.4f}); "
          f"wall {mean['today_wall_s_per_epoch']:.4f}")
    print(f"  fast:  {mean['fast_cpu_s_per_epoch']:.4f} s CPU per epoch; wall {mean['fast_wall_s_per_epoch']:.4f}")
    print(f"  ratio today / fast: {report['ratio_cpu']:.2f}x (CPU), {report['ratio_wall']:.2f}x (wall); "
          f"parameters bit-identical: {same}")
    report |= pass_components(3 if quick else 7)
    print(f"  parts of the training pass alone: pixel-major sort {report['pixel_major_sort_cpu_s_per_epoch']:.4f} s, "
          f"float32 sigmoids {report['sigmoid_cpu_s_per_epoch']:.4f} s CPU per epoch (with libm's expf per value "
          f"{report['sigmoid_libm_cpu_s_per_epoch']:.4f} s, ratio "
          f"{report['sigmoid_libm_cpu_s_per_epoch'] / report['sigmoid_cpu_s_per_epoch']:.2f}x; same bits: "
          f"{report['sigmoid_bits_equal_libm']})")
    print(f"  grid {GRID_TASKS} tasks x {GRID_EPOCHS} epochs on 2 workers ({rounds} rounds), from CPU time: today "
          f"{hours['grid_today_hours_2_workers_cpu']:.2f} h, fast {hours['grid_fast_hours_2_workers_cpu']:.2f} h; "
          f"from wall time under this load: today {hours['grid_today_hours_2_workers_wall']:.2f} h, fast "
          f"{hours['grid_fast_hours_2_workers_wall']:.2f} h")
    return report


if __name__ == "__main__":
    raise SystemExit(main())
