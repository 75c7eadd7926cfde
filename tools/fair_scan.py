"""Summaries of the fair learning-rate scan and of the grid that takes its choices (docs/mnist.md, "The fair
learning-rate scan").

    python tools/fair_scan.py scan SCAN [SCAN2 ...] --to docs/runs/mnist_fair
    python tools/fair_scan.py grid GRID [GRID2 ...] --steps docs/runs/mnist_steps/runs.json \
        --scan docs/runs/mnist_fair/scan.json [--scan ...] --to docs/runs/mnist_fair

``scan`` reads an ``asymexp sweep mnist`` lr-scale scan (several folders are pooled, as ``sweep mnist
--lr-scale-from`` pools them: a second scan extends the range of the first) and writes ``scan.json`` (the choices by
final training loss and, beside them, by final training accuracy, :func:`asymexp.mnist.lr_choice.scan_summary`; each
selection seed's own choice by loss), ``scan.md`` (per gamma vector: final training loss at every lr-scale, mean over
the seeds, the choice, whether it is determined or at an end of the range, and each seed's choice) and ``scan.png``
(the heat map of training loss). ``grid`` reads the grid run at the chosen scales and writes ``grid.json`` and
``grid.md``: per configuration its lr-scale, test accuracy and training loss (mean +- SD over seeds) at the last epoch
every seed reached; the paired contrasts of tools/mnist_steps.py (a seed fixes the initial weights and the batch
order); the trend tests both ways; and Kendall's tau between this grid's ranking and that of the paper's rates, at the
same epoch and at 4.5M steps (from the step-matched runs' ``runs.json``).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mnist_steps as steps  # noqa: E402  (tools/ is not a package)


def seed_choices(runs: list[dict], by: str) -> dict[str, dict[int, float | None]]:
    """Each selection seed's own choice, ``{gammas: {seed: lr_scale}}`` (None where that seed is undetermined)."""
    from asymexp.mnist.lr_choice import scan_table

    out: dict[str, dict[int, float | None]] = {}
    for seed in sorted({r["seed"] for r in runs}):
        for row in scan_table([r for r in runs if r["seed"] == seed], by):
            out.setdefault(",".join(row["gammas"]), {})[seed] = row["lr_scale"] if row["determined"] else None
    return out


def scan_report(folders: list[Path], to: Path) -> str:
    from asymexp.mnist.grid_report import load_runs, save_figure, scan_figure
    from asymexp.mnist.lr_choice import check_lengths, scan_summary

    runs = [r for f in folders for r in load_runs(f)]
    check_lengths(runs)
    by_loss, by_acc = scan_summary(runs, "train_loss"), scan_summary(runs, "train_acc")
    per_seed = seed_choices(runs, "train_loss")
    epochs = sorted({r["history"][-1]["epoch"] for r in runs if r["history"]})
    (to / "scan.json").write_text(json.dumps({"folders": [str(f) for f in folders], "epochs": epochs,
                                              "by_train_loss": by_loss, "by_train_acc": by_acc,
                                              "seed_choices_by_loss": per_seed}, indent=1))
    save_figure(scan_figure(runs, "train_loss"), to / "scan.png")
    lrs = by_loss["lr_scales"]
    acc_choice = {",".join(r["gammas"]): r for r in by_acc["scan"]}
    lines = [f"Final training loss after {', '.join(map(str, epochs))} epochs, mean over the selection seeds "
             f"({', '.join(str(s) for s in sorted({r['seed'] for r in runs}))}); the choice in bold.", "",
             "| gammas | " + " | ".join(f"{v:g}" for v in lrs) + " | choice by loss | each seed's choice | "
             "choice by train acc |", "|---|" + "---|" * (len(lrs) + 3)]
    for row in by_loss["scan"]:
        g = ",".join(row["gammas"])
        cells = {c["lr_scale"]: ("div" if c["train_loss"] is None else f"{c['train_loss']:.3f}")
                 + (f" ({c['diverged']} div)" if c["diverged"] and c["train_loss"] is not None else "")
                 for c in row["candidates"]}
        if row["lr_scale"] is not None and row["determined"]:
            cells[row["lr_scale"]] = f"**{cells[row['lr_scale']]}**"
        state = (f"{row['lr_scale']:g}" + (f" (open {row['open_side']})" if row["open_side"] else "")
                 if row["determined"] else "undetermined")
        seeds = ", ".join("-" if v is None else f"{v:g}" for v in per_seed[g].values())
        a = acc_choice[g]
        acc = f"{a['lr_scale']:g}" if a["determined"] else "undetermined"
        lines.append(f"| ({g}) | " + " | ".join(cells.get(v, "-") for v in lrs) + f" | {state} | {seeds} | {acc} |")
    lines += ["", f"By loss: {by_loss['statement']}.", "", f"By training accuracy: {by_acc['statement']}."]
    text = "\n".join(lines) + "\n"
    (to / "scan.md").write_text(text)
    return text


def _kendall(a: dict[str, float], b: dict[str, float]) -> dict | None:
    """:func:`asymexp.mnist.grid_compare.rank_agreement` of two ``{gammas: accuracy}`` maps; None with fewer than 3
    configurations in both."""
    from asymexp.mnist.grid_compare import rank_agreement

    res = rank_agreement(a, b)
    return res if res["tau"] is not None else None


def _means_at(rows: list[dict], epoch: int, only=None) -> tuple[dict[str, float], list[int]]:
    """Mean test accuracy per gamma vector (those in ``only``, when given) at each run's last evaluation in the 50
    epochs up to ``epoch`` (vectors with a seed that has none are left out), and the evaluated epochs used."""
    out, used = {}, set()
    for g, rs in steps._by_config(rows).items():
        if only is not None and g not in only:
            continue
        pts = []
        for r in rs:
            before = [c for c in r["curve"] if epoch - 50 < c[0] <= epoch]
            pts.append(max(before, key=lambda c: c[0]) if before else None)
        if all(p is not None for p in pts):
            out[g] = float(np.mean([p[2] for p in pts]))
            used |= {p[0] for p in pts}
    return out, sorted(used)


def _determined(scans: list[Path]) -> dict[str, bool]:
    """``{gammas: determined}`` from scan.json files written by :func:`scan_report` (a later file overrides)."""
    out = {}
    for path in scans:
        for row in json.loads(path.read_text())["by_train_loss"]["scan"]:
            out[",".join(row["gammas"])] = bool(row["determined"])
    return out


def grid_rows(folders: list[Path]) -> tuple[list[dict], dict[str, float], dict[str, str]]:
    """The runs of the grid folders (a gamma vector in a later folder replaces the earlier folders' runs of it),
    each vector's lr-scale, and the folder each vector's runs come from."""
    rows, lr, source = {}, {}, {}
    for folder in folders:
        new = defaultdict(list)
        for r in steps.run_rows(folder):
            new[r["gammas"]].append(r)
        for ckpt in sorted((folder / "runs").glob("*/checkpoint.npz")):
            cfg = steps._meta(ckpt)["config"]
            lr[cfg["gammas"]] = cfg["lr_scale"]
        for g, rs in new.items():
            rows[g], source[g] = rs, folder.name
    return [r for rs in rows.values() for r in rs], lr, source


def grid_report(folders: list[Path], steps_json: Path, to: Path, scans: list[Path] = ()) -> str:
    rows, lr, source = grid_rows(folders)
    determined = _determined(list(scans))
    undetermined = {g for g, d in determined.items() if not d}
    epoch = min(r["epoch"] for r in rows)
    paper = json.loads(steps_json.read_text())
    ours, _ = _means_at(rows, epoch)
    agreement = {}
    for label, e in ((f"epoch {epoch}", epoch), ("4.5M steps (epoch 11250)", 11250)):
        theirs, used = _means_at(paper, e, set(ours))
        key = f"paper's rates at {label}" + (f", evaluated at epochs {', '.join(map(str, used))}"
                                             if used and used != [e] else "")
        agreement[key] = _kendall(ours, theirs)
        fair = {g: v for g, v in ours.items() if g not in undetermined}
        agreement[key + ", determined scales only"] = _kendall(fair, theirs) if undetermined else None
    agreement = {k: v for k, v in agreement.items() if v is not None or "determined scales only" not in k}
    verdict = steps.verdicts_at(rows, epoch)
    contrasts = [p for p in (steps.paired(rows, a, b) for a, b in steps.CONTRASTS) if p]
    (to / "grid.json").write_text(json.dumps({"folders": [str(f) for f in folders], "epoch": epoch, "lr_scale": lr,
                                              "source": source, "undetermined": sorted(undetermined, key=steps._order),
                                              "runs": [{k: v for k, v in r.items() if k != "curve"} for r in rows],
                                              "verdicts": verdict, "contrasts": contrasts,
                                              "rank_agreement": agreement}, indent=1))
    table = steps.config_table(rows).splitlines()
    table[0] = table[0].replace("| gammas |", "| gammas | lr-scale |")
    table[1] = "|---" + table[1]
    for i, line in enumerate(table[2:], 2):
        g = line.split("|")[1].strip().strip("()")
        mark = " (undetermined)" if g in undetermined else ""
        where = f", {source[g]}" if len(folders) > 1 else ""
        table[i] = line.replace(f"| ({g}) |", f"| ({g}) | {lr[g]:g}{mark}{where} |", 1)
    lines = steps.contrast_table(rows).splitlines()
    for i, line in enumerate(lines[2:], 2):
        pair = line.split("|")[1]
        if any(f"({g})" in pair for g in undetermined):
            lines[i] = line.replace(pair, pair.rstrip() + " [undetermined scale] ", 1)
    text = ("\n".join(table) + "\n\n" + "\n".join(lines) + "\n"
            + f"\nAt epoch {epoch} ({verdict['runs']} runs): {verdict['statement']}.\n\n"
            + "\n".join(f"Kendall's tau of the mean test accuracies against the {k}: {v['tau']:+.3f} "
                        f"(p = {v['p_value']:.3f}, {v['configurations']} configurations)." if v else
                        f"Kendall's tau against the {k}: undetermined (fewer than 3 configurations in both)."
                        for k, v in agreement.items()) + "\n")
    (to / "grid.md").write_text(text)
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("scan", "grid"))
    p.add_argument("folder", type=Path, nargs="+", help="scan: the scan folders, pooled; grid: the grid folders (a "
                   "gamma vector in a later one replaces the earlier ones' runs of it)")
    p.add_argument("--scan", type=Path, action="append", default=[],
                   help="grid: scan.json files of the scans it took its scales from (marks undetermined choices)")
    p.add_argument("--steps", type=Path, default=Path("docs/runs/mnist_steps/runs.json"),
                   help="the step-matched runs' runs.json (grid: the paper's rates to compare with)")
    p.add_argument("--to", type=Path, required=True)
    a = p.parse_args(argv)
    a.to.mkdir(parents=True, exist_ok=True)
    print(scan_report(a.folder, a.to) if a.what == "scan" else grid_report(a.folder, a.steps, a.to, a.scan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
