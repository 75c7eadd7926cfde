"""The GD and SGD prediction runs in one table (docs/validation.md, "Full-batch GD and online SGD").

    python tools/step_table.py docs/runs/validate_gd/*/result.json > docs/runs/validate_gd/summary.md

Reads the result.json (and the seed from manifest.json beside it) of `asymexp validate --dynamics gd|sgd` runs and prints, per run, the largest |z| of the
mean and the variance against (a) the gradient-flow prediction (the GD block without its step terms), (b) the
GD prediction, and for SGD (c) the variance with the noise term W_t/N added, over the cells the GD block judges.
"""
from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np


def _gd_block(doc: dict) -> dict:
    pr = doc["prediction"]
    return pr if pr.get("applicable") else pr["against_gd"]


def _flow_z(doc: dict, what: str) -> np.ndarray:
    """Residuals against the flow prediction: the GD block minus its step terms (D^h - D for the mean, the
    variance's V^h - V)."""
    se = np.array(doc[f"{what}_se"])
    block = _gd_block(doc)
    pr = block                                      # GD's block, or SGD's against_gd: both hold the step terms
    n = np.array(doc["widths"], dtype=float)[:, None]
    gamma = float(Fraction(str(doc["gamma"])))
    step = (np.array(pr["gd_shift"]) if what == "mean" else n ** (1 - 2 * gamma) * np.array(pr["gd_dV"]))
    return (np.array(block[f"z_{what}"]) * se + step) / se


def _worst(z, holds) -> str:
    z, holds = np.abs(np.asarray(z, dtype=float)), np.asarray(holds)
    return f"{z[holds].max():.2f} ({int(holds.sum())})" if holds.any() else "- (0)"


def row(path: Path) -> str:
    doc = json.loads(path.read_text())
    seed = json.loads((path.parent / "manifest.json").read_text())["parameters"]["seed"]
    pr, block = doc["prediction"], _gd_block(doc)
    hm, hv = block["holds_mean"], block["holds_var"]
    cells = [doc["problem"].split("/")[-1], str(doc["gamma"]), doc["dynamics"], str(seed),
             ",".join(str(n) for n in doc["widths"]), str(doc["replicas"][0])]
    if pr.get("applicable"):
        cells += [_worst(_flow_z(doc, "mean"), hm), _worst(block["z_mean"], hm), _worst(_flow_z(doc, "var"), hv),
                  _worst(block["z_var"], hv), "-", f"{pr['verdict']['mean']} / {pr['verdict']['var']}"]
    else:
        cells += [_worst(_flow_z(doc, "mean"), hm), _worst(block["z_mean"], hm), _worst(_flow_z(doc, "var"), hv),
                  _worst(block["z_var"], hv),
                  _worst(pr["with_noise"]["z_var"], hv), "measured (no verdict)"]
    return "| " + " | ".join(cells) + " |"


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    print("| problem | gamma | dynamics | seed | widths | replicas | mean vs flow: max abs z (cells) | "
          "mean vs GD | var vs flow | var vs GD | var vs GD + W/N | verdict (mean / var) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p in paths:
        print(row(p))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
