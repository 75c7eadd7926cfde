"""The kernels' on-disk cache (asymexp.jit) is keyed on every kernel module's source: an edit to a kernel that is
compiled into a function of another module must never leave the old machine code running.

Each check runs fresh processes on a copy of the package, with NUMBA_CACHE_DIR in a temporary folder.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import asymexp

PACKAGE = Path(asymexp.__file__).resolve().parent

# A small driver in its own module: floatmath.tanh is inlined into it (Numba IR inlining).
PROBE = '''\
from asymexp.floatmath import tanh
from asymexp.jit import kernel


@kernel()
def probe(x):
    return tanh(x)
'''

RUN = '''\
import json, asymexp
from asymexp import _cache_probe as P
value = P.probe(0.5)
st = P.probe.stats
print(json.dumps({"file": asymexp.__file__, "value": value,
                  "hits": sum(st.cache_hits.values()), "misses": sum(st.cache_misses.values())}))
'''


def _copy_package(dst: Path) -> Path:
    """Copy the package (no __pycache__, no Numba cache files) under dst and add the probe module."""
    pkg = dst / "asymexp"
    shutil.copytree(PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    (pkg / "_cache_probe.py").write_text(PROBE)
    return pkg


def _env(top: Path, cache: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(top), NUMBA_CACHE_DIR=str(cache))
    env.pop("NUMBA_DISABLE_JIT", None)
    return env


def _run(top: Path, cache: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", RUN], env=_env(top, cache), cwd=top,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(result["file"]).resolve().parent == (top / "asymexp").resolve(), result["file"]
    return result


def _double_tanh(pkg: Path) -> None:
    """Edit floatmath.tanh in the copy so that it returns twice its value."""
    path = pkg / "floatmath.py"
    src = path.read_text()
    m = re.search(r"^def tanh\(.*?^(    return ([^\n]+))$", src, re.S | re.M)
    assert m, "floatmath.tanh's return line not found"
    path.write_text(src[:m.start(1)] + f"    return 2.0 * ({m.group(2)})" + src[m.end(1):])


def test_edit_of_inlined_kernel_recompiles_callers(tmp_path):
    top, cache = tmp_path / "src", tmp_path / "cache"
    pkg = _copy_package(top)

    first = _run(top, cache)
    assert math.isclose(first["value"], math.tanh(0.5), rel_tol=1e-14)
    assert first["misses"] == 1

    _double_tanh(pkg)
    second = _run(top, cache)
    assert second["value"] == 2.0 * first["value"], "stale machine code ran after editing floatmath.tanh"
    assert second["misses"] == 1
    root = cache / "asymexp"
    assert list(root.rglob("*.nbi")) and list(root.rglob("*.nbc"))
    assert len([d for d in root.iterdir() if d.is_dir()]) == 2      # one folder per source hash

    third = _run(top, cache)
    assert third["value"] == second["value"]
    assert third["hits"] == 1 and third["misses"] == 0               # reused from the on-disk cache


def test_unwritable_root_falls_back_with_one_warning(tmp_path):
    top = tmp_path / "src"
    _copy_package(top)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    proc = subprocess.run([sys.executable, "-c", RUN], env=_env(top, blocker), cwd=top,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert math.isclose(json.loads(proc.stdout)["value"], math.tanh(0.5), rel_tol=1e-14)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    warnings = [ln for ln in lines if not ln.startswith("asymexp: compil")]   # compile notices are progress
    assert len(warnings) == 1 and "NUMBA_CACHE_DIR" in warnings[0] and str(blocker) in warnings[0], proc.stderr
    assert any("no disk cache" in ln for ln in lines), proc.stderr         # the notice says it compiles every run

    where = subprocess.run([sys.executable, "-m", "asymexp.jit", "--where"], env=_env(top, tmp_path / "c"),
                           cwd=top, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0 and where.stdout.strip() == str(tmp_path / "c" / "asymexp")
