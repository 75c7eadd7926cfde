"""Benchmark: the default RK4 step of gradient flow (asymexp.validation.flow_step) against the old default
1/N, in one run (docs/validation.md, "Flow step").

tanh4.toml, gamma = 3/4, t = 1, the same replicas (seed 5) simulated with the default step h, with h/2 (the
reference) and with 1/N. Prints per width the wall time of each, the ratio time(1/N) / time(h), and the largest
difference of any output from the h/2 reference next to the stated bound (relative_error_bound times the
largest initial training residual |y - g_0|). A warm-up call loads the kernels first, so no compile is timed.
Each figure is one run on a possibly shared machine (the load average is printed as its noise indicator).

    python benchmarks/bench_flow_step.py [--widths 256,1024,4096] [--replicas 16]
"""
from __future__ import annotations

import argparse
import os
import time
from fractions import Fraction

import numpy as np


def main() -> None:
    from asymexp.inputs.problems import load_problem
    from asymexp.sim import simulate
    from asymexp.validation import flow_step

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--widths", default="256,1024,4096")
    ap.add_argument("--replicas", type=int, default=16)
    args = ap.parse_args()
    problem = load_problem("tanh4.toml")
    rep = flow_step.choose_step(flow_step.problem_rates(problem), 1.0)
    h = rep["flow_dt"]
    print(f"default step h = t/{rep['steps']} = {h:.6g}; relative error {rep['relative_error']:.2e}, bound "
          f"{rep['relative_error_bound']:.2e}; load average {os.getloadavg()[0]:.2f}")

    def run(width, dt):
        spec = problem.spec([Fraction(3, 4)], [width])
        t0 = time.perf_counter()
        res = simulate(spec, problem.x, problem.y, problem.points, [1.0], args.replicas, seed=5, dynamics="flow",
                       alpha=problem.alpha, flow_dt=dt)
        return res.outputs[:, 0, :], res.g0, time.perf_counter() - t0

    run(8, h)                                                       # load the kernels
    for width in (int(w) for w in args.widths.split(",")):
        g, g0, t_h = run(width, h)
        ref, _, _ = run(width, h / 2)
        old, _, t_n = run(width, 1.0 / width)
        bound = rep["relative_error_bound"] * np.linalg.norm(problem.y - g0[:, :problem.n_train], axis=1).max()
        print(f"N = {width:5d}: default {t_h:7.2f} s, 1/N {t_n:7.2f} s, ratio {t_n / t_h:6.1f}x; "
              f"max |g - g(h/2)| default {np.abs(g - ref).max():.1e}, 1/N {np.abs(old - ref).max():.1e}; "
              f"stated bound {bound:.1e}")
    print(f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
