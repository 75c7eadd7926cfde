"""The figures of ``asymexp one-step`` (matplotlib, PNG and PDF; pyplot and the global backend are left alone;
docs/batchnorm.md, "One-step divergence and gradients at initialization"):

- ``one_step_loss``: log10 of the relative loss L(theta - lr g) / L(theta) against lr (log axis), mean over the
  seeds with a +- 1 SE band per norm, the explosion level 1e3, and crosses where some seeds went non-finite;
- ``one_step_heatmap``: log10 of the mean |channel mean| and of the mean channel variance of every layer (columns)
  along the diverging step (rows: the fraction of the update applied), one row of panels per norm;
- ``one_step_gradients``: RMS gradient entry of every layer at initialization (+- SE), and the histogram of the
  middle layer's entries in units of their RMS against the standard normal density;
- ``one_step_fraction``: the input-independent fraction of the output's gradient against kappa2 / kappa1, with
  the line y = x (the M, B -> infinity law) and the finite-B theory.
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.figure_files import save_figure

#: Depth of the heat map's colour scale, in decades.
WINDOW = 8.0


def _none_to_nan(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def loss_figure(doc: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    explode = doc["settings"]["explode"]
    for i, curve in enumerate(doc["loss_curves"]):
        c = f"C{i}"
        lrs = np.array(curve["lrs"])
        m = _none_to_nan(curve["log10_relative_loss"])
        se = np.nan_to_num(_none_to_nan(curve["log10_relative_loss_se"]))
        ax.plot(lrs, m, "o-", color=c, ms=3, label=curve["norm"])
        ax.fill_between(lrs, m - se, m + se, color=c, alpha=0.25, lw=0)
        bad = np.array(curve["diverged"]) > 0
        if bad.any():
            ax.plot(lrs[bad], np.full(bad.sum(), 0.97), "x", color=c, transform=ax.get_xaxis_transform(),
                    label=f"{curve['norm']}: some seeds non-finite")
    ax.axhline(math.log10(explode), color="k", ls="--", lw=0.8, label=f"explosion level {explode:g}")
    ax.axhline(0.0, color="grey", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate of the one SGD step")
    ax.set_ylabel("log10 of L(after) / L(before), same mini-batch")
    s = doc["settings"]
    ax.set_title(f"{s['activation']}, H = {s['layers']}, M = {s['width']}, B = {s['batch']}, "
                 f"{s['seeds']} seeds (mean +- SE of log10)", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def heatmap_figure(doc: dict):
    """One row per norm, one column per quantity; one colour scale per quantity shared by the norms, at most
    :data:`WINDOW` decades deep (lower values, such as mean-last's output mean, 0 up to rounding, get the lowest
    colour; non-finite entries are blank)."""
    from matplotlib.figure import Figure

    heat = doc["heatmap"]
    norms = list(heat["mean_abs_channel_mean"])
    fig = Figure(figsize=(9.0, 2.6 * max(1, len(norms)) + 0.6), layout="constrained")
    cols = heat["columns"][:-1] + ["out"]
    step = max(1, len(cols) // 12)
    for j, (key, label) in enumerate((("mean_abs_channel_mean", "log10 mean |channel mean|"),
                                      ("channel_variance", "log10 mean channel variance"))):
        grids = {n: np.array([_none_to_nan(row) for row in heat[key][n]["log10"]]) for n in norms}
        finite = np.concatenate([g[np.isfinite(g)] for g in grids.values()] + [np.zeros(1)])
        vmax = float(finite.max())
        vmin = max(float(finite.min()), vmax - WINDOW)
        axes = []
        for i, norm in enumerate(norms):
            ax = fig.add_subplot(len(norms), 2, 2 * i + j + 1)
            axes.append(ax)
            im = ax.imshow(np.ma.masked_invalid(grids[norm]), origin="lower", aspect="auto", cmap="viridis",
                           vmin=vmin, vmax=vmax, extent=(-0.5, len(cols) - 0.5, -0.05, 1.05))
            ax.set_xticks(range(0, len(cols), step))
            ax.set_xticklabels(cols[::step], fontsize=7)
            ax.set_yticks([0.0, 0.5, 1.0])
            ax.set_title(f"{norm}: {label}", fontsize=8)
            ax.set_xlabel("layer", fontsize=8)
            ax.set_ylabel("fraction of the update", fontsize=8)
        fig.colorbar(im, ax=axes, shrink=0.8)
    fig.suptitle(f"activation moments along one step at lr = {heat['lr']:.3g} (mean over seeds)", fontsize=9)
    return fig


def gradient_figure(doc: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 4.2))
    ax, hx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    norms = list(dict.fromkeys(r["norm"] for r in doc["gradients"]))
    edges = np.array(doc["histograms"]["edges_in_rms"])
    width = np.diff(edges)
    mid = 0.5 * (edges[:-1] + edges[1:])
    layers = doc["settings"]["layers"] + 1
    pick = (layers + 1) // 2
    lows = []
    for i, norm in enumerate(norms):
        rows = [r for r in doc["gradients"] if r["norm"] == norm and r["rms"] is not None]
        ax.errorbar([r["layer"] for r in rows], [r["rms"] for r in rows],
                    yerr=[r["rms_se"] or 0.0 for r in rows], fmt="o-", color=f"C{i}", capsize=2, ms=3, label=norm)
        counts = np.array(doc["histograms"]["counts"][norm][pick - 1], dtype=np.float64)
        dens = counts[1:-1] / (counts.sum() * width)
        lows += [float(dens[dens > 0].min())] if np.any(dens > 0) else []
        hx.step(mid, np.where(dens > 0, dens, np.nan), where="mid", color=f"C{i}", label=norm)
    z = np.linspace(edges[0], edges[-1], 400)
    hx.plot(z, np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi), "k:", lw=0.8, label="standard normal")
    if lows:
        hx.set_ylim(bottom=0.5 * min(lows))
    ax.set_yscale("log")
    ax.set_xlabel("layer l (L = output)")
    ax.set_ylabel("RMS entry of dL/dW^l at initialization")
    ax.legend(fontsize=7)
    hx.set_yscale("log")
    hx.set_xlabel(f"entry of dL/dW^{pick} / its RMS")
    hx.set_ylabel("density (pooled over seeds)")
    hx.legend(fontsize=7)
    return fig


def fraction_figure(doc: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 5.0))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], "k-", lw=0.8, label="y = kappa2/kappa1 (M, B -> infinity)")
    acts = list(dict.fromkeys(r["activation"] for r in doc["fraction"]))
    marks = {"none": "o", "mean-last": "s", "bn": "^"}
    colours = {"mean-last": "k", "bn": "C3"}           # both sit near 0 at the same x: hollow, own colours
    seen = set()
    for r in doc["fraction"]:
        if r["kappa_ratio"] is None or r["fraction"] is None:          # theory or measurement overflowed
            continue
        c = colours.get(r["norm"], f"C{acts.index(r['activation'])}")
        key = (r["activation"], r["norm"])
        label = f"{r['activation']}, {r['norm']}" if key not in seen else None
        seen.add(key)
        ax.errorbar(r["kappa_ratio"], r["fraction"], yerr=r["fraction_se"] or 0.0, fmt=marks[r["norm"]],
                    color=c, ms=4 if r["norm"] == "none" else 7, mfc=None if r["norm"] == "none" else "none",
                    capsize=2, label=label)
        if r["norm"] == "none" and r["theory"] is not None:
            ax.plot(r["kappa_ratio"], r["theory"], "_", color=c, ms=10, mew=1.5)
    ax.plot([], [], "k_", ms=10, mew=1.5, label=f"theory at B = {doc['settings']['batch']}")
    ax.set_xlabel("kappa2 / kappa1 (of the network without normalization)")
    ax.set_ylabel("||mean_t grad f(t)||^2 / mean_t ||grad f(t)||^2")
    ax.set_title(f"M = {doc['settings']['width']}, B = {doc['settings']['batch']}, "
                 f"{doc['settings']['seeds']} seeds (+- SE)", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def figures(doc: dict) -> dict:
    """{file name: builder(doc) -> Figure}: the four figures."""
    return {"one_step_loss": loss_figure, "one_step_heatmap": heatmap_figure,
            "one_step_gradients": gradient_figure, "one_step_fraction": fraction_figure}


def save_figures(doc: dict, out) -> list[str]:
    """Write the four figures (PNG and PDF) into ``out`` (:func:`asymexp.figure_files.save_figure`); their paths."""
    with np.errstate(over="ignore"):        # a grid reaching 1e300 makes the log axis' margins overflow: harmless
        return [path for name, build in figures(doc).items() for path in save_figure(build(doc), out, name)]
