"""Figure for docs/theory-layer.md: error of h, V and Q2 against the number of w-nodes, for the projected trapezoid
rule and the Gauss-Hermite product rule, on tanh4.toml and on the same problem with inputs scaled to |x| <= 3.

Errors are max |value - reference| over the points at t = 1, the reference being the trapezoid rule at kappa = 48
(checked in benchmarks/bench_theory.py against a 96-node Gauss-Hermite rule). Writes
docs/figures/theory_convergence.png and prints the table it plots. Run: python benchmarks/figure_theory_convergence.py
"""
from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_theory import _fixed  # noqa: E402

KAPPAS = (8, 12, 16, 20, 24, 28, 32, 36, 40)
GH_ORDERS = (8, 16, 24, 32, 48, 64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "figures", "theory_convergence.png")


def _series(problem, rule, levels, ref):
    rows = []
    for level in levels:
        out, nodes = _fixed(problem, 1.0, rule, level)
        rows.append((nodes, *(float(np.max(np.abs(out[k] - ref[k]))) for k in ("h", "V", "Q2"))))
        print(f"  {rule:<14} {level:>4} {rows[-1][0]:>8d} " + " ".join(f"{v:9.1e}" for v in rows[-1][1:]))
    return np.array(rows)


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from asymexp.numeric import load_problem

    base = load_problem("tanh4.toml")
    scale = 3.0 / np.max(np.linalg.norm(base.points, axis=1))
    cases = [("tanh4.toml (|x| <= 1.36)", base, KAPPAS),
             ("tanh4 scaled to |x| <= 3", dataclasses.replace(base, x=base.x * scale, probe=base.probe * scale),
              KAPPAS[:-2])]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, (title, problem, kappas) in zip(axes, cases):
        print(f"{title}: rule, level (kappa or nodes/dim), w-nodes, error of h, V, Q2")
        ref, _ = _fixed(problem, 1.0, "trapezoid", 48.0)
        trap = _series(problem, "trapezoid", kappas, ref)
        gh = _series(problem, "gauss-hermite", GH_ORDERS, ref)
        for data, style, name in ((trap, "-o", "trapezoid"), (gh, "--s", "Gauss-Hermite")):
            ax.loglog(data[:, 0], np.maximum(data[:, 3], 1e-16), style, label=f"{name}: Q2")
            ax.loglog(data[:, 0], np.maximum(data[:, 1], 1e-16), style, alpha=0.45, label=f"{name}: h")
        ax.set_title(title)
        ax.set_xlabel("w-nodes")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("max |error| over the points (t = 1)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    fig.savefig(OUT, dpi=110)
    print(f"wrote {os.path.normpath(OUT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
