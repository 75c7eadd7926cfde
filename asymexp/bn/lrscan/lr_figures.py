"""The figure of ``asymexp lr-scan`` (matplotlib, PNG and PDF; pyplot and the global backend are left alone).

``lr_scan``: lr_stable and lr_max against depth H on a log axis, one colour per norm, the bisection brackets as
error bars, 2 / lambda_max of the measured dual (dashed) and of the order-parameter theory (dotted)
(docs/batchnorm.md, "Learning-rate thresholds"). With several widths (``--widths``): both thresholds against
width M on log-log axes, one colour per (norm, depth), the SEs over the networks as error bars, 2 / lambda_max
dashed and the fitted width exponents in the legend (docs/batchnorm.md, "Against width").
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


def width_figure(doc: dict):
    """lr_stable, lr_max and 2 / lambda_max against M per (norm, depth), log-log, SEs as error bars."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 5.5))
    ax = fig.add_subplot(1, 1, 1)
    fits = {(f["norm"], f["layers"], f["quantity"]): f for f in doc["fits"]}
    groups = list(dict.fromkeys((r["norm"], r["layers"]) for r in doc["rows"]))
    for i, (norm, h) in enumerate(groups):
        rows = sorted((r for r in doc["rows"] if (r["norm"], r["layers"]) == (norm, h)), key=lambda r: r["width"])
        c, name = f"C{i}", norm if len({g[1] for g in groups}) == 1 else f"{norm}, H = {h}"
        for key, marker in (("lr_stable", "o"), ("lr_max", "^")):
            kept = [r for r in rows if r[key] is not None]
            if not kept:                 # no width with every network bracketed: nothing to draw
                continue
            ax.errorbar([r["width"] for r in kept], [r[key] for r in kept], yerr=[r[f"{key}_se"] for r in kept],
                        fmt=marker + ("-" if key == "lr_stable" else ":"), color=c, capsize=3,
                        mfc=c if key == "lr_stable" else "none", label=f"{name}: {key}{_exponent(fits, norm, h, key)}")
        kept = [r for r in rows if r["predicted_lr_stable"] is not None]
        ax.plot([r["width"] for r in kept], [r["predicted_lr_stable"] for r in kept], "--", color=c, lw=0.8,
                label=f"{name}: 2/lambda_max")
    s = doc["settings"]
    batch = f"rho = M / T = {s['rho']:g}" if s.get("rho") is not None else f"T = {s['samples']}"
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width M")
    ax.set_ylabel("GD step size")
    ax.set_title(f"{s['activation']}, {batch}, K = {s['steps']}, {s['networks']} networks per width, {s['data']}",
                 fontsize=9)
    ax.set_xticks(sorted({r["width"] for r in doc["rows"]}), [str(m) for m in sorted({r["width"] for r in
                                                                                       doc["rows"]})])
    ax.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    return fig


def _exponent(fits: dict, norm: str, h: int, key: str) -> str:
    f = fits.get((norm, h, key))
    if f is None or f["exponent"] is None:
        return ""
    lo, hi = f["ci95"]
    return f", p = {f['exponent']:.2f} [{lo:.2f}, {hi:.2f}]"


def figures(doc: dict) -> dict:
    """{file name: builder(doc) -> Figure}: the one figure ``lr_scan`` (against width with ``--widths``)."""
    return {"lr_scan": width_figure if "fits" in doc else lr_figure}


def save_figures(doc: dict, out) -> list[str]:
    """Write lr_scan.png and lr_scan.pdf into ``out`` (:func:`asymexp.figure_files.save_figure`); their paths."""
    return [path for name, build in figures(doc).items() for path in save_figure(build(doc), out, name)]
