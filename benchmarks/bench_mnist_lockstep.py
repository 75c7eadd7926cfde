"""The lockstep section of ``benchmarks/bench_mnist.py`` (``--lockstep-only``: this section alone).

In one run, on K configurations of the paper's depth-3 grid (sigmoid, widths 100, batch 20, float32, the
paper-mnist preset and rates, seed 0, the embedded 8,000 training images, no shuffling):

- today's path: the K runs of ``asymexp.mnist.train.train`` one after another (one thread, the fused kernel of
  ``asymexp.mnist.epoch_kernel``), each a whole task (setup, training, evaluation of epochs 1 and the last);
- the lockstep path: ``asymexp.mnist.lockstep.train_lockstep`` on the same K configurations, on 1 and on 2
  Numba threads;
- PyTorch (CPU, one thread, the paper's configuration; skipped when it is not installed).

Printed, as mean +- standard deviation over interleaved repetitions: seconds per training step per configuration
(the training pass alone, best epoch of each run; wall, and process CPU time, steadier on a shared machine) and
the ratios to today's path; per grid (the K x E epochs as whole tasks: setup, training, evaluation of epochs 1
and E), CPU and wall seconds and the ratios (wall: today's on t workers taken as its one-core wall / t). Then the
bit-identity of the lockstep parameters with today's (every repetition and thread count), the machine's
single-thread float32 GEMM rate, the arithmetic count of a step (dense, and with the sparse first
layer) and the fraction of the GEMM rate reached, and the 27 x 3 grid at 4.5M steps per run (the paper's 60,000
images x 1500 epochs / 20) projected on 2 cores against the 4 h target and against the machine's arithmetic limit
(81 x 4.5M steps x the sparse count of a step at the GEMM rate on both cores).
"""
from __future__ import annotations

import tempfile
import time

import numpy as np

GRID_RUNS = 27 * 3
PAPER_STEPS = 60000 * 1500 // 20           # 4.5M steps per run
TARGET_HOURS = 4.0
# nine of the 27 gamma vectors of the depth-3 grid: every gamma_3 with each of three inner pairs
VECTORS = [f"{a},{b},{c}" for a, b in (("1/2", "1/2"), ("7/10", "1"), ("1", "7/10")) for c in ("1/2", "7/10", "1")]


def _configs(epochs):
    from asymexp.mnist.train import TrainConfig

    return [TrainConfig(gammas=g, widths="100,100,100", preset="paper-mnist", batch=20, dtype="float32", loss="ce",
                        seed=0, epochs=epochs, threads=1, eval_every=epochs) for g in VECTORS]


def _today(configs, folder):
    """K single runs one after another: (per-run training-pass wall and CPU seconds per epoch lists, whole wall,
    whole CPU, final thetas)."""
    from asymexp.mnist.train import CHECKPOINT, load_checkpoint, train

    walls, cpus, thetas = [], [], []
    c0, t0 = time.process_time(), time.perf_counter()
    for k, cfg in enumerate(configs):
        records = list(train(cfg, f"{folder}/{k}"))
        walls.append(min(r["seconds"] for r in records))
        cpus.append(min(r["cpu_seconds"] for r in records))
        thetas.append(load_checkpoint(f"{folder}/{k}/{CHECKPOINT}")[0])
    return walls, cpus, time.perf_counter() - t0, time.process_time() - c0, thetas


def _lockstep(configs, threads):
    """(best epoch wall, best epoch CPU, whole wall, whole CPU, runs) of one lockstep call."""
    from asymexp.mnist.lockstep import train_lockstep

    c0, t0 = time.process_time(), time.perf_counter()
    runs = train_lockstep(configs, threads=threads)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    # every configuration's record of an epoch holds the same pass times; epochs 1 and E are recorded
    recs = runs[0]["history"]
    return min(r["lockstep_seconds"] for r in recs), min(r["lockstep_cpu_seconds"] for r in recs), wall, cpu, runs


def parallel_control(reps=3) -> float:
    """Wall speedup of 2 threads over 1 on a trivial parallel loop (8 independent sums of sines), best of
    ``reps``: what this machine grants this process right now (about 2 when 2 cores are free; about 1 when other
    jobs take them, e.g. under the kernel's per-session fair share), the control for the lockstep wall times."""
    import numba
    from numba import njit, prange

    @njit(parallel=True)
    def busy(K, n):
        out = np.zeros(K)
        for k in prange(K):
            acc = 0.0
            for i in range(n):
                acc += np.sin(i * 1e-3 + k)
            out[k] = acc
        return out

    previous = numba.get_num_threads()
    busy(2, 10)
    best = {}
    for t in (1, 2):
        numba.set_num_threads(t)
        best[t] = min(_timed_call(busy, 8, 4_000_000) for _ in range(reps))
    numba.set_num_threads(previous)
    return best[1] / best[2]


def _timed_call(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def lockstep_throughput(quick=False, have_torch=False) -> dict:
    """The section's measurements and printed table (module docstring), over ``repeats`` interleaved repetitions
    (today, lockstep on 1 thread, on 2): means and standard deviations over them. Returns them as a dict."""
    import os

    import numba

    from bench_mnist import PAPER, flops_per_image, gemm_rate, torch_run
    from asymexp.mnist.lockstep import train_lockstep
    from asymexp.mnist.prepare import load_sparse

    epochs, repeats = (2, 2) if quick else (4, 5)
    configs = _configs(epochs)
    K = len(configs)
    data, _, _ = load_sparse("mnist", None, "float32")
    steps = (data.n + 19) // 20
    nnz = data.indices.size / data.n
    threads = (1, 2) if numba.config.NUMBA_NUM_THREADS >= 2 else (1,)
    train_lockstep(_configs(1)[:2], threads=1, evaluate=False)   # load (or compile) the kernels, untimed
    rows, same, load = [], True, [os.getloadavg()[0]]
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            walls, cpus, today_wall, today_cpu, thetas = _today(configs, tmp)
        row = {"today_s_per_step": float(np.mean(walls)) / steps, "today_cpu_s_per_step": float(np.mean(cpus)) / steps,
               "today_grid_wall_s": today_wall, "today_grid_cpu_s": today_cpu}
        for t in threads:
            wall, cpu, whole_wall, whole_cpu, runs = _lockstep(configs, t)
            same = same and all(np.array_equal(r["theta"], th) for r, th in zip(runs, thetas))
            row |= {f"lockstep_{t}t_s_per_step": wall / (K * steps), f"lockstep_{t}t_cpu_s_per_step": cpu / (K * steps),
                    f"lockstep_{t}t_grid_wall_s": whole_wall, f"lockstep_{t}t_grid_cpu_s": whole_cpu,
                    f"ratio_{t}t_wall": row["today_s_per_step"] / (wall / (K * steps)),
                    f"ratio_{t}t_cpu": row["today_cpu_s_per_step"] / (cpu / (K * steps)),
                    f"grid_ratio_{t}t_cpu": today_cpu / whole_cpu,
                    f"grid_ratio_{t}t_wall": today_wall / t / whole_wall}
        rows.append(row)
        load.append(os.getloadavg()[0])
    report = {"configs": K, "epochs": epochs, "repeats": repeats, "steps_per_epoch": steps,
              "load_average_1min": [min(load), max(load)], "gemm_gflops_1_thread": gemm_rate(),
              "flops_per_step_dense": flops_per_image() * 20, "flops_per_step_sparse": flops_per_image(nnz=nnz) * 20}
    for key in rows[0]:
        values = [r[key] for r in rows]
        report[key] = float(np.mean(values))
        report[key + "_sd"] = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    report["parameters_bit_identical"] = same
    if have_torch:
        seconds, _, cpu = torch_run(PAPER, epochs)
        report["torch_s_per_step"], report["torch_cpu_s_per_step"] = min(seconds) / steps, min(cpu) / steps
    if len(threads) > 1:
        report["control_2_thread_speedup"] = parallel_control()
    _project(report, max(threads))
    _print(report, have_torch)
    return report


def _project(report, threads_available):
    """The 27 x 3 grid at 4.5M steps per run on 2 cores, and the machine's arithmetic limit."""
    best = "lockstep_2t" if threads_available >= 2 else "lockstep_1t"
    runs_steps = GRID_RUNS * PAPER_STEPS
    for name, key, cores in (("today_2_workers_cpu", "today_cpu_s_per_step", 2),
                             ("lockstep_2_cores_cpu", f"{best}_cpu_s_per_step", 2),
                             ("lockstep_2_cores_wall", f"{best}_s_per_step", 1 if best == "lockstep_2t" else 2)):
        report[f"grid_hours_{name}"] = runs_steps * report[key] / cores / 3600
        report[f"grid_hours_{name}_sd"] = runs_steps * report[key + "_sd"] / cores / 3600
    report["grid_hours_at_gemm_rate_2_cores"] = runs_steps * report["flops_per_step_sparse"] / (
        2 * report["gemm_gflops_1_thread"] * 1e9) / 3600
    for path in ("today", "lockstep_1t"):
        report[f"{path}_fraction_of_gemm_sparse"] = report["flops_per_step_sparse"] / report[
            f"{path}_cpu_s_per_step"] / (report["gemm_gflops_1_thread"] * 1e9)


def _pm(r, key, scale=1.0, fmt=".1f"):
    return f"{r[key] * scale:{fmt}} +- {r[key + '_sd'] * scale:{fmt}}"


def _print(r, have_torch):
    us = 1e6
    print(f"\nlockstep ({r['configs']} configurations of the depth-3 grid x {r['epochs']} epochs, "
          f"{r['steps_per_epoch']} steps per epoch; mean +- sd over {r['repeats']} repetitions; load average "
          f"{r['load_average_1min'][0]:.1f} to {r['load_average_1min'][1]:.1f})")
    print("  per training step per configuration (best epoch of each run):")
    print(f"    today (K single runs, 1 thread): {_pm(r, 'today_s_per_step', us)} us wall, "
          f"{_pm(r, 'today_cpu_s_per_step', us)} us CPU")
    for t in (1, 2):
        if f"lockstep_{t}t_s_per_step" in r:
            print(f"    lockstep, {t} thread(s):          {_pm(r, f'lockstep_{t}t_s_per_step', us)} us wall, "
                  f"{_pm(r, f'lockstep_{t}t_cpu_s_per_step', us)} us CPU; today / lockstep "
                  f"{_pm(r, f'ratio_{t}t_wall', fmt='.2f')}x (wall), {_pm(r, f'ratio_{t}t_cpu', fmt='.2f')}x (CPU)")
    if "lockstep_2t_s_per_step" in r:
        print(f"    cores busy during the 2-thread pass (CPU / wall): "
              f"{r['lockstep_2t_cpu_s_per_step'] / r['lockstep_2t_s_per_step']:.2f}; control, a trivial parallel "
              f"loop: 2 threads {r['control_2_thread_speedup']:.2f}x faster than 1 (2 when 2 cores are free)")
    if have_torch:
        t = r["torch_s_per_step"]
        print(f"    PyTorch (1 thread, paper config): {t * us:.1f} us wall, "
              f"{r['torch_cpu_s_per_step'] * us:.1f} us CPU; "
              f"PyTorch / today {t / r['today_s_per_step']:.2f}x, PyTorch / lockstep "
              f"{t / r.get('lockstep_2t_s_per_step', r['lockstep_1t_s_per_step']):.2f}x (wall)")
    else:
        print("    PyTorch: not installed, row skipped")
    print(f"  per grid ({r['configs']} x {r['epochs']} epochs, whole tasks): today "
          f"{_pm(r, 'today_grid_cpu_s', fmt='.2f')} "
          f"s CPU, {_pm(r, 'today_grid_wall_s', fmt='.2f')} s wall on 1 core")
    for t in (1, 2):
        if f"lockstep_{t}t_grid_wall_s" in r:
            print(f"    lockstep, {t} thread(s): {_pm(r, f'lockstep_{t}t_grid_cpu_s', fmt='.2f')} s CPU, "
                  f"{_pm(r, f'lockstep_{t}t_grid_wall_s', fmt='.2f')} s wall; today / lockstep "
                  f"{_pm(r, f'grid_ratio_{t}t_cpu', fmt='.2f')}x (CPU), {_pm(r, f'grid_ratio_{t}t_wall', fmt='.2f')}x "
                  f"(wall, today on {t} worker(s): its 1-core wall / {t})")
    print(f"  parameters bit-identical (lockstep vs single runs, every thread count and repetition): "
          f"{r['parameters_bit_identical']}")
    print(f"  a step: {r['flops_per_step_dense'] / 1e6:.2f} MFLOP dense, {r['flops_per_step_sparse'] / 1e6:.2f} MFLOP "
          f"with the sparse first layer; float32 GEMM, 1 thread: {r['gemm_gflops_1_thread']:.1f} GFLOP/s; "
          f"reached (sparse count / CPU time): today {r['today_fraction_of_gemm_sparse']:.1%}, "
          f"lockstep {r['lockstep_1t_fraction_of_gemm_sparse']:.1%} of it")
    print(f"  grid 27 x 3 runs x {PAPER_STEPS / 1e6:.1f}M steps on 2 cores: today "
          f"{_pm(r, 'grid_hours_today_2_workers_cpu')} h (CPU / 2), lockstep "
          f"{_pm(r, 'grid_hours_lockstep_2_cores_cpu')} h "
          f"(CPU / 2), {_pm(r, 'grid_hours_lockstep_2_cores_wall')} h (wall under this load); target "
          f"{TARGET_HOURS:.0f} h, lockstep (CPU) / target {r['grid_hours_lockstep_2_cores_cpu'] / TARGET_HOURS:.2f}x; "
          f"all arithmetic at the GEMM rate on both cores: {r['grid_hours_at_gemm_rate_2_cores']:.2f} h")
