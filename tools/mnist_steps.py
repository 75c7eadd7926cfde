"""Summaries of the step-matched MNIST runs of docs/runs/mnist_steps/run.sh (docs/mnist.md, "The depth-3 grid at the
paper's step count").

    python tools/mnist_steps.py runs OUT --to docs/runs/mnist_steps
    python tools/mnist_steps.py centring OUT/snapshots/301 --to docs/runs/mnist_steps

``runs`` reads every OUT/runs/<key>/checkpoint.npz (its metadata: config, last epoch, evaluated history) and writes
``runs.json`` (one row per run: the epoch and SGD steps reached, train loss and test accuracy there and at epochs
301 and 1500, the first evaluated epoch with test accuracy above 0.2) and ``runs.md`` (per configuration: seeds,
mean and SD over seeds at the last epoch that every seed reached) and ``runs.png`` (test accuracy and training loss
against SGD steps). ``centring`` evaluates every checkpoint of a snapshot folder with and without per-class centring
of the outputs (:mod:`asymexp.mnist.centring`) and writes ``centring_<epoch>.json`` and ``centring_<epoch>.md``.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import numpy as np

CHANCE_EXIT = 0.2   # docs/mnist.md: a seed "leaves chance" when its test accuracy passes 0.2
STEPS_PER_EPOCH = 400  # 8,000 embedded training digits, batch 20


def _order(g: str):
    return tuple(Fraction(x) for x in g.split(","))


def _meta(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["meta"]))


def run_rows(out: Path) -> list[dict]:
    """One row per run folder under ``out/runs`` (see the module docstring)."""
    rows = []
    for ckpt in sorted((out / "runs").glob("*/checkpoint.npz")):
        meta = _meta(ckpt)
        hist = meta["history"]
        at = {h["epoch"]: h for h in hist}
        last = hist[-1]
        exit_epoch = next((h["epoch"] for h in hist if h["test_acc"] > CHANCE_EXIT), None)
        row = {"run": ckpt.parent.name, "gammas": meta["config"]["gammas"], "seed": meta["config"]["seed"],
               "epoch": meta["epoch"], "steps": meta["epoch"] * STEPS_PER_EPOCH,
               "last_evaluated": last["epoch"], "train_loss": last["train_loss"], "train_acc": last["train_acc"],
               "test_acc": last["test_acc"], "first_epoch_above_0.2": exit_epoch}
        for e in (301, 1500, 11250):
            if e in at:
                row[f"at_{e}"] = {k: at[e][k] for k in ("train_loss", "train_acc", "test_acc")}
        row["curve"] = [[h["epoch"], h["train_loss"], h["test_acc"]] for h in hist]
        rows.append(row)
    return rows


def _mean_sd(values) -> str:
    v = np.asarray(values, dtype=float)
    if v.size < 2:
        return f"{v.mean():.4f} (1 seed)"
    return f"{v.mean():.4f} +- {v.std(ddof=1):.4f}"


def _by_config(rows: list[dict]) -> dict[str, list[dict]]:
    """The rows grouped by gamma vector, in grid order."""
    groups = defaultdict(list)
    for r in rows:
        groups[r["gammas"]].append(r)
    return {g: groups[g] for g in sorted(groups, key=_order)}


def config_table(rows: list[dict]) -> str:
    """Markdown: per configuration, at the last evaluated epoch that all its seeds reached."""
    groups = _by_config(rows)
    lines = ["| gammas | seeds | epoch | SGD steps | test acc, mean +- SD | train loss, mean +- SD | "
             "seeds above 0.2 (first epoch) |", "|---|---|---|---|---|---|---|"]
    for g, rs in groups.items():
        common = set.intersection(*({c[0] for c in r["curve"]} for r in rs))
        e = max(common)
        pts = [{c[0]: c for c in r["curve"]}[e] for r in rs]
        exits = [r["first_epoch_above_0.2"] for r in rs]
        firsts = ", ".join(str(x) for x in exits if x is not None and x <= e)
        n_exit = sum(1 for x in exits if x is not None and x <= e)
        lines.append(f"| ({g}) | {len(rs)} | {e} | {e * STEPS_PER_EPOCH:,} | {_mean_sd([p[2] for p in pts])} | "
                     f"{_mean_sd([p[1] for p in pts])} | {n_exit} of {len(rs)}" + (f" ({firsts})" if firsts else "")
                     + " |")
    return "\n".join(lines) + "\n"


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {g: rs for g, rs in _by_config(rows).items() if max(r["epoch"] for r in rs) > 301}  # step-matched
    fig, axes = plt.subplots(2, 1, figsize=(10, 8), sharex=True)
    cmap = plt.get_cmap("tab10")
    for ax in axes:
        for steps, text in ((600_000, "600k: the grids above"), (4_500_000, "4.5M: the paper")):
            ax.axvline(steps, color="0.5", lw=0.8, ls="--")
            ax.text(steps, 1.0, text, transform=ax.get_xaxis_transform(), fontsize=7, ha="right", va="bottom")
    for i, (g, rs) in enumerate(groups.items()):
        for j, r in enumerate(rs):
            c = np.array(r["curve"], dtype=float)
            kw = {"color": cmap(i % 10), "ls": ("-", "--", ":")[i // 10 % 3], "lw": 1,
                  "label": f"({g})" if j == 0 else None}
            axes[0].plot(c[:, 0] * STEPS_PER_EPOCH, c[:, 2], **kw)
            axes[1].plot(c[:, 0] * STEPS_PER_EPOCH, c[:, 1], **kw)
    axes[0].axhline(0.1265, color="k", ls=":", lw=0.8)
    axes[0].set_ylabel("test accuracy (2,000 digits)")
    axes[1].axhline(np.log(10), color="k", ls=":", lw=0.8)
    axes[1].set_ylabel("training loss (8,000 digits)")
    axes[1].set_xlabel("SGD steps (batch 20); paper: 4.5M")
    axes[1].set_xscale("log")
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0), title="gammas, seeds 0-2")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _as_runs(points: list[tuple[str, int, float, float]]) -> list[dict]:
    """(gammas, seed, test_acc, train_loss) points as the runs of :func:`asymexp.mnist.grid_report.analyse`."""
    return [{"gammas": tuple(g.split(",")), "seed": s, "lr_scale": 1.0, "loss": "ce", "status": "finished",
             "history": [{"epoch": 1, "test_acc": a, "train_loss": l}]} for g, s, a, l in points]


def verdicts_at(rows: list[dict], epoch: int) -> dict | None:
    """:func:`asymexp.mnist.grid_report.analyse` of the runs that evaluated ``epoch`` (None when none did)."""
    from asymexp.mnist.grid_report import analyse

    pts = []
    for r in rows:
        at = {c[0]: c for c in r["curve"]}
        if epoch in at:
            pts.append((r["gammas"], r["seed"], at[epoch][2], at[epoch][1]))
    if not pts:
        return None
    return {"epoch": epoch, "runs": len(pts), **analyse(_as_runs(pts))}


#: Paired contrasts (a, b): a minus b, seed by seed (a seed fixes the initial weights and the batch order of every
#: configuration). The diagonal for "best at gamma = 1"; at gamma_1 = 1 the outer and the middle gamma raised
#: alone from 1/2 to 1 for "above all through the outer layer".
CONTRASTS = [("1,1,1", "1/2,1/2,1/2"), ("1,1,1", "7/10,7/10,7/10"), ("7/10,7/10,7/10", "1/2,1/2,1/2"),
             ("1,1/2,1", "1,1/2,1/2"), ("1,1,1/2", "1,1/2,1/2"), ("1,1/2,1", "1,1,1/2"),
             ("1,7/10,1", "1,7/10,1/2"), ("1,1,1", "1,1,1/2")]


def paired(rows: list[dict], a: str, b: str) -> dict | None:
    """a minus b over the seeds both have, at the last evaluated epoch both reached in every such seed: mean and
    SE (SD / sqrt(seeds)) of the test-accuracy and training-loss differences, and each seed's difference."""
    ra = {r["seed"]: {c[0]: c for c in r["curve"]} for r in rows if r["gammas"] == a}
    rb = {r["seed"]: {c[0]: c for c in r["curve"]} for r in rows if r["gammas"] == b}
    seeds = sorted(set(ra) & set(rb))
    if not seeds:
        return None
    epoch = max(set.intersection(*(set(ra[s]) & set(rb[s]) for s in seeds)))
    out = {"a": a, "b": b, "epoch": epoch, "steps": epoch * STEPS_PER_EPOCH, "seeds": seeds}
    for name, col in (("test_acc", 2), ("train_loss", 1)):
        d = np.array([ra[s][epoch][col] - rb[s][epoch][col] for s in seeds])
        out[name] = {"mean": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else None,
                     "per_seed": d.tolist()}
    return out


def main_effects(rows: list[dict], epoch: int = 11250) -> dict | None:
    """At gamma_1 = 1, the 3 x 3 block of (gamma_2, gamma_3) at ``epoch``: per seed, the outer effect (gamma_3 from
    1/2 to 1, averaged over gamma_2), the middle effect (gamma_2 from 1/2 to 1, averaged over gamma_3) and outer
    minus middle; each as mean, SE over seeds and a 95% t interval (None unless every cell has every seed)."""
    from scipy.stats import t as student

    vals = ("1/2", "7/10", "1")
    acc = {(r["gammas"], r["seed"]): {c[0]: c[2] for c in r["curve"]}.get(epoch) for r in rows}
    seeds = sorted({s for (g, s), v in acc.items() if g.startswith("1,") and v is not None})
    cell = lambda g2, g3, s: acc.get((f"1,{g2},{g3}", s))
    if not seeds or any(cell(a, b, s) is None for a in vals for b in vals for s in seeds):
        return None
    outer = np.array([np.mean([cell(g2, "1", s) - cell(g2, "1/2", s) for g2 in vals]) for s in seeds])
    middle = np.array([np.mean([cell("1", g3, s) - cell("1/2", g3, s) for g3 in vals]) for s in seeds])
    out = {"epoch": epoch, "seeds": seeds}
    for name, d in (("outer", outer), ("middle", middle), ("outer_minus_middle", outer - middle)):
        se = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else None
        half = float(student.ppf(0.975, d.size - 1) * se) if se is not None else None
        out[name] = {"mean": float(d.mean()), "se": se, "t95": half, "per_seed": d.tolist()}
    return out


def main_effects_text(m: dict | None) -> str:
    if m is None:
        return ""
    f = lambda d: (f"{d['mean']:+.4f} +- {d['se']:.4f} (SE; 95% t interval +-{d['t95']:.4f}; per seed "
                   + ", ".join(f"{x:+.3f}" for x in d["per_seed"]) + ")")
    return (f"\nAt gamma_1 = 1, epoch {m['epoch']}, {len(m['seeds'])} seeds: raising the outer gamma from 1/2 to 1 "
            f"(mean over gamma_2) {f(m['outer'])}; raising the middle gamma from 1/2 to 1 (mean over gamma_3) "
            f"{f(m['middle'])}; outer minus middle {f(m['outer_minus_middle'])}.\n")


def contrast_table(rows: list[dict]) -> str:
    lines = ["| a minus b | seeds | epoch | SGD steps | test acc difference, mean +- SE | "
             "train loss difference, mean +- SE | per seed (test acc) |", "|---|---|---|---|---|---|---|"]
    for a, b in CONTRASTS:
        p = paired(rows, a, b)
        if p is None:
            continue
        f = lambda d: f"{d['mean']:+.4f}" + (f" +- {d['se']:.4f}" if d["se"] is not None else " (1 seed)")
        lines.append(f"| ({a}) - ({b}) | {len(p['seeds'])} | {p['epoch']} | {p['steps']:,} | {f(p['test_acc'])} | "
                     f"{f(p['train_loss'])} | {', '.join(f'{x:+.3f}' for x in p['test_acc']['per_seed'])} |")
    return "\n".join(lines) + "\n"


def centring_rows(folder: Path) -> list[dict]:
    from asymexp.mnist.centring import check_checkpoint

    rows = []
    files = sorted(folder.glob("*.npz"))
    for k, f in enumerate(files):
        rows.append(check_checkpoint(f))
        print(f"{k + 1}/{len(files)} {f.name}", file=sys.stderr, flush=True)
    return rows


def centring_table(rows: list[dict]) -> str:
    """Markdown: per configuration, plain and centred test accuracy and training loss (mean +- SD over seeds), and
    the seeds above 0.2 each way."""
    groups = _by_config(rows)
    lines = ["| gammas | seeds | epoch | test acc, plain | test acc, centred | train loss, plain | "
             "train loss, centred | seeds above 0.2: plain, centred |", "|---|---|---|---|---|---|---|---|"]
    for g, rs in groups.items():
        lines.append(f"| ({g}) | {len(rs)} | {rs[0]['epoch']} | "
                     + " | ".join(_mean_sd([r[w][k] for r in rs]) for k, w in
                                  (("test_acc", "plain"), ("test_acc", "centred"), ("train_loss", "plain"),
                                   ("train_loss", "centred")))
                     + f" | {sum(r['plain']['test_acc'] > CHANCE_EXIT for r in rs)}, "
                     f"{sum(r['centred']['test_acc'] > CHANCE_EXIT for r in rs)} |")
    n = len(rows)
    plain = sum(r["plain"]["test_acc"] > CHANCE_EXIT for r in rows)
    cent = sum(r["centred"]["test_acc"] > CHANCE_EXIT for r in rows)
    gain = np.array([r["centred"]["test_acc"] - r["plain"]["test_acc"] for r in rows])
    lines.append("")
    lines.append(f"All {n} runs: {plain} above 0.2 plain, {cent} centred; centred minus plain test accuracy "
                 f"{gain.mean():.4f} on average (SD {gain.std(ddof=1) if n > 1 else float('nan'):.4f}, "
                 f"range {gain.min():.4f} to {gain.max():.4f}).")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("runs", "centring"))
    p.add_argument("folder", type=Path)
    p.add_argument("--to", type=Path, required=True)
    a = p.parse_args(argv)
    a.to.mkdir(parents=True, exist_ok=True)
    if a.what == "runs":
        rows = run_rows(a.folder)
        (a.to / "runs.json").write_text(json.dumps(rows, indent=1))
        verdicts = [v for v in (verdicts_at(rows, e) for e in (301, 1500, 11250)) if v is not None]
        effects = main_effects(rows)
        (a.to / "verdicts.json").write_text(json.dumps(
            {"verdicts": verdicts, "contrasts": [p for p in (paired(rows, x, y) for x, y in CONTRASTS) if p],
             "main_effects_gamma1_1": effects}, indent=1))
        (a.to / "runs.md").write_text(config_table(rows) + "\n" + contrast_table(rows) + "".join(
            f"\nAt epoch {v['epoch']} ({v['runs']} runs): {v['statement']}.\n" for v in verdicts)
            + main_effects_text(effects))
        figure(rows, a.to / "runs.png")
        print((a.to / "runs.md").read_text())
    else:
        rows = centring_rows(a.folder)
        epoch = rows[0]["epoch"]
        (a.to / f"centring_{epoch}.json").write_text(json.dumps(rows, indent=1))
        from asymexp.mnist.grid_report import analyse

        verdicts = {w: analyse(_as_runs([(r["gammas"], r["seed"], r[w]["test_acc"], r[w]["train_loss"])
                                         for r in rows])) for w in ("plain", "centred")}
        (a.to / f"centring_{epoch}.json").write_text(json.dumps({"runs": rows, "verdicts": verdicts}, indent=1))
        text = centring_table(rows) + "".join(f"\n{w}: {v['statement']}.\n" for w, v in verdicts.items())
        (a.to / f"centring_{epoch}.md").write_text(text)
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
