"""Analysis and figure of an MNIST gamma-grid sweep (the paper's figure: test accuracy against epoch).

:func:`analyse` groups the finished runs by their gamma vector, averages over seeds, and states two findings
with numbers: whether the final test accuracy rises with gamma_L at fixed inner gammas, and whether it rises
when all gammas rise together. A rise counts as "clear" when it exceeds twice the standard error over seeds;
with one seed no error is available and the verdict says so. :func:`trend_tests` tests for a rise and for a
fall with gamma_L at each inner tuple (exact Jonckheere-Terpstra over the seeds, Holm-adjusted over the family).
:func:`figure` draws one column per gamma_L (test accuracy and training loss), one curve per inner-gamma tuple,
seeds as error bars, and returns the ``Figure``; :func:`draw_figure` saves it.
"""
from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import numpy as np

from asymexp.mnist.grid_runs import load_runs, runs_of  # noqa: F401 - the grid's runs, re-exported

#: Family-wise level of the trend tests over a grid's inner tuples (both directions, Holm-adjusted).
TREND_ALPHA = 0.05


def _key(g: str) -> Fraction:
    return Fraction(g)


def _per_seed(runs, metric: str) -> tuple[dict, dict]:
    """``({gammas: [{epoch: value of metric} per finished seed]}, {gammas: runs that diverged or have no
    history})``."""
    groups, diverged = defaultdict(list), defaultdict(int)
    for r in runs:
        if r["status"] != "finished" or not r["history"]:
            diverged[r["gammas"]] += 1
            continue
        groups[r["gammas"]].append({int(h.get("epoch", i + 1)): h[metric] for i, h in enumerate(r["history"])})
    return groups, diverged


def _curves(runs, metric: str = "test_acc"):
    """{gammas: (epochs (E,), mean (E,), sd (E,), n_seeds, n_diverged)} of ``metric`` (``test_acc`` or
    ``train_loss``, the evaluated training loss) over the runs that finished, at the epochs that every seed of the
    configuration recorded (all epochs, or those of ``--eval-every``)."""
    groups, diverged = _per_seed(runs, metric)
    out = {}
    for g, accs in groups.items():
        epochs = sorted(set.intersection(*(set(a) for a in accs)))
        E = len(epochs)
        arr = np.array([[a[e] for e in epochs] for a in accs]).reshape(len(accs), E)
        sd = arr.std(axis=0, ddof=1) if arr.shape[0] > 1 else np.full(E, np.nan)
        out[g] = (np.array(epochs, dtype=int), arr.mean(axis=0), sd, arr.shape[0], diverged[g])
    for g in diverged:
        out.setdefault(g, (np.arange(0), np.zeros(0), np.zeros(0), 0, diverged[g]))
    return out


def _by_inner(vectors) -> list[tuple[tuple, list[tuple]]]:
    """The gamma ``vectors`` grouped by their inner tuple (all but gamma_L): ``[(inner, [vectors by gamma_L])]``,
    inner tuples in grid order."""
    groups = defaultdict(list)
    for g in vectors:
        groups[g[:-1]].append(g)
    return [(inner, sorted(gs, key=lambda t: _key(t[-1])))
            for inner, gs in sorted(groups.items(), key=lambda kv: tuple(_key(x) for x in kv[0]))]


def _finals(runs) -> dict:
    """{gammas: final test accuracies (seeds,)} at the last epoch that every finished seed of the configuration
    evaluated (the epoch of :func:`_curves`' last point)."""
    out = {}
    for g, accs in _per_seed(runs, "test_acc")[0].items():
        last = max(set.intersection(*(set(a) for a in accs)))
        out[g] = np.array([a[last] for a in accs])
    return out


def trend_tests(runs, alpha: float = TREND_ALPHA) -> dict:
    """Jonckheere-Terpstra tests (:func:`asymexp.stats.trend.jonckheere`) of the seeds' final test accuracies
    against gamma_L at each fixed inner tuple, for a rise and for a fall, Holm-adjusted over all of these tests
    together (:func:`asymexp.stats.trend.holm`). JSON-ready: one row per inner tuple and the counts significant at
    family-wise level ``alpha``."""
    from asymexp.stats.trend import holm, jonckheere

    finals = _finals(runs)
    rows = []
    for inner, gs in _by_inner(finals):
        if len(gs) >= 2:
            rows.append({"inner": list(inner), "last_gammas": [g[-1] for g in gs],
                         "seeds": [int(finals[g].size) for g in gs], **jonckheere([finals[g] for g in gs])})
    adjusted = holm([r["p_rise"] for r in rows] + [r["p_fall"] for r in rows]) if rows else []
    for r, a, b in zip(rows, adjusted[:len(rows)], adjusted[len(rows):]):
        r["p_rise_holm"], r["p_fall_holm"] = a, b
    return {"alpha": alpha, "tests": 2 * len(rows), "rows": rows,
            "rises": sum(r["p_rise_holm"] <= alpha for r in rows),
            "falls": sum(r["p_fall_holm"] <= alpha for r in rows)}


def _trend(values: list[tuple[float, float, int]]) -> dict:
    """Shape of a sequence of (mean, sd, n): ``rises`` (non-decreasing, last above first), ``flat`` (all means
    equal), and ``clear`` (it rises, and the end-to-end rise exceeds twice its standard error over seeds)."""
    means = [v[0] for v in values]
    monotone = all(b >= a for a, b in zip(means, means[1:]))
    se = [v[1] / np.sqrt(v[2]) if v[2] > 1 and np.isfinite(v[1]) else np.nan for v in values]
    diff = means[-1] - means[0]
    diff_se = float(np.hypot(se[0], se[-1]))
    return {"rises": bool(monotone and diff > 0), "flat": bool(max(means) == min(means)),
            "first_to_last": float(diff), "first_to_last_se": diff_se if np.isfinite(diff_se) else None,
            "clear": bool(monotone and diff > 0 and np.isfinite(diff_se) and diff > 2 * diff_se)}


def analyse(runs: list[dict], by: str = "train_acc") -> dict:
    """Table and verdicts of a gamma grid (see the module docstring), or, for an lr-scale scan (several lr-scales
    per gamma vector), the scan's choices by the criterion ``by`` (:func:`asymexp.mnist.lr_choice.scan_summary`).
    JSON-ready."""
    from asymexp.mnist.lr_choice import is_scan, run_lr_scale, scan_summary

    if is_scan(runs):
        return scan_summary(runs, by)
    curves, losses = _curves(runs), _curves(runs, "train_loss")
    lrs = defaultdict(set)
    for r in runs:
        lrs[r["gammas"]].add(run_lr_scale(r))
    depth = len(next(iter(curves)))
    table = []
    for g in sorted(curves, key=lambda t: tuple(_key(x) for x in t)):
        ep, mean, sd, n, nd = curves[g]
        _, loss, loss_sd, _, _ = losses[g]
        table.append({"gammas": list(g), "lr_scale": min(lrs[g]), "seeds": n, "diverged": nd,
                      "epochs": int(ep[-1]) if len(ep) else 0,
                      "final_test_acc": float(mean[-1]) if len(mean) else None,
                      "final_test_acc_sd": float(sd[-1]) if len(sd) and np.isfinite(sd[-1]) else None,
                      "final_train_loss": float(loss[-1]) if len(loss) else None,
                      "final_train_loss_sd": float(loss_sd[-1]) if len(loss_sd) and np.isfinite(loss_sd[-1])
                      else None,
                      "best_test_acc": float(mean.max()) if len(mean) else None})
    ok = {tuple(r["gammas"]): r for r in table if r["final_test_acc"] is not None}

    def point(g):
        r = ok[g]
        return (r["final_test_acc"], r["final_test_acc_sd"] if r["final_test_acc_sd"] is not None else np.nan,
                r["seeds"])

    last = []
    for inner, gs in _by_inner(ok):
        if len(gs) < 2:
            continue
        last.append({"inner": list(inner), "acc_by_last_gamma": {g[-1]: ok[g]["final_test_acc"] for g in gs},
                     **_trend([point(g) for g in gs])})
    equal = sorted((g for g in ok if len(set(_key(x) for x in g)) == 1), key=lambda t: _key(t[0]))
    together = ({"acc_by_gamma": {g[0]: ok[g]["final_test_acc"] for g in equal}, **_trend([point(g) for g in equal])}
                if len(equal) >= 2 else None)
    n_rise = sum(t["rises"] for t in last)
    n_flat = sum(t["flat"] for t in last)
    n_clear = sum(t["clear"] for t in last)
    lines = [f"accuracy rises with gamma_{depth} at fixed inner gammas in {n_rise} of {len(last)} inner tuples "
             f"(non-decreasing seed means, last above first), clearly (> 2 SE over seeds) in {n_clear}; "
             f"flat in {n_flat}"]
    if together is not None:
        shape = "is flat" if together["flat"] else "rises" if together["rises"] else "does not rise monotonically"
        lines.append("with all gammas together (" + ", ".join(f"{k}: {v:.4f}" for k, v in
                                                              together["acc_by_gamma"].items())
                     + f") accuracy {shape}" + (", clearly" if together["clear"] else ""))
    trends = trend_tests(runs)
    if trends["rows"]:
        lines.append(f"Jonckheere trend test in gamma_{depth} (seeds' final accuracies, {trends['tests']} one-sided "
                     f"tests Holm-adjusted at family-wise {trends['alpha']:g}): significant rise in "
                     f"{trends['rises']} of {len(trends['rows'])} inner tuples, significant fall in {trends['falls']}")
    if all(r["seeds"] <= 1 for r in table):
        lines.append("one seed per configuration: no error bars, 'clearly' cannot hold")
    return {"depth": depth, "configurations": len(table), "table": table, "rises_with_last_gamma": last,
            "rises_with_all_gammas": together, "trend_tests": trends, "statement": "; ".join(lines)}


def figure(runs: list[dict]):
    """The paper-style figure as a ``matplotlib.figure.Figure``: one column per gamma_L, test accuracy (top row)
    and the evaluated training loss (bottom row) against epoch, one curve per inner tuple (mean over seeds, error
    bars = standard deviation over seeds). Built without pyplot, so the global backend is left alone."""
    from matplotlib.figure import Figure

    curves = {"test_acc": _curves(runs), "train_loss": _curves(runs, "train_loss")}
    lasts = sorted({g[-1] for g in curves["test_acc"]}, key=_key)
    fig = Figure(figsize=(4.2 * len(lasts), 6.6))
    axes = fig.subplots(2, len(lasts), sharey="row", sharex="col", squeeze=False)
    depth = len(next(iter(curves["test_acc"])))
    for row, metric in enumerate(curves):
        for ax, gl in zip(axes[row], lasts):
            for g in sorted((g for g in curves[metric] if g[-1] == gl), key=lambda t: tuple(_key(x) for x in t)):
                ep, mean, sd, n, nd = curves[metric][g]
                if not len(ep):
                    continue
                label = ("(" + ", ".join(g[:-1]) + ")" if depth > 1 else "") + (f" [{nd} diverged]" if nd else "")
                err = sd if n > 1 else None
                ax.errorbar(ep, mean, yerr=err, label=label or None, capsize=2, lw=1.2,
                            errorevery=max(1, len(ep) // 10))
            if row == 0:
                ax.set_title(f"gamma_{depth} = {gl}")
            else:
                ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy")
    axes[1][0].set_ylabel("training loss (evaluated)")
    if depth > 1:
        axes[0][-1].legend(title="(" + ", ".join(f"g{l}" for l in range(1, depth)) + ")", fontsize=7)
    fig.tight_layout()
    return fig


def scan_figure(runs: list[dict], by: str = "train_acc"):
    """An lr-scale scan as a heat map: one row per gamma vector, one column per lr-scale, colour = the criterion
    ``by`` (final training accuracy, or training loss from 0 to ln 10; mean over seeds; grey with "div" where every
    run diverged, "-" where that lr-scale was not scanned), the choice framed (dashed where it is undetermined: no
    lr-scale left the plateau)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from asymexp.mnist.lr_choice import PLATEAU_LOSS, scan_table

    table = scan_table(runs, by)
    lrs = sorted({c["lr_scale"] for row in table for c in row["candidates"]})
    val = np.full((len(table), len(lrs)), np.nan)
    scanned = np.zeros(val.shape, dtype=bool)
    for i, row in enumerate(table):
        for c in row["candidates"]:
            val[i, lrs.index(c["lr_scale"])] = np.nan if c[by] is None else c[by]
            scanned[i, lrs.index(c["lr_scale"])] = True
    loss = by == "train_loss"
    top = PLATEAU_LOSS if loss else 1.0
    fig = Figure(figsize=(1.2 * len(lrs) + 2.6, 0.26 * len(table) + 1.4))
    ax = fig.subplots()
    from matplotlib import colormaps

    cmap = colormaps["viridis_r" if loss else "viridis"].with_extremes(bad="0.8")
    im = ax.imshow(np.ma.masked_invalid(val), aspect="auto", cmap=cmap, vmin=0, vmax=top)
    for i, row in enumerate(table):
        for j, lr in enumerate(lrs):
            text = "-" if not scanned[i, j] else "div" if np.isnan(val[i, j]) else f"{val[i, j]:.2f}"
            dark = val[i, j] > 0.4 * top if loss else val[i, j] < 0.6
            ax.text(j, i, text, ha="center", va="center", fontsize=6, color="w" if dark else "k")
        if row["lr_scale"] is not None:
            ax.add_patch(Rectangle((lrs.index(row["lr_scale"]) - 0.5, i - 0.5), 1, 1, fill=False, ec="r", lw=1.5,
                                   ls="-" if row["determined"] else "--"))
    ax.set_xticks(range(len(lrs)), [f"{v:g}" for v in lrs])
    ax.set_yticks(range(len(table)), ["(" + ", ".join(r["gammas"]) + ")" for r in table], fontsize=7)
    ax.set_xlabel("lr-scale")
    ax.set_title(f"final training {'loss' if loss else 'accuracy'} (choice framed; dashed: undetermined, on the "
                 "plateau everywhere)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.05)
    fig.tight_layout()
    return fig


def draw_figure(runs: list[dict], path, by: str = "train_acc") -> Path:
    """:func:`figure` (or :func:`scan_figure` by the criterion ``by`` for an lr-scale scan), written to ``path``
    (PNG/PDF/SVG, by its suffix); returns the path."""
    from asymexp.mnist.lr_choice import is_scan

    return save_figure(scan_figure(runs, by) if is_scan(runs) else figure(runs), path)


def save_figure(fig, path) -> Path:
    """Write a pyplot-free ``Figure`` to ``path`` (PNG/PDF/SVG, by its suffix; folders created); returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
