"""Several MNIST gamma grids side by side at one epoch (docs/mnist.md, "Normalization and step size").

The same 27 (or 9) gamma vectors run several ways (plain or mean-last, the paper's rates or each configuration's
own lr-scale) are compared at a common epoch E, which every run must have evaluated (with ``--eval-every 10``
the epochs 1, 11, 21, ...; E = 301 is one of them), or each grid at its own epoch (e.g. a 1500-epoch grid at
its end against 301-epoch grids). Per grid and gamma vector: the test accuracy at E (mean and
sd over seeds) with the evaluated training loss beside it, how many seeds have **left chance** by E (test
accuracy above :data:`CHANCE_EXIT`, the threshold used throughout docs/mnist.md) and the mean first epoch they
did, and the grid's verdicts at E (:func:`asymexp.mnist.grid_report.analyse`). Whether the ranking of the gamma vectors survives from one grid to
another is Kendall's tau between their mean accuracies at E (ties allowed; the p-value of the null "no
association", scipy's exact or asymptotic test).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from asymexp.mnist.lr_choice import CHANCE_EXIT, gamma_key, run_lr_scale


def at_epoch(runs: list[dict], epoch: int, name: str = "") -> list[dict]:
    """The runs as of epoch ``epoch``: each history cut after it. A run that has not evaluated that epoch is an
    error (:class:`asymexp.executor.SweepError` naming the run and its evaluated epochs nearby); a run that
    diverged after ``epoch`` counts as finished at ``epoch``, one that diverged before stays diverged."""
    from asymexp.executor import SweepError

    out = []
    for r in runs:
        hist = [h for h in r["history"] if int(h["epoch"]) <= epoch]
        if hist and int(hist[-1]["epoch"]) == epoch:
            out.append(dict(r, history=hist, status="finished"))
        elif r["status"] != "finished" and (not r["history"] or int(r["history"][-1]["epoch"]) < epoch):
            out.append(dict(r, history=hist))
        else:
            near = [int(h["epoch"]) for h in r["history"] if abs(int(h["epoch"]) - epoch) <= 20]
            raise SweepError(f"{name or 'sweep'}: run {','.join(r['gammas'])} seed {r['seed']} did not evaluate "
                             f"epoch {epoch} (evaluated near it: {near or 'none'}); choose an evaluated epoch")
    return out


def left_chance(history: list[dict]) -> int | None:
    """First evaluated epoch whose test accuracy exceeds :data:`CHANCE_EXIT`, or None."""
    return next((int(h["epoch"]) for h in history if h["test_acc"] > CHANCE_EXIT), None)


def compare(grids: dict[str, list[dict]], epoch: int | dict[str, int]) -> dict:
    """Side-by-side table, per-grid verdicts and rank agreement of ``grids`` ({name: runs of
    :func:`asymexp.mnist.grid_report.load_runs`}) at ``epoch`` (one for all, or {name: epoch}). JSON-ready."""
    from asymexp.mnist.grid_report import analyse

    epochs = epoch if isinstance(epoch, dict) else {name: epoch for name in grids}
    cut = {name: at_epoch(runs, epochs[name], name) for name, runs in grids.items()}
    cells = defaultdict(dict)
    for name, runs in cut.items():
        by_g = defaultdict(list)
        for r in runs:
            by_g[gamma_key(r["gammas"])].append(r)
        for k, rs in by_g.items():
            done = [r for r in rs if r["status"] == "finished" and r["history"]]
            acc = np.array([r["history"][-1]["test_acc"] for r in done])
            loss = np.array([r["history"][-1]["train_loss"] for r in done])
            exits = [left_chance(r["history"]) for r in done]
            left = [e for e in exits if e is not None]
            cells[k][name] = {"gammas": list(rs[0]["gammas"]), "lr_scale": run_lr_scale(rs[0]),
                              "seeds": len(done), "diverged": len(rs) - len(done),
                              "test_acc": float(acc.mean()) if len(acc) else None,
                              "test_acc_sd": float(acc.std(ddof=1)) if len(acc) > 1 else None,
                              "train_loss": float(loss.mean()) if len(loss) else None,
                              "train_loss_sd": float(loss.std(ddof=1)) if len(loss) > 1 else None,
                              "left_chance": len(left), "left_chance_epoch": float(np.mean(left)) if left else None}
    keys = sorted(cells)
    names = list(grids)
    table = [{"gammas": next(iter(cells[k].values()))["gammas"], **{n: cells[k].get(n) for n in names}}
             for k in keys]
    verdicts = {n: analyse(cut[n])["statement"] for n in names}
    base = names[0]

    def accs(name):
        return {k: cells[k][name]["test_acc"] for k in keys
                if (cells[k].get(name) or {}).get("test_acc") is not None}

    ranks = [{"against": n, **rank_agreement(accs(base), accs(n))} for n in names[1:]]
    return {"kind": "grid comparison", "epochs": epochs, "grids": names, "table": table, "verdicts": verdicts,
            "rank_agreement_with": base, "rank_agreement": ranks}


def rank_agreement(a: dict, b: dict) -> dict:
    """Kendall's tau-b (SciPy's, with its p-value) between two ``{configuration: accuracy}`` maps over the
    configurations both have: ``{"tau", "p_value", "configurations"}``, tau and p None with fewer than 3."""
    from scipy.stats import kendalltau

    both = [k for k in a if k in b]
    if len(both) < 3:
        return {"tau": None, "p_value": None, "configurations": len(both)}
    res = kendalltau([a[k] for k in both], [b[k] for k in both])
    return {"tau": float(res.statistic), "p_value": float(res.pvalue), "configurations": len(both)}


def figure(summary: dict):
    """Test accuracy (top) and the evaluated training loss (bottom) at the common epoch per gamma vector (x) for
    each grid (markers, seed sd as error bars)."""
    from matplotlib.figure import Figure

    names, table = summary["grids"], summary["table"]
    at = sorted(set(summary["epochs"].values()))
    fig = Figure(figsize=(max(6.0, 0.36 * len(table) + 4), 6.5))
    axes = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(table))
    width = 0.8 / max(len(names), 1)
    for ax, metric in zip(axes, ("test_acc", "train_loss")):
        for i, n in enumerate(names):
            y = [np.nan if (r[n] or {}).get(metric) is None else r[n][metric] for r in table]
            e = [0 if (r[n] or {}).get(f"{metric}_sd") is None else r[n][f"{metric}_sd"] for r in table]
            label = n if len(at) == 1 else f"{n} (epoch {summary['epochs'][n]})"
            ax.errorbar(x - 0.4 + width * (i + 0.5), y, yerr=e, fmt="o", ms=3.5, capsize=1.5, lw=0.8,
                        label=label if metric == "test_acc" else None)
        ax.grid(alpha=0.3, axis="y")
    axes[0].axhline(CHANCE_EXIT, color="0.6", lw=0.8, ls=":")
    axes[0].set_ylabel(f"test accuracy at epoch {', '.join(map(str, at))}")
    axes[0].set_ylim(0, 1)
    axes[1].axhline(float(np.log(10)), color="0.6", lw=0.8, ls=":")
    axes[1].set_ylabel("training loss (evaluated)")
    axes[1].set_xticks(x, ["(" + ",".join(r["gammas"]) + ")" for r in table], rotation=90, fontsize=7)
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    return fig
