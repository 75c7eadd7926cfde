"""Benchmark: the Gram chain (asymexp.bn.gram.simulate, vectorized over runs, sampled rows) against plain per-run loops.

Workload (the target: <= 10 s): norm bn, tanh, depth 600, width d = 512, batch n = 4, 20 runs. Baselines, in the
same run:
  1. the definition, one run at a time: draw W (d, d), multiply, normalize (NumPy with BLAS matmul);
  2. the same sampled algorithm as the project (rows of W X drawn as N(0, X^T X / d)), one run at a time.
Wall-clock times are printed (and the project's process CPU time, which a loaded machine does not inflate).
Baseline 1 is timed on ``--baseline-runs`` runs (default 2) and scaled linearly to 20 (each run is the same
work); the printed ratios are baseline time / project time for 20 runs.

    python benchmarks/bench_gram.py [--quick]      # --quick: depth 60
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from asymexp.bn.gram.gram_chain import gram, input_batch, psd_sqrt, row_normalize, simulate

D, N, RUNS = 512, 4, 20


def loop_definition(depth: int, runs: int, seed: int) -> np.ndarray:
    """Per-run loop with explicit d x d weights: (runs, n, n) Grams of the last layer."""
    out = np.empty((runs, N, N))
    for r in range(runs):
        rng = np.random.default_rng([seed, r])
        H = input_batch(D, N, seed)
        for _ in range(depth):
            W = rng.standard_normal((D, D)) / np.sqrt(D)
            H = row_normalize(W @ np.tanh(H), False)
        out[r] = H.T @ H / D
    return out


def loop_sampled(depth: int, runs: int, seed: int) -> np.ndarray:
    """Per-run loop of the sampled algorithm: (runs, n, n) Grams of the last layer."""
    out = np.empty((runs, N, N))
    for r in range(runs):
        rng = np.random.default_rng([seed, r])
        H = input_batch(D, N, seed)
        for _ in range(depth):
            X = np.tanh(H)
            H = row_normalize(rng.standard_normal((D, N)) @ psd_sqrt(gram(X)), False)
        out[r] = H.T @ H / D
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--baseline-runs", type=int, default=2)
    args = parser.parse_args()
    depth = 60 if args.quick else 600
    simulate("bn", "tanh", N, D, 2, 2)                       # warm-up (imports, first calls)
    t0, c0 = time.perf_counter(), time.process_time()
    G = simulate("bn", "tanh", N, D, depth, RUNS, seed=1)
    project, project_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    loop_sampled(depth, RUNS, 1)
    sampled = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop_definition(depth, args.baseline_runs, 1)
    definition = (time.perf_counter() - t0) * RUNS / args.baseline_runs
    finite = bool(np.all(np.isfinite(G)))
    print(f"Gram chain bn/tanh, depth {depth}, d = {D}, n = {N}, {RUNS} runs (finite: {finite})")
    print(f"  project (vectorized over runs, sampled rows): {project:8.2f} s   target <= 10 s "
          f"({'met' if project <= 10 or args.quick else 'MISSED'}; process CPU time {project_cpu:.2f} s)")
    print(f"  baseline per-run loop, sampled rows:          {sampled:8.2f} s   ratio {sampled / project:6.1f}x")
    print(f"  baseline per-run loop, explicit W (scaled from {args.baseline_runs} runs): {definition:8.2f} s   "
          f"ratio {definition / project:6.1f}x")


if __name__ == "__main__":
    main()
