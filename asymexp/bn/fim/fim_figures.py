"""Figures of ``asymexp fim`` (matplotlib, PNG and PDF; pyplot and the global backend are left alone).

- ``fim_lambda_max``: lambda_max against M on log-log axes, one series per norm with its SE bars, the predicted
  lambda_max (no normalization) and the lower bounds (normalized) as lines: Karakida's figure (docs/batchnorm.md);
- ``fim_spectrum``: histogram of the eigenvalues of F (the C T non-trivial ones) of one network at the largest
  width, per norm, the predicted bulk value and lambda_max marked.
"""
from __future__ import annotations

import numpy as np

from asymexp.figure_files import save_figure


def lambda_max_figure(doc: dict):
    """lambda_max (mean +- SE over networks) against M for every norm of ``doc["rows"]``, with theory lines."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    norms = list(dict.fromkeys(r["norm"] for r in doc["rows"]))
    for i, norm in enumerate(norms):
        rows = [r for r in doc["rows"] if r["norm"] == norm]
        m = np.array([r["width"] for r in rows])
        color = f"C{i}"
        ax.errorbar(m, [r["lambda_max"] for r in rows], yerr=[1.96 * (r["lambda_max_se"] or 0) for r in rows],
                    fmt="o", color=color, capsize=3, label=f"{norm}: measured")
        pred = [r["predicted_lambda_max"] for r in rows]
        if all(p is not None for p in pred):
            ax.plot(m, pred, "-", color=color, label=f"{norm}: theory")
        low = [r["lower_bound"] for r in rows]
        if all(p is not None for p in low):
            ax.plot(m, low, "--", color=color, label=f"{norm}: lower bound")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width M")
    ax.set_ylabel("lambda_max of F")
    ax.set_title(f"{doc['settings']['activation']}, H = {doc['settings']['layers']}, C = {doc['settings']['outputs']}")
    ax.legend(fontsize=7)
    return fig


def spectrum_figure(doc: dict):
    """Histogram (log-spaced bins) of one network's eigenvalues at the largest width, per norm."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    spectra = doc.get("spectra", {})
    kept = {}
    for norm, spec in spectra.items():
        lam = np.asarray(spec["eigenvalues"])
        kept[norm] = lam[lam > 1e-9 * lam.max()]          # the projectors' null directions are numerically zero
    nonempty = [v for v in kept.values() if v.size]
    if not nonempty:
        return fig
    lo, hi = min(v.min() for v in nonempty), max(v.max() for v in nonempty)
    bins = np.logspace(np.log10(lo), np.log10(hi) + 1e-9, 60)
    for i, (norm, spec) in enumerate(spectra.items()):
        lam = kept[norm]
        zeros = len(spec["eigenvalues"]) - lam.size
        ax.hist(lam, bins=bins, histtype="step", color=f"C{i}",
                label=f"{norm} (M = {spec['width']}" + (f"; {zeros} zero eigenvalues left out)" if zeros else ")"))
        if spec.get("predicted_bulk") is not None and norm == "none":
            ax.axvline(spec["predicted_bulk"], color=f"C{i}", ls=":", label="predicted bulk")
        if spec.get("predicted_lambda_max") is not None:
            ax.axvline(spec["predicted_lambda_max"], color=f"C{i}", ls="--", label="predicted lambda_max")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue of F")
    ax.set_ylabel("count")
    ax.legend(fontsize=7)
    return fig


def figures(doc: dict) -> dict:
    """The figures of ``doc`` (with ``spectra``): {file name: builder(doc) -> Figure}."""
    return {"fim_lambda_max": lambda_max_figure, "fim_spectrum": spectrum_figure}


def save_figures(doc: dict, out) -> list[str]:
    """Save both figures under ``out`` (:func:`asymexp.figure_files.save_figure`); returns the paths."""
    return [path for name, build in figures(doc).items() for path in save_figure(build(doc), out, name)]
