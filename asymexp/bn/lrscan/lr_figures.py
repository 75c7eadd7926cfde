"""The figure of ``asymexp lr-scan`` (matplotlib, PNG and PDF; pyplot and the global backend are left alone).

``lr_scan``: lr_stable and lr_max against depth H on a log axis, one colour per norm, the bisection brackets as
error bars, 2 / lambda_max of the measured dual (dashed) and of the order-parameter theory (dotted)
(docs/batchnorm.md, "Learning-rate thresholds").
"""
from __future__ import annotations

from asymexp.figure_files import save_figure


def _bar(rows, key):
    """(depths, values, [below, above]) of the bracketed rows of one threshold."""
    kept = [r for r in rows if r[key] is not None]
    xs = [r["layers"] for r in kept]
    vs = [r[key] for r in kept]
    err = [[v - r[f"{key}_bracket"][0] for v, r in zip(vs, kept)],
           [r[f"{key}_bracket"][1] - v for v, r in zip(vs, kept)]]
    return xs, vs, err


def lr_figure(doc: dict):
    """lr_stable and lr_max against H per norm, with 2 / lambda_max (measured and theory)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 5.5))
    ax = fig.add_subplot(1, 1, 1)
    norms = list(dict.fromkeys(r["norm"] for r in doc["rows"]))
    for i, norm in enumerate(norms):
        rows = sorted((r for r in doc["rows"] if r["norm"] == norm), key=lambda r: r["layers"])
        c = f"C{i}"
        for key, marker, label in (("lr_stable", "o", "lr_stable"), ("lr_max", "^", "lr_max")):
            xs, vs, err = _bar(rows, key)
            ax.errorbar(xs, vs, yerr=err, fmt=marker, color=c, capsize=3, label=f"{norm}: {label}")
        ax.plot([r["layers"] for r in rows], [r["predicted_lr_stable"] for r in rows], "--", color=c,
                label=f"{norm}: 2/lambda_max (measured FIM)")
        th = [(r["layers"], r["theory_lr_stable"]) for r in rows if r["theory_lr_stable"] is not None]
        if th:
            ax.plot(*zip(*th), ":", color=c, label=f"{norm}: 2/lambda_max (theory)"
                    + (", upper bound" if norm == "mean-last" else ""))
    s = doc["settings"]
    ax.set_yscale("log")
    ax.set_xlabel("hidden layers H")
    ax.set_ylabel("GD step size")
    ax.set_title(f"{s['activation']}, M = {s['width']}, T = {s['samples']}, K = {s['steps']}, {s['data']}",
                 fontsize=9)
    ax.set_xticks(sorted({r["layers"] for r in doc["rows"]}))
    ax.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    return fig


def figures(doc: dict) -> dict:
    """{file name: builder(doc) -> Figure}: the one figure ``lr_scan``."""
    return {"lr_scan": lr_figure}


def save_figures(doc: dict, out) -> list[str]:
    """Write lr_scan.png and lr_scan.pdf into ``out`` (:func:`asymexp.figure_files.save_figure`); their paths."""
    return [path for name, build in figures(doc).items() for path in save_figure(build(doc), out, name)]
