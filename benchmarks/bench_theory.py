"""Benchmark of the theory layer's quadrature: the projected trapezoid rule (refined to a tolerance, with its
error estimate) against the former default, the Gauss-Hermite product rule in the span of the points
(34 nodes per dimension within the old node budget; 48 and 64 as `--nodes`), on one core.

Target (docs/theory-layer.md, "The projected trapezoid rule"): Q2 to 1e-7 absolute on 4-6 points in <= 5 s.
Errors are measured against a reference: the trapezoid rule at design exponent kappa = 50 (error ~1e-15),
itself checked against a 96-node Gauss-Hermite product (its difference is printed). Both rules use the same
compiled tensor accumulation, so the ratio is the rule's. Run: python benchmarks/bench_theory.py
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import dataclasses  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

TARGET_ABS, TARGET_SECONDS = 1e-7, 5.0
KEYS = ("h", "V", "Q2")


def _problems():
    from asymexp.numeric import load_problem

    tanh4 = load_problem("tanh4.toml")
    rng = np.random.default_rng(7)
    x = np.hstack([rng.uniform(-1.0, 1.0, (5, 2)) * 1.25, np.ones((5, 1))])   # |x| up to about 2 (bias 1)
    six = dataclasses.replace(tanh4, x=x, y=rng.uniform(-0.5, 0.5, 5), probe=np.array([[0.3, -0.2, 1.0]]))
    return [("tanh4.toml, t = 1", tanh4, 1.0), ("6 points |x| <= 2, t = 2", six, 2.0),
            ("sigmoid4.toml, t = 1", load_problem("sigmoid4.toml"), 1.0)]


def _fixed(problem, t, rule, level):
    from asymexp.numeric.derivative_tensors import expectation_tensors
    from asymexp.numeric.quadrature import quadrature_samples
    from asymexp.numeric.shallow_theory import _solve
    from asymexp.numeric.trapezoid_rule import trapezoid_samples

    pts = problem.points
    if rule == "trapezoid":
        samples = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, pts, level)
    else:
        samples = quadrature_samples(problem.c_law, problem.w_law, pts, level)
    tens = expectation_tensors(problem.activation, samples, pts, problem.x.shape[0], 2)
    return _solve(problem, tens, np.array([t]), 2)[0], len(samples) // samples.c_nodes


def _err(a, b):
    return {k: float(np.max(np.abs(a[k] - b[k]))) for k in KEYS}


def main() -> int:
    from asymexp.numeric import shallow_theory
    from asymexp.numeric.error_control import Tolerance

    shallow_theory(_problems()[0][1], 0.75, [1.0], order=2, tol=Tolerance(1e-3, 0))     # compile the kernel once
    worst = 0.0
    for name, problem, t in _problems():
        ref, _ = _fixed(problem, t, "trapezoid", 50.0)
        gh96, _ = _fixed(problem, t, "gauss-hermite", 96)
        print(f"\n{name}: reference = trapezoid kappa 50; |reference - Gauss-Hermite 96| "
              + ", ".join(f"{k} {v:.1e}" for k, v in _err(ref, gh96).items()))
        print(f"  {'rule':<34} {'w-nodes':>8} {'seconds':>8} " + " ".join(f"{'err ' + k:>9}" for k in KEYS)
              + f" {'est Q2':>9}")
        gh_time = None
        for n in (34, 48, 64):
            t0 = time.perf_counter()
            out, nodes = _fixed(problem, t, "gauss-hermite", n)
            low, _ = _fixed(problem, t, "gauss-hermite", int(round(0.75 * n)))
            dt = time.perf_counter() - t0
            err = _err(out, ref)
            est = float(np.max(np.abs(out["Q2"] - low["Q2"])))
            if gh_time is None and err["Q2"] <= TARGET_ABS:
                gh_time = dt
            label = f"Gauss-Hermite {n}/dim (+{int(round(0.75 * n))})" + (" [old default]" if n == 34 else "")
            print(f"  {label:<34} {nodes:8d} {dt:8.2f} " + " ".join(f"{err[k]:9.1e}" for k in KEYS) + f" {est:9.1e}")
        t0 = time.perf_counter()
        th = shallow_theory(problem, 0.75, [t], order=2, tol=Tolerance(TARGET_ABS, 0.0))
        dt = time.perf_counter() - t0
        err = _err({"h": th.h, "V": th.V, "Q2": th.Q2}, ref)
        label = f"trapezoid, tol 1e-7 (kappa {th.kappa:.1f})"
        print(f"  {label:<34} {th.w_nodes:8d} {dt:8.2f} " + " ".join(f"{err[k]:9.1e}" for k in KEYS)
              + f" {np.max(th.errors['Q2']):9.1e}")
        bound = all(np.all(np.abs(getattr(th, k) - ref[k]) <= th.errors[k]) for k in KEYS)
        ratio = f"{gh_time / dt:.1f}" if gh_time else "n/a (no Gauss-Hermite rule above reached 1e-7)"
        print(f"  tolerance met: {th.tolerance['met']}; estimate bounds the actual error at every entry: {bound}; "
              f"time ratio Gauss-Hermite / trapezoid to reach Q2 1e-7: {ratio}")
        worst = max(worst, dt)
    print(f"\nslowest trapezoid run to Q2 <= 1e-7 (with its error estimate): {worst:.2f} s "
          f"(target <= {TARGET_SECONDS:g} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
