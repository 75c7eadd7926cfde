"""Each configuration's own lr-scale, chosen from a scan (docs/mnist.md, "Step size chosen per configuration").

A scan is an ``asymexp sweep mnist`` folder whose grid has an ``lr_scale`` axis (several lr-scales per gamma
vector, typically one selection seed and a short run). For every gamma vector the choice is the lr-scale whose
runs end with the highest **training** accuracy (mean over the scan's seeds, at the last epoch, which is always
evaluated), or with ``--lr-choice-by train_loss`` the lowest training loss; a diverged run does not count, ties
go to the smaller lr-scale. Training accuracy, not test
accuracy: the choice must not see the test images whose accuracy the chosen grid then reports, and the scan's
seeds should differ from the grid's.

The choice is only as good as the scanned range: where it lies at the smallest or largest scanned lr-scale the
bracket is open on that side, and :func:`scan_summary` says so in its statement. Where no lr-scale gets the
training accuracy above :data:`CHANCE_EXIT` the scan cannot tell the candidates apart (each net answers nearly one
class): the choice is then **undetermined** and falls back to lr-scale 1 (the paper's rates) when it was scanned,
else to the smallest scanned; the statement names those configurations, and a longer scan would settle them.
``asymexp sweep mnist --lr-scale-from SCAN`` runs a grid with these choices (:func:`choices_for`); a repeated
``--lr-scale-from`` pools scans of one length (:func:`check_lengths`).
"""
from __future__ import annotations

import os
from collections import defaultdict
from fractions import Fraction

import numpy as np

#: Fields of a task's config that may differ between a scan and the grid that takes its choices.
FREE_FIELDS = ("gammas", "seed", "lr_scale", "epochs", "eval_every", "checkpoint_every", "threads")
CHANCE_EXIT = 0.2   # the accuracy a net must pass to have left chance (docs/mnist.md)
#: The choice's criteria: the final training accuracy (highest wins; the default) or the final evaluated training
#: loss (lowest wins), each a mean over the scan's seeds.
CRITERIA = ("train_acc", "train_loss")
#: A scale has left the loss plateau when its training loss is this far below ln 10 (the loss of a net that
#: answers 1/10 for every class); the plain nets at chance sit within 0.065 of ln 10 (docs/mnist.md).
LOSS_EXIT = 0.1
PLATEAU_LOSS = float(np.log(10.0))


def gamma_key(gammas) -> tuple:
    """A gamma vector as exact fractions (so "0.5" and "1/2" are one configuration)."""
    return tuple(Fraction(g) for g in gammas)


def run_lr_scale(run: dict) -> float:
    """A run's lr-scale; a run dict without one (built by hand, as in the tutorials) ran at scale 1."""
    return float(run.get("lr_scale", 1.0))


def is_scan(runs: list[dict]) -> bool:
    """Whether some gamma vector was run at more than one lr-scale (``runs`` of
    :func:`asymexp.mnist.grid_runs.load_runs`)."""
    seen = defaultdict(set)
    for r in runs:
        seen[gamma_key(r["gammas"])].add(run_lr_scale(r))
    return any(len(v) > 1 for v in seen.values())


def _left_plateau(value: float, by: str) -> bool:
    return value > CHANCE_EXIT if by == "train_acc" else value < PLATEAU_LOSS - LOSS_EXIT


def scan_table(runs: list[dict], by: str = "train_acc") -> list[dict]:
    """One row per gamma vector, in grid order: ``{"gammas", "candidates": [{"lr_scale", "train_acc",
    "train_loss" (means over finished seeds, or None), "seeds", "diverged"}], "lr_scale" (the choice, or None
    when every run diverged), "train_acc", "train_loss" (the choice's), "criterion" (``by``), "determined" (some
    lr-scale left the plateau: training accuracy above :data:`CHANCE_EXIT`, or for ``by="train_loss"`` a loss
    :data:`LOSS_EXIT` below ln 10), "open_side" ("below"/"above" when a determined choice is an end of the
    scanned range, else None)}``. The choice is the highest training accuracy or, with ``by="train_loss"``, the
    lowest training loss; ties go to the smaller lr-scale."""
    if by not in CRITERIA:
        raise ValueError(f"lr-scale criterion {by!r} is not allowed; allowed: {', '.join(CRITERIA)}")
    sign = 1.0 if by == "train_acc" else -1.0
    groups = defaultdict(lambda: defaultdict(list))
    names = {}
    for r in runs:
        k = gamma_key(r["gammas"])
        names.setdefault(k, list(r["gammas"]))
        groups[k][run_lr_scale(r)].append(r)
    table = []
    for k in sorted(groups):
        cands = []
        for lr in sorted(groups[k]):
            done = [r for r in groups[k][lr] if r["status"] == "finished" and r["history"]]
            means = {m: float(np.mean([r["history"][-1][m] for r in done])) if done else None for m in CRITERIA}
            cands.append({"lr_scale": lr, **means, "seeds": len(done), "diverged": len(groups[k][lr]) - len(done)})
        ok = [c for c in cands if c[by] is not None]
        best = max(ok, key=lambda c: (sign * c[by], -c["lr_scale"])) if ok else None
        scanned = [c["lr_scale"] for c in cands]
        determined = best is not None and _left_plateau(best[by], by)
        if best is not None and not determined:
            best = next((c for c in ok if c["lr_scale"] == 1.0), ok[0])
        side = None
        if determined and len(scanned) > 1:
            side = "below" if best["lr_scale"] == scanned[0] else "above" if best["lr_scale"] == scanned[-1] else None
        table.append({"gammas": names[k], "candidates": cands, "lr_scale": best and best["lr_scale"],
                      "train_acc": best and best["train_acc"], "train_loss": best and best["train_loss"],
                      "criterion": by, "determined": determined, "open_side": side})
    return table


def scan_summary(runs: list[dict], by: str = "train_acc") -> dict:
    """The scan's table (:func:`scan_table` with criterion ``by``) and a statement: how many choices sit inside the
    scanned range and how many at an end (open brackets), and which gamma vectors diverged at every lr-scale.
    JSON-ready."""
    table = scan_table(runs, by)
    lrs = sorted({c["lr_scale"] for row in table for c in row["candidates"]})
    none = [",".join(r["gammas"]) for r in table if r["lr_scale"] is None]
    counts = defaultdict(int)
    for r in table:
        if r["lr_scale"] is not None:
            counts[r["lr_scale"]] += 1
    open_rows = [r for r in table if r["open_side"] is not None]
    undetermined = [",".join(r["gammas"]) for r in table if r["lr_scale"] is not None and not r["determined"]]
    lines = [f"lr-scale scan of {len(table)} configurations over lr-scales {', '.join(f'{v:g}' for v in lrs)}: "
             f"chosen ({'highest final training accuracy' if by == 'train_acc' else 'lowest final training loss'}) "
             + ", ".join(f"{v:g} in {counts[v]}" for v in sorted(counts)),
             f"{len(open_rows)} choices lie at an end of the scanned range (bracket open there)"]
    if undetermined:
        plateau = (f"above {CHANCE_EXIT} training accuracy" if by == "train_acc"
                   else f"{LOSS_EXIT} below ln 10 in training loss")
        lines.append(f"undetermined (no lr-scale {plateau}; fallback "
                     f"lr-scale 1 or the smallest) for {len(undetermined)}: {'; '.join(undetermined)}")
    if none:
        lines.append(f"every lr-scale diverged for {', '.join(none)}")
    return {"kind": "lr-scale scan", "criterion": by, "depth": len(table[0]["gammas"]) if table else 0,
            "lr_scales": lrs,
            "configurations": len(table), "scan": table, "statement": "; ".join(lines)}


def choices_for(scan_dirs, sample: dict, vectors: list[str], by: str = "train_acc") -> dict[str, float]:
    """``{gammas: lr_scale}`` for the grid's gamma vectors (``vectors``, comma-separated as the grid writes them),
    from the scan folder ``scan_dirs`` by the criterion ``by`` (:data:`CRITERIA`); ``sample`` is one task config
    of the grid (a dict of :class:`asymexp.mnist.train.TrainConfig` fields) whose settings the scan must share.
    ``scan_dirs`` may be a list of folders: their runs are pooled, so that a second scan extends the range of the
    first where a choice lay at its end (docs/mnist.md, "The fair learning-rate scan"); they must share their
    seeds and may not scan one (gammas, lr-scale, seed) twice.

    Raises :class:`asymexp.executor.SweepError` (exit status 2, one line) when a folder is not a finished scan,
    when its runs differ from the grid in a setting other than :data:`FREE_FIELDS`, when a configuration of the
    grid is missing from them, or when every lr-scale of a configuration diverged."""
    from asymexp.executor import SweepError

    dirs = [scan_dirs] if isinstance(scan_dirs, (str, os.PathLike)) else list(scan_dirs)
    runs, seeds = [], {}
    for scan_dir in dirs:
        runs += _scan_runs(scan_dir, sample)
        seeds[str(scan_dir)] = sorted({r["seed"] for r in runs if r["_from"] == str(scan_dir)})
    named = " ".join(str(d) for d in dirs)
    if len(set(map(tuple, seeds.values()))) > 1:
        raise SweepError(f"--lr-scale-from {named}: the scans ran other seeds ("
                         + "; ".join(f"{d}: {v}" for d, v in seeds.items()) + "); extend a scan with its seeds")
    cells = [(gamma_key(r["gammas"]), run_lr_scale(r), r["seed"]) for r in runs]
    if len(set(cells)) < len(cells):
        raise SweepError(f"--lr-scale-from {named}: a (gammas, lr-scale, seed) is in more than one scan; extend a "
                         "scan with new lr-scales only")
    try:
        check_lengths(runs)
    except ValueError as exc:
        raise SweepError(f"--lr-scale-from {named}: {exc}") from None
    if not is_scan(runs):
        raise SweepError(f"--lr-scale-from {named}: not an lr-scale scan (one lr-scale per configuration); "
                         'run it with --grid "lr_scale=V1,V2,..."')
    table = {gamma_key(r["gammas"]): r for r in scan_table(runs, by)}
    out = {}
    for gammas in vectors:
        row = table.get(gamma_key(gammas.split(",")))
        if row is None:
            raise SweepError(f"--lr-scale-from {named}: gammas {gammas} were not scanned; scan every "
                             "configuration of the grid")
        if row["lr_scale"] is None:
            raise SweepError(f"--lr-scale-from {named}: every scanned lr-scale diverged for gammas {gammas}; "
                             "scan smaller lr-scales")
        out[gammas] = row["lr_scale"]
    return out


def check_lengths(runs: list[dict]) -> None:
    """Raise ValueError where one gamma vector's finished runs end at different epochs: a choice compares final
    values, so pooled scans must be of one length for each configuration."""
    ends = defaultdict(set)
    for r in runs:
        if r["status"] == "finished" and r["history"]:
            ends[gamma_key(r["gammas"])].add(r["history"][-1]["epoch"])
    mixed = {",".join(map(str, k)): sorted(v) for k, v in ends.items() if len(v) > 1}
    if mixed:
        g, v = next(iter(mixed.items()))
        raise ValueError(f"gammas {g} ran to different epochs in the scans ({', '.join(map(str, v))}); pool scans "
                         "of one length for each configuration")


def _scan_runs(scan_dir, sample: dict) -> list[dict]:
    """The finished runs of one scan folder (each tagged ``"_from"``), after checking that its settings match the
    grid's ``sample`` config and that every task of its manifest is finished."""
    from asymexp.executor import SweepError, load_results
    from asymexp.mnist.grid_runs import runs_of

    try:
        docs = [d for d in load_results(scan_dir) if "config" in d.get("params", {})]
    except SweepError as exc:
        raise SweepError(f"--lr-scale-from: {exc}") from None
    if not docs:
        raise SweepError(f"--lr-scale-from {scan_dir}: no finished tasks of `asymexp sweep mnist` there")
    grid_fixed = {k: v for k, v in sample.items() if k not in FREE_FIELDS}
    for cfg in (d["params"]["config"] for d in docs):
        fixed = {k: v for k, v in cfg.items() if k not in FREE_FIELDS}
        diff = sorted(k for k in set(fixed) | set(grid_fixed) if fixed.get(k) != grid_fixed.get(k))
        if diff:
            k = diff[0]
            raise SweepError(f"--lr-scale-from {scan_dir}: its runs differ from this grid in {', '.join(diff)} "
                             f"(scan {k}={fixed.get(k)!r}, grid {k}={grid_fixed.get(k)!r}); scan with the "
                             "grid's settings")
    runs = runs_of(docs, scan_dir)
    _check_complete(scan_dir, runs)
    return [r | {"_from": str(scan_dir)} for r in runs]


def _check_complete(scan_dir, runs: list[dict]) -> None:
    """Refuse a scan whose tasks are not all finished (its manifest's lr-scales x seeds for every gamma vector):
    a choice among the candidates that happen to be done would depend on the order the tasks ran in."""
    from asymexp.executor import SweepError
    from asymexp.run_folder import read_manifest

    manifest = read_manifest(scan_dir) or {}
    params = manifest.get("parameters", {})
    want = len(params.get("lr_scale", [])) * len(params.get("seeds", []))
    have = defaultdict(int)
    for r in runs:
        have[gamma_key(r["gammas"])] += 1
    short = [",".join(str(g) for g in k) for k, n in have.items() if n < want]
    if not want or short:
        raise SweepError(f"--lr-scale-from {scan_dir}: the scan is unfinished ("
                         + (f"{len(short)} configurations have fewer than {want} runs" if want else "no manifest")
                         + "); rerun its command to finish it")
