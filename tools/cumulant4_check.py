"""The fourth cumulant of g^N_0: theory against simulation (docs/theory/8-initial-cumulants.md).

    python tools/cumulant4_check.py --replicas 262144 --seed 1 --out docs/runs/cumulant4_t0

writes summary.json (every cell) and summary.md (the table) for the cases of CASES.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

#: (problem, gammas, widths): two activations, depths 1 to 3, small widths so that the 1/N signal is large.
CASES = (("tanh4.toml", ["1/2"], [8]), ("tanh4.toml", ["1/2", "1/2"], [8, 8]),
         ("tanh4.toml", ["1/2", "1/2", "1/2"], [8, 8, 8]), ("tanh4.toml", ["7/10", "1/2"], [8, 8]),
         ("tanh4.toml", ["1/2", "1/2"], [16, 16]),
         ("sigmoid4.toml", ["1/2"], [8]), ("sigmoid4.toml", ["1/2", "1/2"], [8, 8]),
         ("sigmoid4.toml", ["1/2", "1/2", "1/2"], [8, 8, 8]), ("sigmoid4.toml", ["7/10", "9/10"], [8, 8]))


def main(argv=None) -> int:
    from asymexp.json_out import dumps
    from asymexp.numeric import load_problem
    from asymexp.numeric.initial_cumulants import initial_cumulant4
    from asymexp.validation.cumulant_check import cumulant4_check

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicas", type=int, default=2 ** 18)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for prob, gammas, widths in CASES:
        problem = load_problem(prob)
        row = cumulant4_check(problem, gammas, widths, args.replicas, args.seed)
        th = initial_cumulant4(problem.spec(gammas, widths), problem.points)
        scale = float(widths[-1]) ** (2.0 - 4.0 * float(problem.spec(gammas, widths).gammas[-1]))
        row["inner_layers"] = (th.per_layer[:, :-1].sum(axis=1) * scale).tolist()
        row["problem"] = prob
        rows.append(row)
        print(f"{prob} {gammas} {widths}: max |z| {max(abs(z) for z in row['z']):.2f}", file=sys.stderr)
    command = f"python tools/cumulant4_check.py --replicas {args.replicas} --seed {args.seed} --out DIR"
    (out / "summary.json").write_text(dumps({"command": command, "rows": rows}) + "\n")
    lines = [f"# kappa_4(g^N_0): theory against simulation\n", f"`{command}`; {args.replicas} networks per case, "
             "k4 with its delta-method SE; z = (k4 - theory) / sqrt(SE^2 + err^2); the point with the largest |z| "
             "of the problem's five (4 training points and the probe) is shown, and the point-0 values.\n",
             "| problem | gammas | widths | theory (pt 0) | err | inner layers' part | k4 (pt 0) | SE | max abs z |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['problem']} | {','.join(r['gammas'])} | {','.join(map(str, r['widths']))} | "
                     f"{r['theory'][0]:.4e} | {r['theory_error'][0]:.1e} | {r['inner_layers'][0]:.3e} | "
                     f"{r['k4'][0]:.4e} | {r['se'][0]:.1e} | {max(abs(z) for z in r['z']):.2f} |")
    lines.append(f"\nevery cell |z| <= 3.5: {all(r['holds'] for r in rows)}\n")
    (out / "summary.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
