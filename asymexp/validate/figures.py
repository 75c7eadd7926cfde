"""Figures of a validation (matplotlib, Agg; each saved as PNG and PDF).

Shallow: log-log variance (trace over points) with the predicted line N^{1-2gamma} sum V_t; r(N) against N
with the selected fit b0 + sum_k b_k N^{s_k}; mean residuals |E g - h| and after subtracting eps Q1 + eps^2 Q2.
Deep: the variance with the fitted and the predicted exponent; the per-gamma_l sensitivity heat-map.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path, name: str) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        p = out / f"{name}.{ext}"
        fig.savefig(p, dpi=120, bbox_inches="tight")
        paths.append(str(p))
    _plt().close(fig)
    return paths


def shallow_figures(doc: dict, out) -> list[str]:
    """Write variance.{png,pdf}, ratio.{png,pdf}, mean_residual.{png,pdf}; return the paths."""
    plt = _plt()
    out = Path(out)
    N = np.array(doc["widths"], dtype=float)
    g = float(eval_fraction(doc["gamma"]))
    V = np.array(doc["theory"]["V"])
    var = np.array(doc["var"]).sum(axis=1)
    ratio, ratio_se = np.array(doc["ratio"]), np.array(doc["ratio_se"])
    var_se = ratio_se * var / ratio
    paths = []
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.errorbar(N, var, yerr=1.96 * var_se, fmt="o", label="Monte Carlo (95%)")
    grid = np.geomspace(N.min(), N.max(), 100)
    ax.plot(grid, grid ** (1 - 2 * g) * V.sum(), "k--", label=r"$N^{1-2\gamma}\,\sum V_t$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel(r"$\sum_x \mathrm{Var}\, g^N_t(x)$")
    s = doc.get("var_slope") or {}
    title = f"gamma = {doc['gamma']}, t = {doc['time']}"
    if s.get("fit") is not None:
        title += f"\nfit p = {s['fit']:.4f} [{s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}] ({s['model']}), raw {s['raw']:.4f}"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    paths += _save(fig, out, "variance")
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.errorbar(N, ratio, yerr=1.96 * ratio_se, fmt="o", label="r(N) (95%)")
    r = doc.get("var_ratio") or {}
    if r.get("b0") is not None:
        curve = np.full_like(grid, r["b0"]) + sum(b * grid ** s_ for b, (s_, _) in zip(r["b"], r["corrections"]))
        ax.plot(grid, curve, "C1-", label=f"{r['model']}\nb0 = {r['b0']:.4f} [{r['ci95'][0]:.4f}, {r['ci95'][1]:.4f}]")
    ax.axhline(1.0, color="k", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel(r"$r(N) = \mathrm{Var}\, N^{2\gamma-1} / V_t$")
    ax.legend(fontsize=7)
    ax.set_title(title.split("\n")[0], fontsize=9)
    paths += _save(fig, out, "ratio")
    mr = doc["mean_residual"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.loglog(N, mr["raw"], "o-", label=r"$|E g - h|$ (RMS)")
    ax.loglog(N, mr["corrected"], "s-", label=f"after {mr['model']}")
    if mr.get("inverse_n"):
        ax.loglog(N, mr["inverse_n"]["corrected"], "^-", label=f"after {mr['inverse_n']['model']}")
    ax.loglog(N, mr["se"], "k:", label="Monte Carlo SE")
    ax.set_xlabel("N")
    ax.set_ylabel("mean residual")
    ax.legend(fontsize=8)
    ax.set_title(title.split("\n")[0], fontsize=9)
    paths += _save(fig, out, "mean_residual")
    return paths


def deep_figures(doc: dict, out) -> list[str]:
    """Write deep_variance.{png,pdf} and (with a sensitivity table) sensitivity.{png,pdf}."""
    plt = _plt()
    out = Path(out)
    paths = []
    N = np.array(doc["widths"], dtype=float)
    var, se = np.array(doc["var_total"]), np.array(doc["var_total_se"])
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.errorbar(N, var, yerr=1.96 * se, fmt="o", label="Monte Carlo (95%)")
    s = doc.get("var_slope")
    if s:
        p = float(eval_fraction(s["predicted_exact"]))
        ax.plot(N, var[-1] * (N / N[-1]) ** p, "k--", label=f"predicted slope {s['predicted_exact']}")
        ax.set_title(f"L = {doc['depth']}, gammas {','.join(doc['gammas'])}, {doc['activation']}, t = {doc['time']}\n"
                     f"fit {s['fit']:.4f} [{s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}], raw {s['raw']:.4f}", fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (all layers)")
    ax.set_ylabel(r"$\sum_x \mathrm{Var}\, g^N_t(x)$")
    ax.legend(fontsize=8)
    paths += _save(fig, out, "deep_variance")
    sens = doc.get("sensitivity")
    if sens:
        table = np.log10(np.array(sens["var"]) / sens["base"]["var"])
        fig, ax = plt.subplots(figsize=(5, 1 + 0.6 * len(sens["layers"])))
        im = ax.imshow(table, cmap="coolwarm", aspect="auto", vmin=-np.abs(table).max(), vmax=np.abs(table).max())
        ax.set_xticks(range(len(sens["grid"])), sens["grid"])
        ax.set_yticks(range(len(sens["layers"])), sens["layers"])
        for i in range(table.shape[0]):
            for j in range(table.shape[1]):
                ax.text(j, i, f"{table[i, j]:+.2f}", ha="center", va="center", fontsize=7)
        ax.set_xlabel("value of the varied gamma_l (others at base)")
        ax.set_title(f"log10 Var / Var(base), N = {sens['width']}", fontsize=9)
        fig.colorbar(im, ax=ax)
        paths += _save(fig, out, "sensitivity")
    return paths


def eval_fraction(text: str):
    from fractions import Fraction

    return Fraction(text)
