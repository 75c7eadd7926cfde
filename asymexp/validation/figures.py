"""Figures of a validation (matplotlib; each saved as PNG and PDF).

Shallow: log-log variance (trace over points) with the predicted line N^{1-2gamma} sum V_t; r(N) against N
with the selected fit b0 + sum_k b_k N^{s_k}; mean residuals |E g - h| and after subtracting eps Q1 + eps^2 Q2;
the residuals of the parameter-free prediction in SE units.
Deep: the variance with the fitted and the predicted exponent; the per-gamma_l sensitivity heat-map.

:func:`shallow_figure` and :func:`deep_figure` return a ``matplotlib.figure.Figure`` (one panel, or all of
them side by side); :func:`shallow_figures` and :func:`deep_figures` save each panel. Figures are built with
``matplotlib.figure.Figure`` and saved through ``FigureCanvasAgg``: pyplot and the global backend are left alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from asymexp.figure_files import save_figure as _save

SHALLOW_PANELS = ("variance", "ratio", "mean_residual", "prediction")
DEEP_PANELS = ("variance", "sensitivity")


def _new_figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)




def _check_panel(panel, allowed):
    if panel is not None and panel not in allowed:
        from asymexp.errors import AsymexpError

        raise AsymexpError(f"panel {panel!r} is unknown; allowed: {', '.join(allowed)} (or None for all)")


def _title(doc: dict) -> str:
    return f"gamma = {doc['gamma']}, t = {doc['time']}"


def _shallow_variance(ax, doc: dict) -> None:
    N = np.array(doc["widths"], dtype=float)
    g = float(eval_fraction(doc["gamma"]))
    V = np.array(doc["theory"]["V"])
    var = np.array(doc["var"]).sum(axis=1)
    ratio, ratio_se = np.array(doc["ratio"]), np.array(doc["ratio_se"])
    var_se = ratio_se * var / ratio
    ax.errorbar(N, var, yerr=1.96 * var_se, fmt="o", label="Monte Carlo (95%)")
    grid = np.geomspace(N.min(), N.max(), 100)
    ax.plot(grid, grid ** (1 - 2 * g) * V.sum(), "k--", label=r"$N^{1-2\gamma}\,\sum V_t$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel(r"$\sum_x \mathrm{Var}\, g^N_t(x)$")
    s = doc.get("var_slope") or {}
    title = _title(doc)
    if s.get("fit") is not None:
        title += f"\nfit p = {s['fit']:.4f} [{s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}] ({s['model']}), raw {s['raw']:.4f}"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)


def _shallow_ratio(ax, doc: dict) -> None:
    N = np.array(doc["widths"], dtype=float)
    grid = np.geomspace(N.min(), N.max(), 100)
    ratio, ratio_se = np.array(doc["ratio"]), np.array(doc["ratio_se"])
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
    ax.set_title(_title(doc), fontsize=9)


def _shallow_mean_residual(ax, doc: dict) -> None:
    N = np.array(doc["widths"], dtype=float)
    mr = doc["mean_residual"]
    ax.loglog(N, mr["raw"], "o-", label=r"$|E g - h|$ (RMS)")
    ax.loglog(N, mr["corrected"], "s-", label=f"after {mr['model']}")
    if mr.get("inverse_n"):
        ax.loglog(N, mr["inverse_n"]["corrected"], "^-", label=f"after {mr['inverse_n']['model']}")
    ax.loglog(N, mr["se"], "k:", label="Monte Carlo SE")
    ax.set_xlabel("N")
    ax.set_ylabel("mean residual")
    ax.legend(fontsize=8)
    ax.set_title(_title(doc), fontsize=9)


def _shallow_prediction(ax, doc: dict) -> None:
    """Residual of the parameter-free prediction in Monte Carlo SEs, every point (docs/validation.md,
    "Predictions"): filled where judged (the first omitted term is below the SE), open where not."""
    pr = doc.get("prediction") or {}
    ax.set_title(_title(doc) + "\nparameter-free prediction: (measured - predicted) / SE", fontsize=9)
    if not pr.get("applicable") and pr.get("against_gd"):
        _sgd_measurement(ax, doc, pr)
        return
    if not pr.get("applicable"):
        ax.text(0.5, 0.5, "no prediction:\n" + pr.get("reason", "not computed"), ha="center", va="center",
                wrap=True, fontsize=8, transform=ax.transAxes)
        return
    N = np.array(doc["widths"], dtype=float)
    for key, held, marker, name, shift in (("z_mean", "holds_mean", "o", "mean", 0.97),
                                           ("z_var", "holds_var", "s", "var", 1.03)):
        z, ok = np.array(pr[key]), np.array(pr[held])
        xs = np.repeat((N * shift)[:, None], z.shape[1], axis=1)
        ax.scatter(xs[ok], z[ok], marker=marker, color="C0" if name == "mean" else "C1", s=18,
                   label=f"{name}: judged ({pr['verdict'][name]})")
        ax.scatter(xs[~ok], z[~ok], marker=marker, facecolors="none", edgecolors="C0" if name == "mean" else "C1",
                   s=18, label=f"{name}: omitted term above SE")
    _residual_axes(ax)


def _residual_axes(ax) -> None:
    """The residual panels' axes: +-3 SE guides, log N, labels and the legend."""
    for level in (-3, 3):
        ax.axhline(level, color="k", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("residual / Monte Carlo SE")
    ax.legend(fontsize=7)


def _sgd_measurement(ax, doc: dict, pr: dict) -> None:
    """An SGD run against full-batch GD's prediction, and its variance with the noise term W_t/N added
    (docs/theory/7-random-terms.md, "Online SGD"): residuals in SEs, every point; a measurement, no verdict."""
    ax.set_title(_title(doc) + "\nonline SGD against full-batch GD's prediction (no verdict): residual / SE",
                 fontsize=9)
    N = np.array(doc["widths"], dtype=float)
    for z, marker, color, name, shift in ((pr["against_gd"]["z_mean"], "o", "C0", "mean vs GD", 0.96),
                                          (pr["against_gd"]["z_var"], "s", "C3", "var vs GD", 1.0),
                                          (pr["with_noise"]["z_var"], "s", "C1", "var vs GD + W_t/N", 1.04)):
        z = np.array(z, dtype=float)
        ax.scatter(np.repeat((N * shift)[:, None], z.shape[1], axis=1), z, marker=marker, color=color, s=18,
                   label=name)
    _residual_axes(ax)


_SHALLOW_DRAW = {"variance": _shallow_variance, "ratio": _shallow_ratio, "mean_residual": _shallow_mean_residual,
                 "prediction": _shallow_prediction}


def shallow_figure(doc: dict, panel: str | None = None):
    """A ``Figure`` of a shallow validation document: one ``panel`` (variance, ratio, mean_residual, prediction)
    or, with None, all of them side by side."""
    _check_panel(panel, SHALLOW_PANELS)
    names = SHALLOW_PANELS if panel is None else (panel,)
    fig = _new_figure((5 * len(names), 4))
    for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names):
        _SHALLOW_DRAW[name](ax, doc)
    if panel is None:
        fig.tight_layout()
    return fig


def shallow_figures(doc: dict, out) -> list[str]:
    """Write variance, ratio, mean_residual and prediction (.png and .pdf each); return the paths."""
    out = Path(out)
    paths = []
    for name in SHALLOW_PANELS:
        paths += _save(shallow_figure(doc, name), out, name)
    return paths


def _deep_variance(fig, ax, doc: dict) -> None:
    N = np.array(doc["widths"], dtype=float)
    var, se = np.array(doc["var_total"]), np.array(doc["var_total_se"])
    ax.errorbar(N, var, yerr=1.96 * se, fmt="o", label="Monte Carlo (95%)")
    s = doc.get("var_slope")
    if s:
        p = float(eval_fraction(s["predicted_exact"]))
        ax.plot(N, var[-1] * (N / N[-1]) ** p, "k--", label=f"predicted slope {s['predicted_exact']}")
    if s and s.get("fit") is not None:
        ax.set_title(f"L = {doc['depth']}, gammas {','.join(doc['gammas'])}, {doc['activation']}, t = {doc['time']}\n"
                     f"fit {s['fit']:.4f} [{s['ci95'][0]:.4f}, {s['ci95'][1]:.4f}], raw {s['raw']:.4f}", fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (all layers)")
    ax.set_ylabel(r"$\sum_x \mathrm{Var}\, g^N_t(x)$")
    ax.legend(fontsize=8)


def _deep_sensitivity(fig, ax, doc: dict) -> None:
    sens = doc["sensitivity"]
    table = np.log10(np.array(sens["var"]) / sens["base"]["var"])
    im = ax.imshow(table, cmap="coolwarm", aspect="auto", vmin=-np.abs(table).max(), vmax=np.abs(table).max())
    ax.set_xticks(range(len(sens["grid"])), sens["grid"])
    ax.set_yticks(range(len(sens["layers"])), sens["layers"])
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            ax.text(j, i, f"{table[i, j]:+.2f}", ha="center", va="center", fontsize=7)
    ax.set_xlabel("value of the varied gamma_l (others at base)")
    ax.set_title(f"log10 Var / Var(base), N = {sens['width']}", fontsize=9)
    fig.colorbar(im, ax=ax)


def deep_figure(doc: dict, panel: str | None = None):
    """A ``Figure`` of a deep validation document: one ``panel`` (variance, sensitivity) or, with None, the
    variance and (when the document has a sensitivity table) the heat-map side by side."""
    _check_panel(panel, DEEP_PANELS)
    if panel == "sensitivity" and not doc.get("sensitivity"):
        from asymexp.errors import AsymexpError

        raise AsymexpError("this deep validation has no sensitivity table (it ran with sensitivity_width=None)")
    names = (panel,) if panel else ("variance", "sensitivity") if doc.get("sensitivity") else ("variance",)
    rows = len(doc["sensitivity"]["layers"]) if "sensitivity" in names else 0
    size = {"variance": (5, 4), "sensitivity": (5, 1 + 0.6 * rows)}
    fig = _new_figure((sum(size[n][0] for n in names), max(size[n][1] for n in names)))
    for ax, name in zip(fig.subplots(1, len(names), squeeze=False)[0], names):
        (_deep_variance if name == "variance" else _deep_sensitivity)(fig, ax, doc)
    if panel is None and len(names) > 1:
        fig.tight_layout()
    return fig


def deep_figures(doc: dict, out) -> list[str]:
    """Write deep_variance.{png,pdf} and (with a sensitivity table) sensitivity.{png,pdf}."""
    out = Path(out)
    paths = _save(deep_figure(doc, "variance"), out, "deep_variance")
    if doc.get("sensitivity"):
        paths += _save(deep_figure(doc, "sensitivity"), out, "sensitivity")
    return paths


def eval_fraction(text: str):
    from fractions import Fraction

    return Fraction(text)
