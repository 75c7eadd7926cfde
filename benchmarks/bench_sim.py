"""Benchmark: the Numba simulator (asymexp.sim) against a NumPy implementation vectorized over replicas.

Same workload through both, in one run: one hidden layer (tanh), N = 1024, the 4 points in R^3 of tanh4.toml,
full-batch GD to t = 1 (1024 steps), 1024 replicas; and a depth-3 case (N = 128 per layer, GD to t = 1, 256
replicas). Prints both times, the ratio, the simulator's effective GFLOP/s (multiply-adds of the forward and
backward passes; a tanh counts as one flop) next to this machine's measured float64 GEMM rate, and where the
simulator's time goes (what the same number of scalar libm tanh calls alone would cost; the simulator's fused
kernels use a vectorized tanh instead).

    python benchmarks/bench_sim.py [--quick]      # --quick: 1/8 of the replicas (for a smoke run)
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit, prange

from asymexp.nn.layout import build_layout
from asymexp.sim import initial_parameters, simulate
from asymexp.symbolic.rules import rules_for
from asymexp.inputs.problems import load_problem


def numpy_shallow_gd(W, c, X, Y, s, rate, steps):
    """GD on R one-hidden-layer tanh networks at once: W (R, N, d), c (R, N); returns outputs (R, M)."""
    M = X.shape[0]
    for _ in range(steps):
        H = np.tanh(W @ X.T)                                   # (R, N, M)
        out = s * np.einsum("rn,rnm->rm", c, H)
        e = (out - Y) / M
        gc = s * np.einsum("rnm,rm->rn", H, e)
        gW = (s * c[:, :, None] * (1.0 - H * H) * e[:, None, :]) @ X
        c -= rate * gc
        W -= rate * gW
    return s * np.einsum("rn,rnm->rm", c, np.tanh(W @ X.T))


def numpy_deep_gd(blocks, X, Y, scales, rates, steps):
    """GD on R deep tanh networks at once: blocks[m] (R, n_out, n_in), last block C (R, 1, N_L)."""
    M = X.shape[0]
    L = len(blocks) - 1
    for _ in range(steps):
        Hs = [np.broadcast_to(X.T, (blocks[0].shape[0],) + X.T.shape)]
        H = np.tanh(blocks[0] @ X.T)
        Hs.append(H)
        for m in range(1, L):
            H = np.tanh(scales[m] * (blocks[m] @ H))
            Hs.append(H)
        out = scales[L] * (blocks[L] @ H)                      # (R, 1, M)
        delta = (out - Y) / M
        grads = [None] * (L + 1)
        for m in range(L, -1, -1):
            grads[m] = scales[m] * (delta @ np.swapaxes(Hs[m], 1, 2))
            if m > 0:
                delta = scales[m] * (np.swapaxes(blocks[m], 1, 2) @ delta) * (1.0 - Hs[m] ** 2)
        for m in range(L + 1):
            blocks[m] -= rates[m] * grads[m]
    H = np.tanh(blocks[0] @ X.T)
    for m in range(1, L):
        H = np.tanh(scales[m] * (blocks[m] @ H))
    return (scales[L] * (blocks[L] @ H))[:, 0, :]


@njit(parallel=True, cache=True)
def _tanh_only(n_rep, n_per_rep):
    acc = np.zeros(n_rep)
    for r in prange(n_rep):
        a = 0.0
        z = 0.001 * r
        for k in range(n_per_rep):
            a += np.tanh(z + 1e-9 * k)
        acc[r] = a
    return acc


def gemm_rate(n=2048, repeats=3) -> float:
    a, b = np.random.default_rng(0).standard_normal((2, n, n))
    a @ b
    t = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / t / 1e9


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def shallow_case(replicas):
    problem = load_problem("tanh4.toml")
    N = 1024
    spec = problem.spec(["3/4"], [N])
    lay = build_layout(spec)
    thetas, _ = initial_parameters(spec, lay, 0, 0, replicas, False)
    simulate(spec, problem.x, problem.y, problem.x, [1.0], 2, dynamics="gd")       # compile / load cache
    t_numba = _timed(lambda: simulate(spec, problem.x, problem.y, problem.x, [1.0], replicas, dynamics="gd",
                                      antithetic=False, chunk=replicas))
    res = simulate(spec, problem.x, problem.y, problem.x, [1.0], 4, dynamics="gd", antithetic=False)
    d, M = problem.dim, problem.n_train
    W = thetas[:, :N * d].reshape(replicas, N, d).copy()
    c = thetas[:, N * d:].copy()
    rate = rules_for(spec).learning_rates(spec.widths)[0]
    out = {}
    t_numpy = _timed(lambda: out.setdefault("g", numpy_shallow_gd(W, c, problem.x, problem.y, lay.scales[1], rate, N)))
    err = np.abs(out["g"][:4] - res.outputs[:, 0]).max()
    flops_step = N * M * (2 * d + 2) + N * M * (2 + 4 + 2 * d) + 2 * N * (d + 1)
    flops = flops_step * N * replicas
    t_tanh = _timed(lambda: _tanh_only(replicas, N * M * N))
    return t_numba, t_numpy, flops, err, t_tanh


def deep_case(replicas):
    problem = load_problem("tanh4.toml")
    N, L = 128, 3
    spec = problem.spec(["3/4", "3/4", "3/4"], [N] * L)
    lay = build_layout(spec)
    thetas, _ = initial_parameters(spec, lay, 0, 0, replicas, False)
    simulate(spec, problem.x, problem.y, problem.x, [1.0], 2, dynamics="gd")
    t_numba = _timed(lambda: simulate(spec, problem.x, problem.y, problem.x, [1.0], replicas, dynamics="gd",
                                      antithetic=False, chunk=replicas))
    res = simulate(spec, problem.x, problem.y, problem.x, [1.0], 4, dynamics="gd", antithetic=False)
    blocks = [np.stack([lay.block(th, m).copy() for th in thetas]) for m in range(L + 1)]
    out = {}
    t_numpy = _timed(lambda: out.setdefault("g", numpy_deep_gd(blocks, problem.x, problem.y, lay.scales,
                                                               rules_for(spec).learning_rates(spec.widths), N)))
    err = np.abs(out["g"][:4] - res.outputs[:, 0]).max()
    d, M = problem.dim, problem.n_train
    per_pass = 2 * N * d * M + (L - 1) * 2 * N * N * M + 2 * N * M
    flops = 3 * per_pass * N * replicas          # forward + backward (two products per layer)
    return t_numba, t_numpy, flops, err


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/8 of the replicas")
    args = parser.parse_args()
    div = 8 if args.quick else 1
    import numba

    print(f"threads: numba {numba.get_num_threads()}; float64 GEMM (2048^3): {gemm_rate():.1f} GFLOP/s")
    tn, tp, flops, err, t_tanh = shallow_case(1024 // div)
    print(f"[shallow N=1024, 4 points, GD t=1 (1024 steps), {1024 // div} replicas] numba {tn:.2f} s, "
          f"numpy {tp:.2f} s, ratio {tp / tn:.2f}x; effective {flops / tn / 1e9:.2f} GFLOP/s; "
          f"max |numba - numpy| = {err:.2e}; the same number of libm np.tanh calls alone takes {t_tanh:.2f} s = "
          f"{100 * t_tanh / tn:.0f}% of the simulator's time (the simulator uses asymexp.nn.shallow_kernel's vectorized tanh)")
    tn, tp, flops, err = deep_case(256 // div)
    print(f"[deep L=3, N=128, GD t=1 (128 steps), {256 // div} replicas] numba {tn:.2f} s, numpy {tp:.2f} s, "
          f"ratio {tp / tn:.2f}x; effective {flops / tn / 1e9:.2f} GFLOP/s; max |numba - numpy| = {err:.2e}")


if __name__ == "__main__":
    main()
