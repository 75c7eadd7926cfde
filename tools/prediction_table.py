"""The prediction blocks of `asymexp validate` runs in one table (docs/validation.md, "Deep prediction at t > 0" and
"gamma = 1"; a one-hidden-layer run shows L = 1).

    python tools/prediction_table.py docs/runs/deep_prediction_t1/*/result.json > docs/runs/deep_prediction_t1/summary.md

Per run: the largest |z| of the mean and of the variance over the judged cells (with their count) and over all
cells from N_L = 64, the verdicts, and the widths from which each is judged. The seed comes from manifest.json beside
each result.json. With ``--cells`` first, the z of every cell of each run instead ('*': not judged).
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


def cells(path: Path) -> str:
    """The z of every (width, point) cell of one run, mean and variance; '*' marks a cell that is not judged."""
    doc = json.loads(path.read_text())
    seed = json.loads((path.parent / "manifest.json").read_text())["parameters"]["seed"]
    pr = doc["prediction"]
    gammas = ", ".join(doc["gammas"]) if "gammas" in doc else str(doc["gamma"])
    lines = [f"{doc['problem'].split('/')[-1]}, gammas ({gammas}), seed {seed}:", "",
             "| N | z mean | z var |", "|---|---|---|"]
    for i, n in enumerate(doc["widths"]):
        row = [", ".join(f"{z:+.2f}" + ("" if h else "*") for z, h in zip(pr[f"z_{w}"][i], pr[f"holds_{w}"][i]))
               for w in ("mean", "var")]
        lines.append(f"| {n} | {row[0]} | {row[1]} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = list(argv if argv is not None else sys.argv[1:])
    if args[:1] == ["--cells"]:
        print("\n".join(cells(Path(p)) for p in args[1:]))
        return 0
    paths = [Path(p) for p in args]
    print("| problem | L | gammas | t | dynamics | seed | widths | replicas | mean: max abs z judged (cells) | "
          "mean: max abs z, N >= 64 | mean verdict | var: max abs z judged (cells) | var: max abs z, N >= 64 | "
          "var verdict |")
    print("|---" * 14 + "|")
    for p in paths:
        print(row(p))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
