"""The prediction blocks of `asymexp validate` runs in one table (docs/validation.md, "Deep prediction at t > 0" and
"gamma = 1"; a one-hidden-layer run shows L = 1).

    python tools/prediction_table.py docs/runs/deep_prediction_t1/*/result.json > docs/runs/deep_prediction_t1/summary.md

Per run: the largest |z| of the mean and of the variance over the judged cells (with their count) and over all
cells from N_L = 64, the verdicts, and the widths from which each is judged. The seed comes from manifest.json beside
each result.json.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def _largest(z, holds, rows) -> str:
    z = np.abs(np.array(z, dtype=float))
    holds = np.asarray(holds)
    judged = f"{z[holds].max():.2f} ({int(holds.sum())})" if holds.any() else "- (0)"
    return f"{judged} | {z[rows].max():.2f}"


def row(path: Path) -> str:
    doc = json.loads(path.read_text())
    seed = json.loads((path.parent / "manifest.json").read_text())["parameters"]["seed"]
    pr = doc["prediction"]
    wide = np.array(doc["widths"]) >= 64
    gammas = ", ".join(doc["gammas"]) if "gammas" in doc else str(doc["gamma"])     # deep, or one hidden layer
    replicas = doc["replicas"][0] if isinstance(doc["replicas"], list) else doc["replicas"]
    cells = [doc["problem"].split("/")[-1], str(doc.get("depth", 1)), gammas, str(doc["time"]),
             doc["dynamics"], str(seed), ",".join(str(n) for n in doc["widths"]), str(replicas)]
    if not pr.get("applicable"):
        return "| " + " | ".join(cells + ["not applicable: " + pr.get("reason", "")] + [""] * 5) + " |"
    for what in ("mean", "var"):
        cells.append(_largest(pr[f"z_{what}"], pr[f"holds_{what}"], wide))
        cells.append(f"{pr['verdict'][what]} (from {pr['holds_from'][what]})")
    return "| " + " | ".join(cells) + " |"


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    print("| problem | L | gammas | t | dynamics | seed | widths | replicas | mean: max abs z judged (cells) | "
          "mean: max abs z, N >= 64 | mean verdict | var: max abs z judged (cells) | var: max abs z, N >= 64 | "
          "var verdict |")
    print("|---" * 14 + "|")
    for p in paths:
        print(row(p))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
