"""Figures of a Gram-chain experiment (the document of :func:`asymexp.bn.gram.gram_experiment.run_experiment`;
docs/batchnorm.md, "The Gram chain"), each saved as PNG and PDF through ``FigureCanvasAgg`` (pyplot untouched):

- ``gram_depth``: the error ||G_l - G^ref_l|| against the layer l, one line per width (mean over runs, shaded
  +-1 SE), log scale, the burn-in marked;
- ``gram_width``: the post-burn-in error against the width, log-log, with 95% error bars, the fitted power law
  and the predicted slope -1/2 through the largest width (with BN);
- ``gram_log_scale`` (without BN only): the variance of each input's log squared norm against mean field, with
  the predicted beta l / d;
- ``gram_batch`` (the batch-size sweep, :mod:`asymexp.bn.gram.gram_batch_sweep`): the RMS gap and the mean gap
  against n, log-log, with 95% error bars, the fitted power, the closed form and the bound;
- ``gram_mixing`` (:mod:`asymexp.bn.gram.gram_mixing`): ||G_l - G*|| against l (mean over runs, +-1 SE), the
  infinite-width trajectory, the noise floor, the fit window and the slope of the linearization's lambda drawn
  through the trajectory's deepest layer (where the trajectory should run parallel to it).
"""
from __future__ import annotations

import numpy as np

from asymexp.figure_files import save_figure


def _title(doc: dict) -> str:
    return f"{doc['activation']}, norm {doc['chain']}, batch {doc['batch']}, {doc['runs']} runs"


def depth_figure(doc: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    layers = np.asarray(doc["depth_profile"]["layers"])
    for row, err, se in zip(doc["rows"], doc["depth_profile"]["error"], doc["depth_profile"]["error_se"]):
        err, se = np.asarray(err), np.asarray(se)
        line, = ax.plot(layers[1:], err[1:], lw=1, label=f"d = {row['width']}")
        ax.fill_between(layers[1:], np.maximum(err - se, 1e-300)[1:], (err + se)[1:], color=line.get_color(),
                        alpha=0.25, lw=0)
    ax.axvline(doc["burn_in"], color="gray", ls=":", lw=1, label="burn-in")
    ax.set_yscale("log")
    if doc["chain"] == "none":
        ax.set_xscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel("error  n ||G_l - G_ref|| / tr G_ref")
    ax.set_title(_title(doc), fontsize=9)
    ax.legend(fontsize=8)
    return fig


def width_figure(doc: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 4.2))
    ax = fig.add_subplot()
    d = np.array([r["width"] for r in doc["rows"]], dtype=float)
    err = np.array([r["error_mean"] for r in doc["rows"]])
    se = np.array([r["error_se"] for r in doc["rows"]])
    ax.errorbar(d, err, yerr=1.96 * se, fmt="o", capsize=3, label="measured (95% CI)")
    grid = np.geomspace(d.min(), d.max(), 50)
    fit = doc["fit"]
    if fit.get("exponent") is not None:
        p = fit["exponent"]
        anchor = np.exp(np.mean(np.log(err) - p * np.log(d)))
        ax.plot(grid, anchor * grid ** p, "-", label=f"fit d^{p:.3f} [{fit['ci95'][0]:.3f}, {fit['ci95'][1]:.3f}]")
    if fit["predicted"] is not None:
        ax.plot(grid, err[-1] * (grid / d[-1]) ** fit["predicted"], "--", color="gray", label="slope -1/2")
    pred = [r["predicted_gap_rms"] for r in doc["rows"]]
    if all(v is not None for v in pred):
        gap = np.array([r["gap_rms"] for r in doc["rows"]])
        ax.plot(d, gap, "s", mfc="none", label="RMS gap V (measured)")
        ax.plot(d, pred, "x", color="k", label="RMS gap V (closed form)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.xaxis.set_major_locator(FixedLocator(d))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticklabels([str(int(w)) for w in d])
    ax.set_xlabel("width d")
    ax.set_ylabel("post-burn-in error")
    ax.set_title(_title(doc), fontsize=9)
    ax.legend(fontsize=7)
    return fig


def log_scale_figure(doc: dict):
    """Without BN: the variance over runs of log(G_l[i,i] / G_ref[i,i]) against l, with beta l / d."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for check in doc["depth_check"]:
        v = np.asarray(check["variance_profile"])
        layers = np.arange(1, v.size + 1)
        line, = ax.plot(layers, v, lw=1, label=f"d = {check['width']}: beta {check['beta']:.2f}")
        if check["predicted"] is not None:
            ax.plot(layers, check["predicted"] * layers / check["width"], "--", lw=1, color=line.get_color())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("layer l")
    ax.set_ylabel("Var log(|h_l|^2 / mean field)   (dashed: beta l / d)")
    ax.set_title(_title(doc), fontsize=9)
    ax.legend(fontsize=8)
    return fig


def batch_figure(doc: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 4.2))
    ax = fig.add_subplot()
    rows = doc["rows"]
    n = np.array([r["batch"] for r in rows], dtype=float)
    rms, se = np.array([r["gap_rms"] for r in rows]), np.array([r["gap_rms_se"] for r in rows])
    ax.errorbar(n, rms, yerr=1.96 * se, fmt="o", capsize=3, label="RMS gap (95% CI)")
    ax.plot(n, [r["gap_mean"] for r in rows], "s", mfc="none", label="mean gap E V")
    fit = doc["fit"]
    if fit.get("exponent") is not None:
        p = fit["exponent"]
        anchor = np.exp(np.mean(np.log(rms) - p * np.log(n)))
        ax.plot(n, anchor * n ** p, "-", lw=1, label=f"fit n^{p:.3f} [{fit['ci95'][0]:.3f}, {fit['ci95'][1]:.3f}]")
    if all(r["closed_form"] is not None for r in rows):
        ax.plot(n, [r["closed_form"] for r in rows], "x", color="k", label="closed form (linear chain)")
    if all(r["bound"] is not None for r in rows):
        ax.plot(n, [r["bound"] for r in rows], "--", color="gray", label="bound n(n+2)/sqrt(d) (reading)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size n")
    ax.set_ylabel("post-burn-in gap V")
    ax.set_title(f"{doc['activation']}, norm {doc['chain']}, d = {doc['width']}, {doc['runs']} runs", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def mixing_figure(doc: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    m = doc["measured"]
    mean, se = np.asarray(m["mean_distance"]), np.asarray(m["mean_distance_se"])
    layers = np.arange(mean.size)
    ax.plot(layers, mean, "o-", ms=3, lw=1, label=f"d = {doc['width']} (mean over runs)")
    ax.fill_between(layers, np.maximum(mean - se, 1e-300), mean + se, alpha=0.25, lw=0)
    if doc.get("mean_field_distance") is not None:
        ax.plot(layers, doc["mean_field_distance"], "--", color="k", lw=1, label="infinite width")
    ax.axhline(m["floor"], color="gray", ls=":", lw=1, label="noise floor")
    bottom = max(m["floor"] / 20, 1e-6)
    if m["window"] is not None:
        a, b = m["window"]
        ax.axvspan(a, b, color="orange", alpha=0.15, lw=0, label=f"fit window: rate {m['rate']:.3f}")
    predicted, trajectory = doc.get("predicted"), doc.get("mean_field_distance")
    if predicted and trajectory is not None and predicted.get("tail_layer"):
        tail, lam = predicted["tail_layer"], predicted["rate"]
        ends = np.array([1, tail])
        ax.plot(ends, trajectory[tail] * lam ** (ends - tail), color="red", lw=1,
                label=f"slope lambda = {lam:.4f} (linearization), through the trajectory's tail")
        bottom = max(min(bottom, trajectory[tail]), 1e-12)
    ax.set_yscale("log")
    ax.set_ylim(bottom, None)
    ax.set_xlabel("layer l")
    ax.set_ylabel("||G_l - G*||_F")
    ax.set_title(f"{doc['activation']}, norm {doc['chain']}, batch {doc['batch']}, {doc['runs']} runs", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def figures(doc: dict) -> dict:
    """The figures of ``doc``: {file name: builder(doc) -> Figure} (``gram_log_scale`` only without BN;
    ``gram_batch`` for a batch-size sweep, ``gram_mixing`` for a mixing study)."""
    if doc.get("study") == "gram batch sweep":
        return {"gram_batch": batch_figure}
    if doc.get("study") == "gram mixing":
        return {"gram_mixing": mixing_figure}
    out = {"gram_depth": depth_figure, "gram_width": width_figure}
    if doc["chain"] == "none":
        out["gram_log_scale"] = log_scale_figure
    return out


def save_figures(doc: dict, out) -> list[str]:
    """The figures under ``out`` (created; :func:`asymexp.figure_files.save_figure`); the saved paths."""
    return [path for name, build in figures(doc).items() for path in save_figure(build(doc), out, name)]
