"""Benchmark: the hand-written Numba MNIST trainer against the same model in PyTorch (CPU), in one run.

Measures, single-threaded, float32, three hidden layers of width 100, batch 20, 8,000 training images:

1. seconds per epoch (training pass only; best and median of several epochs) for asymexp and PyTorch, on the
   paper's configuration (sigmoid, gammas 1,1,1, paper-mnist preset, the theory's rates) and on a configuration
   that learns within 2 epochs (tanh, gammas 1/2, lr-scale 300), and their ratio;
2. test accuracy after 2 epochs over 3 seeds for both (PyTorch starts from asymexp's initial weights and sees
   the batches in the same order, so the two runs differ only by floating-point rounding);
3. GFLOP/s (dense-equivalent model FLOPs, and the FLOPs actually executed with the sparse first layer)
   against this machine's measured single-thread float32 GEMM rate;
4. the wall time of the 27-configuration grid for 50 epochs, extrapolated from a few measured configurations.

PyTorch is optional: without it the PyTorch rows are skipped. Usage:
``python benchmarks/bench_mnist.py [--quick] [--json]``. Timings on a shared machine vary; the best epoch is
the figure least disturbed by other processes, the median is reported next to it, and CPU-time (process)
figures are reported as well: on a loaded machine they are the steadier comparison.
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
    args = parser.parse_args(argv)
    timing_epochs = 3 if args.quick else 8
    seeds = [0] if args.quick else [0, 1, 2]
    try:
        import torch  # noqa: F401

        have_torch = True
    except ImportError:
        have_torch = False
        print("PyTorch is not installed: PyTorch rows skipped", file=sys.stderr)
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
    if args.json:
        print(json.dumps(report))
    return 0


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


if __name__ == "__main__":
    raise SystemExit(main())
