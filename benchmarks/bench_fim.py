"""Benchmark of the FIM dual (docs/batchnorm.md, "The dual"): Theta and its spectrum for a relu network with
H = 2 hidden layers (L = 3), C = 2 outputs, M = T = 512 (P = 526,338 parameters, C T = 1024), against the baseline
of forming the Jacobian J (C T x P) explicitly, in column blocks of 64 units (the whole J would take 4.3 GB), and
J J^T in NumPy; the spectrum (one eigh of the C T x C T dual) is the same on both sides and timed once.

Prints each time, the ratio baseline / project (target >= 5x), the agreement of the two Thetas, and the GFLOP/s
of both against the machine's float64 GEMM rate (a 2048^3 np.matmul in the same run).
Run: python benchmarks/bench_fim.py
"""
from __future__ import annotations

import time

import numpy as np


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _project_flops(layers: int, m: int, t: int, c: int) -> float:
    """GEMM flops of the layer-by-layer dual: forward, back-propagated deltas, (C T)^2 M and T^2 fan-in Grams."""
    fans = [m] + [m] * layers + [c]
    forward = sum(2.0 * t * fans[i] * fans[i + 1] for i in range(layers + 1))
    back = sum(2.0 * c * t * m * fans[i] for i in range(1, layers))
    grams = sum(2.0 * (c * t) ** 2 * m + 2.0 * t * t * fans[i] for i in range(layers)) + 2.0 * t * t * m
    return forward + back + grams


def main() -> int:
    from asymexp.bn.dual import network_theta, spectrum
    from asymexp.bn.jacobian import explicit_jacobian_blocks
    from asymexp.bn.model import FimNetwork

    layers, m, t, c = 2, 512, 512, 2
    net = FimNetwork(layers, m, c, m, "relu", 2.0, 0.0, "none")
    rng = np.random.default_rng(0)
    params, x = net.draw(rng), rng.standard_normal((t, m))

    a = rng.standard_normal((2048, 2048))
    _, t_gemm = _timed(lambda: a @ a)
    gemm_rate = 2 * 2048 ** 3 / t_gemm / 1e9

    network_theta(net, params, x)                                    # warm-up (BLAS threads, page faults)
    (theta, _, _), t_theta = _timed(lambda: network_theta(net, params, x))
    stats, t_spec = _timed(lambda: spectrum(theta, t, c, net.parameters))

    def baseline():
        g = np.zeros((c * t, c * t))
        for block in explicit_jacobian_blocks(net, params, x, unit_block=64):
            g += block @ block.T
        return g

    gram, t_base = _timed(baseline)
    flops_project = _project_flops(layers, m, t, c)
    flops_base = 2.0 * (c * t) ** 2 * net.parameters
    rel = float(np.abs(gram - theta).max() / np.abs(theta).max())
    print(f"relu, L = {layers + 1}, C = {c}, M = T = {m}: P = {net.parameters}, dual {c * t} x {c * t}")
    print(f"machine float64 GEMM (2048^3 matmul): {gemm_rate:8.1f} GFLOP/s")
    print(f"project  Theta layer by layer: {t_theta:8.3f} s  {flops_project / t_theta / 1e9:8.1f} GFLOP/s "
          f"({flops_project / t_theta / 1e9 / gemm_rate:.0%} of GEMM)")
    print(f"         spectrum (eigh of the dual, both sides): {t_spec:8.3f} s; lambda_max = {stats['lambda_max']:.4f}")
    print(f"baseline explicit J, J J^T:    {t_base:8.3f} s  {flops_base / t_base / 1e9:8.1f} GFLOP/s "
          f"({flops_base / t_base / 1e9 / gemm_rate:.0%} of GEMM)")
    ratio_theta = t_base / t_theta
    ratio_total = (t_base + t_spec) / (t_theta + t_spec)
    print(f"max |Theta_baseline - Theta| / max |Theta| = {rel:.2e}")
    print(f"ratio baseline / project: Theta {ratio_theta:.1f}x, Theta + spectrum {ratio_total:.1f}x; "
          f"target >= 5x: {'met' if ratio_total >= 5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
