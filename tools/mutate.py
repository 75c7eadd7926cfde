"""Mutation testing of asymexp's numeric core (``make mutate``; docs/architecture.md, testing).

One mutant = one change of one constant or operator in one module of :mod:`mutate_scope` (what a typo or a wrong
factor does). Each is written into a scratch copy of the repository, never the working tree, and that module's
matching tests run there (``pytest -x``): *killed* when they fail or time out, *survived* when they pass. The kill
rate per module is printed with its 95% Wilson interval (with ``--sample``, an estimate of the rate of all).

Operators: a number c -> c + 1 (int) or 2c (float; 0.0 -> 1.0); True <-> False; + <-> -, * <-> /, ** -> *,
// -> /, % -> *; < <-> <=, > <-> >=, == <-> !=; and <-> or; unary minus and ``not`` dropped; argmax <-> argmin,
max <-> min, sum -> mean, sqrt/exp/log dropped. Not mutated: strings and docstrings, ``raise``/``assert`` and the
``if`` that only guards a ``raise``, decorators, annotations, lines marked ``# pragma: no mutate``.

Why a runner of our own (about 300 lines) and not mutmut or cosmic-ray: mutmut 3 rewrites every function into a
trampoline that dispatches to mutants at run time, which Numba cannot compile (the kernels, the trainer's loss
and accuracy), and it maps tests to functions by running the whole suite first; cosmic-ray mutates the files of
the working tree in place (restoring them afterwards), keeps a session database, and runs one test command for
every module. Here each module has its own short test list, the copy is never the working tree, and kernel
modules (asymexp.jit.KERNEL_FILES) run their tests with ``NUMBA_DISABLE_JIT=1`` instead of recompiling every
mutant (minutes each); the other modules share one kernel cache in the scratch folder, seeded from the user's.
Test runs fork from a process that has imported NumPy, SciPy, Numba and SymPy once (20 s saved per mutant on a
loaded machine). Results are appended to ``<scratch>/results.jsonl``; ``--resume`` skips those already there.

Usage::

    python tools/mutate.py                       # every module, every mutant (hours)
    python tools/mutate.py --sample 20 --seed 1  # at most 20 random mutants per module
    python tools/mutate.py --only stats/estimators.py --list
"""
from __future__ import annotations

import argparse
import ast
import importlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from mutate_scope import SCOPE  # noqa: E402  (tools/ is this script's folder)

_BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
           ast.FloorDiv: ast.Div, ast.Mod: ast.Mult}
_CMPOPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
_AUG_TEXT = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/="}
_AUG = {ast.Add: "-=", ast.Sub: "+=", ast.Mult: "/=", ast.Div: "*="}
_NAMES = {"argmax": "argmin", "argmin": "argmax", "max": "min", "min": "max", "sum": "mean", "amax": "amin",
          "amin": "amax", "maximum": "minimum", "minimum": "maximum"}
_DROP_CALLS = {"sqrt", "exp", "log"}


def _wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion k / n."""
    if n == 0:
        return 0.0, 1.0
    z, p = 1.959964, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _skipped_lines(tree: ast.AST, source: str) -> set[int]:
    """Lines never mutated: docstrings, raise/assert statements, guards whose body only raises, decorators,
    annotations, ``# pragma: no mutate``."""
    skip = {i + 1 for i, line in enumerate(source.splitlines()) if "pragma: no mutate" in line}

    def span(node):
        return range(node.lineno, (node.end_lineno or node.lineno) + 1)

    for node in ast.walk(tree):
        if isinstance(node, (ast.Raise, ast.Assert)):
            skip.update(span(node))
        elif isinstance(node, ast.If) and all(isinstance(s, ast.Raise) for s in node.body) and not node.orelse:
            skip.update(span(node))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            for d in node.decorator_list:
                skip.update(span(d))
            if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
                skip.update(span(node.body[0]))
        elif isinstance(node, ast.AnnAssign):
            skip.update(span(node.annotation))
        elif isinstance(node, ast.arg) and node.annotation is not None:
            skip.update(span(node.annotation))
    return skip


def _in_scope(tree: ast.Module, functions) -> list[ast.AST]:
    if functions is None:
        return [tree]
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in functions]



def find_mutants(path: Path, functions=None) -> list[dict]:
    """All mutants of one file: dicts with line, col, end_line, end_col (the replaced source span), the new
    text, and a description ``old -> new``."""
    source = path.read_text()
    tree = ast.parse(source)
    skip = _skipped_lines(tree, source)
    lines = source.splitlines(keepends=True)
    out, seen = [], set()

    def add(node, text, what):
        if node.lineno in skip or (node.lineno, node.col_offset, text) in seen:
            return
        seen.add((node.lineno, node.col_offset, text))
        out.append({"line": node.lineno, "col": node.col_offset, "end_line": node.end_lineno,
                    "end_col": node.end_col_offset, "text": text, "what": what})

    for root in _in_scope(tree, functions):
        for node in ast.walk(root):
            if isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
                v = node.value
                if isinstance(v, bool):
                    new = repr(not v)
                elif isinstance(v, int):
                    new = repr(v + 1)
                else:
                    new = repr(2 * v if v != 0 else 1.0)
                add(node, f"({new})", f"{v!r} -> {new}")
            elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
                m = ast.BinOp(node.left, _BINOPS[type(node.op)](), node.right)
                add(node, f"({ast.unparse(m)})", f"{ast.unparse(node)} -> {ast.unparse(m)}")
            elif isinstance(node, ast.Compare):
                for i, op in enumerate(node.ops):
                    if type(op) in _CMPOPS:
                        ops = list(node.ops)
                        ops[i] = _CMPOPS[type(op)]()
                        m = ast.Compare(node.left, ops, node.comparators)
                        add(node, f"({ast.unparse(m)})", f"{ast.unparse(node)} -> {ast.unparse(m)}")
            elif isinstance(node, ast.BoolOp):
                m = ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
                add(node, f"({ast.unparse(m)})", f"{ast.unparse(node)} -> {ast.unparse(m)}")
            elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
                add(node, f"({ast.unparse(node.operand)})", f"{ast.unparse(node)} -> {ast.unparse(node.operand)}")
            elif isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if name in _NAMES:
                    func = (ast.Attribute(node.func.value, _NAMES[name]) if isinstance(node.func, ast.Attribute)
                            else ast.Name(_NAMES[name]))
                    m = ast.Call(func, node.args, node.keywords)
                    add(node, f"({ast.unparse(m)})", f"{name}(...) -> {_NAMES[name]}(...)")
                elif name in _DROP_CALLS and len(node.args) == 1 and not node.keywords:
                    add(node, f"({ast.unparse(node.args[0])})", f"{name}(x) -> x")
            elif isinstance(node, ast.AugAssign) and type(node.op) in _AUG:
                # replace only the operator token between the target and the value
                ln, old_op, new_op = node.target.end_lineno, _AUG_TEXT[type(node.op)], _AUG[type(node.op)]
                col = lines[ln - 1].find(old_op, node.target.end_col_offset)
                if col >= 0 and ln not in skip and (ln, col, new_op) not in seen:
                    seen.add((ln, col, new_op))
                    out.append({"line": ln, "col": col, "end_line": ln, "end_col": col + 2, "text": new_op,
                                "what": f"{old_op} -> {new_op}"})
    out.sort(key=lambda m: (m["line"], m["col"], m["text"]))
    return out


def span_text(source: str, m: dict) -> str:
    """The source text that mutant ``m`` replaces."""
    b = source.encode()
    starts = [0] + [i + 1 for i, ch in enumerate(b) if ch == 10]
    return b[starts[m["line"] - 1] + m["col"]:starts[m["end_line"] - 1] + m["end_col"]].decode()


def apply(source: str, m: dict) -> str:
    """``source`` with the span of mutant ``m`` replaced by its text (columns are UTF-8 byte offsets)."""
    lines = source.splitlines(keepends=True)
    first = lines[m["line"] - 1].encode()
    last = lines[m["end_line"] - 1].encode()
    new = first[:m["col"]].decode() + m["text"] + last[m["end_col"]:].decode()
    return "".join(lines[:m["line"] - 1]) + new + "".join(lines[m["end_line"]:])


def _env(copy: Path, jit_off: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(copy), NUMBA_CACHE_DIR=str(copy.parent / "numba-cache"),
               PYTHONDONTWRITEBYTECODE="1", HYPOTHESIS_PROFILE="ci")
    if jit_off:
        env["NUMBA_DISABLE_JIT"] = "1"
    return env


_PRELOADED = False


def preload(copy: Path) -> None:
    """Import the heavy libraries once in this process, so that forked test runs skip them (20 s each on a
    loaded machine). asymexp itself is never imported here: each child imports the mutated copy."""
    global _PRELOADED
    os.environ.update(_env(copy, False))
    for name in ("hypothesis", "matplotlib", "numba", "numpy", "pytest", "scipy.linalg", "scipy.stats", "sympy"):
        importlib.import_module(name)
    _PRELOADED = True


def _forked_pytest(copy: Path, tests, timeout: float) -> str:
    import pytest

    pid = os.fork()
    if pid == 0:                                             # child: run pytest on the copy, exit with its code
        code = 3
        try:
            os.chdir(copy)
            sys.path.insert(0, str(copy))
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            import asymexp
            if not asymexp.__file__.startswith(str(copy)):
                os._exit(4)                                  # the copy must be the package under test
            code = int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", *[f"tests/{t}" for t in tests]]))
        finally:
            os._exit(code)
    end = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            if code == 4:
                raise RuntimeError(f"the forked test run did not import asymexp from {copy}")
            return "passed" if code == 0 else "failed"
        if time.monotonic() > end:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.2)


def run_tests(copy: Path, tests, jit_off: bool, timeout: float) -> tuple[str, float]:
    """('passed' | 'failed' | 'timeout', seconds) of pytest -x over ``tests`` in the copy: forked from this
    process when the libraries are preloaded and the JIT stays on, else a fresh interpreter."""
    t0 = time.perf_counter()
    if _PRELOADED and not jit_off:
        return _forked_pytest(copy, tests, timeout), time.perf_counter() - t0
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *[f"tests/{t}" for t in tests]]
    try:
        proc = subprocess.run(cmd, cwd=copy, env=_env(copy, jit_off), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - t0
    return ("passed" if proc.returncode == 0 else "failed"), time.perf_counter() - t0


def make_copy(scratch: Path) -> Path:
    """A fresh copy of the repository (no .git, .venv, caches) at ``<scratch>/repo``."""
    copy = scratch / "repo"
    if copy.exists():
        shutil.rmtree(copy)
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.nbi", "*.nbc", ".hypothesis",
                                    ".pytest_cache", "demo-output")
    shutil.copytree(ROOT, copy, ignore=ignore)
    return copy


def _seed_kernel_cache(copy: Path) -> frozenset[str]:
    """Copy the user's compiled kernels for the copy's source hash (if any) into the scratch cache, so that the
    baseline run does not recompile what ``make test`` compiled; return the kernel files (asymexp.jit.KERNEL_FILES:
    the files whose mutation changes that hash)."""
    env = _env(copy, False)
    probe = subprocess.run([sys.executable, "-c", "import asymexp.jit as j; print(j.SOURCE_HASH, *j.KERNEL_FILES)"],
                           cwd=copy, env=env, capture_output=True, text=True, check=True)
    h, *files = probe.stdout.split()
    # the user's cache root as asymexp.jit.cache_root() finds it (not imported with the user's settings: that
    # would create and prune hash folders in the user's cache)
    if os.environ.get("NUMBA_CACHE_DIR"):
        user_root = Path(os.environ["NUMBA_CACHE_DIR"]) / "asymexp"
    else:
        user_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "asymexp" / "numba"
    src, dst = user_root / h, Path(env["NUMBA_CACHE_DIR"]) / "asymexp" / h
    if src.is_dir() and src != dst:
        shutil.copytree(src, dst, dirs_exist_ok=True)
    return frozenset(files)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tools/mutate.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", default=[], help="module under asymexp/ (repeatable); default all")
    ap.add_argument("--sample", type=int, default=0, help="at most this many random mutants per module (0: all)")
    ap.add_argument("--seed", type=int, default=0, help="seed of --sample (default 0)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant before it counts as killed")
    ap.add_argument("--scratch", default=os.path.join(tempfile.gettempdir(), "asymexp-mutate"),
                    help="scratch folder, outside the repository (default: <tmp>/asymexp-mutate)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--resume", action="store_true", help="skip mutants already in <scratch>/results.jsonl")
    ap.add_argument("--retest", action="store_true",
                    help="run the survivors of <scratch>/results.jsonl again against the current tests")
    args = ap.parse_args(argv)
    unknown = [m for m in args.only if m not in SCOPE]
    if unknown:
        print(f"mutate: --only {', '.join(unknown)} is not in the scope; allowed: {', '.join(SCOPE)}",
              file=sys.stderr)
        return 2
    modules = args.only or list(SCOPE)
    plan = {}
    for mod in modules:
        tests, functions = SCOPE[mod]
        muts = find_mutants(ROOT / "asymexp" / mod, functions)
        if args.sample and len(muts) > args.sample:
            muts = sorted(random.Random(f"{args.seed}:{mod}").sample(muts, args.sample),
                          key=lambda m: (m["line"], m["col"]))
        plan[mod] = (tests, muts)
    if args.list:
        for mod, (tests, muts) in plan.items():
            print(f"{mod}: {len(muts)} mutants; tests {', '.join(tests)}")
            for m in muts:
                print(f"  {mod}:{m['line']}  {m['what']}")
        return 0
    scratch = Path(args.scratch).resolve()
    if scratch == ROOT or ROOT in scratch.parents:
        print(f"mutate: --scratch {scratch} is inside the repository; a folder outside it is required",
              file=sys.stderr)
        return 2
    scratch.mkdir(parents=True, exist_ok=True)
    results_path = scratch / "results.jsonl"
    done, again = set(), []
    if args.retest:
        old = [json.loads(line) for line in results_path.open()] if results_path.exists() else []
        keep = [r for r in old if r["outcome"] != "passed" or r["module"] not in plan]
        again = [r for r in old if r["outcome"] == "passed" and r["module"] in plan]
        keys = ("line", "col", "end_line", "end_col", "text", "what", "old")
        plan = {mod: (SCOPE[mod][0], [{k: r.get(k) for k in keys} for r in again if r["module"] == mod])
                for mod in plan}
        results_path.write_text("".join(json.dumps(r) + "\n" for r in keep))
    elif args.resume and results_path.exists():
        done = {(r["module"], r["line"], r["col"], r["text"]) for r in map(json.loads, results_path.open())}
    elif results_path.exists():
        results_path.unlink()
    copy = make_copy(scratch)
    kernel_files = _seed_kernel_cache(copy)
    preload(copy)
    with results_path.open("a") as log:
        for mod, (tests, muts) in plan.items():
            if not muts:
                continue
            target = copy / "asymexp" / mod
            original = target.read_text()
            jit_off = f"asymexp/{mod}" in kernel_files
            base, secs = run_tests(copy, tests, jit_off, args.timeout)
            if base != "passed":
                why = " with NUMBA_DISABLE_JIT=1 (Numba intrinsics cannot run uncompiled)" if jit_off else ""
                print(f"{mod}: the unmutated tests {base}{why} ({secs:.0f} s); module skipped", flush=True)
                log.writelines(json.dumps(r) + "\n" for r in again if r["module"] == mod)   # kept as they were
                continue
            print(f"{mod}: {len(muts)} mutants, baseline {secs:.0f} s{' (NUMBA_DISABLE_JIT=1)' if jit_off else ''}",
                  flush=True)
            for m in muts:
                if (mod, m["line"], m["col"], m["text"]) in done:
                    continue
                if m.get("old") is not None and span_text(original, m) != m["old"]:
                    print(f"  {mod}:{m['line']}  {m['what']}: the source changed there; not retested", flush=True)
                    continue
                m = {**m, "old": span_text(original, m)}
                mutated = apply(original, m)
                try:
                    ast.parse(mutated)
                except SyntaxError:
                    continue
                target.write_text(mutated)
                try:
                    outcome, secs = run_tests(copy, tests, jit_off, args.timeout)
                finally:
                    target.write_text(original)
                rec = {"module": mod, **m, "outcome": outcome, "seconds": round(secs, 1)}
                log.write(json.dumps(rec) + "\n")
                log.flush()
                mark = "survived" if outcome == "passed" else ("killed (timeout)" if outcome == "timeout" else "killed")
                print(f"  {mod}:{m['line']}  {m['what']}: {mark} ({secs:.0f} s)", flush=True)
    report(results_path)
    return 0


def report(results_path: Path) -> None:
    """Per-module kill rates (95% Wilson interval) and the survivors, from a results file."""
    rows: dict[str, list[dict]] = {}
    for rec in map(json.loads, results_path.open()):
        rows.setdefault(rec["module"], []).append(rec)
    total_k = total_n = 0
    print("\nmodule                              killed/mutants  kill rate  (95% interval)")
    for mod, recs in rows.items():
        k = sum(r["outcome"] != "passed" for r in recs)
        lo, hi = _wilson(k, len(recs))
        total_k, total_n = total_k + k, total_n + len(recs)
        print(f"{mod:36s}{k:6d}/{len(recs):<8d}  {k / len(recs):8.1%}  ({lo:.1%} .. {hi:.1%})")
    lo, hi = _wilson(total_k, total_n)
    if total_n:
        print(f"{'all':36s}{total_k:6d}/{total_n:<8d}  {total_k / total_n:8.1%}  ({lo:.1%} .. {hi:.1%})")
    surv = [r for recs in rows.values() for r in recs if r["outcome"] == "passed"]
    if surv:
        print("\nsurvivors:")
        for r in surv:
            print(f"  asymexp/{r['module']}:{r['line']}  {r['what']}")


if __name__ == "__main__":
    sys.exit(main())
