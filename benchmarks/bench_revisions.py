"""Benchmark: this checkout against an earlier revision, in one run, on the workloads of bench_sim, bench_mnist and
bench_fim (a refactoring must not make them slower).

Checks the earlier revision out into a temporary git worktree, then runs each revision's own benchmark scripts
in turn (earlier, this, earlier, this, ...; ``--rounds`` pairs), each in a fresh process with that revision's
package first on the path, and reads the project-side figures they print:

- bench_sim --quick: the Numba simulator's seconds (shallow N = 1024, GD to t = 1; deep L = 3);
- bench_fim: the seconds of Theta layer by layer (relu, L = 3, M = T = 512);
- bench_mnist --quick: CPU seconds per training epoch (best of its epochs) of the paper's configuration and of
  the one that learns, and the grid's fast path in CPU seconds per epoch.

Prints, per figure, the median of each revision and the median, min and max of the paired ratio this / earlier
(a ratio above 1 is a slowdown). The kernels are compiled before the first timed round (each script's own
warm-up and a discarded first pair). Usage::

    python benchmarks/bench_revisions.py [--base REV] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (script, arguments, [(figure name, regular expression of the seconds, which match)])
WORKLOADS = [
    ("bench_sim.py", ["--quick"], [("sim shallow (s)", r"\[shallow[^\]]*\] numba ([\d.]+) s", 0),
                                   ("sim deep (s)", r"\[deep[^\]]*\] numba ([\d.]+) s", 0)]),
    ("bench_fim.py", [], [("fim Theta (s)", r"project\s+Theta layer by layer:\s+([\d.]+) s", 0)]),
    ("bench_mnist.py", ["--quick"], [("mnist paper epoch (CPU s)", r"asymexp_cpu_s_per_epoch_best\s+([\d.]+)", 0),
                                     ("mnist learns epoch (CPU s)", r"asymexp_cpu_s_per_epoch_best\s+([\d.]+)", 1),
                                     ("mnist grid fast path (CPU s/epoch)", r"fast:\s+([\d.]+) s CPU per epoch",
                                      0)]),
]


def _run(tree: Path, script: str, args: list[str]) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run([sys.executable, str(tree / "benchmarks" / script), *args], env=env, cwd=tree,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_revisions: {script} failed in {tree}:\n{done.stderr[-2000:]}")
    return done.stdout


def _figures(tree: Path) -> dict[str, float]:
    out = {}
    for script, args, figures in WORKLOADS:
        text = _run(tree, script, args)
        for name, pattern, which in figures:
            found = re.findall(pattern, text)
            if len(found) <= which:
                raise SystemExit(f"bench_revisions: {name!r} not found in the output of {script} in {tree}")
            out[name] = float(found[which])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="HEAD", help="the earlier revision (a commit, tag or branch; default HEAD: "
                        "the working tree against its last commit)")
    parser.add_argument("--rounds", type=int, default=3, help="timed pairs (default 3; one more is discarded)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds} is not allowed; an integer >= 1 is required")
    with tempfile.TemporaryDirectory(prefix="asymexp-base-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.base],
                       check=True)
        try:
            pairs = []
            for r in range(args.rounds + 1):
                print(f"round {r} of {args.rounds}{' (warm-up, discarded)' if r == 0 else ''}", file=sys.stderr,
                      flush=True)
                pair = (_figures(base), _figures(ROOT))
                if r:
                    pairs.append(pair)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    print(f"this checkout against {args.base}, {args.rounds} paired rounds (ratio this / earlier; > 1 is slower)")
    print(f"  {'figure':38s} {'earlier':>9s} {'this':>9s} {'ratio median [min, max]':>26s}")
    for name in pairs[0][0]:
        before = [p[0][name] for p in pairs]
        after = [p[1][name] for p in pairs]
        ratios = [a / b for a, b in zip(after, before)]
        print(f"  {name:38s} {statistics.median(before):9.4f} {statistics.median(after):9.4f} "
              f"{statistics.median(ratios):10.3f} [{min(ratios):.3f}, {max(ratios):.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
