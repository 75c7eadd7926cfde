"""The cold-compile notice (asymexp.compile_notice): said on stderr before the first compile when the kernel cache
is empty, with one line per compiled kernel, and never said when every kernel loads from the cache.

Fresh processes on a temporary NUMBA_CACHE_DIR run one small kernel (floatmath.tanh, about a second to compile).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from asymexp import compile_notice

RUN = "from asymexp.floatmath import tanh; print(repr(tanh(0.5)))"
NOTICE = "asymexp: compiling Numba kernels (first run only, up to about "


def _run(cache) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    env.pop("NUMBA_DISABLE_JIT", None)
    proc = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_notice_on_a_cold_cache_only(tmp_path):
    cold = _run(tmp_path)
    lines = cold.stderr.splitlines()
    assert lines[0].startswith(NOTICE), cold.stderr
    assert any(line.startswith("asymexp: compiled asymexp.floatmath.tanh (") for line in lines[1:]), cold.stderr
    record = json.loads((tmp_path / "asymexp" / compile_notice.RECORD).read_text())
    assert record["kernels"] == 1 and record["names"] == ["asymexp.floatmath.tanh"]

    warm = _run(tmp_path)
    assert "asymexp:" not in warm.stderr, warm.stderr
    assert warm.stdout == cold.stdout


def test_estimate_is_the_default_or_a_longer_recorded_run(tmp_path):
    assert compile_notice.estimate_seconds(str(tmp_path)) == (compile_notice.DEFAULT_SECONDS, "a 2-core machine")
    record = tmp_path / compile_notice.RECORD
    record.write_text(json.dumps({"seconds": compile_notice.DEFAULT_SECONDS / 10}))
    assert compile_notice.estimate_seconds(str(tmp_path))[0] == compile_notice.DEFAULT_SECONDS
    record.write_text(json.dumps({"seconds": compile_notice.DEFAULT_SECONDS * 3}))
    assert compile_notice.estimate_seconds(str(tmp_path)) == (compile_notice.DEFAULT_SECONDS * 3, "earlier cold runs")
    record.write_text("{not json")
    assert compile_notice.estimate_seconds(str(tmp_path))[0] == compile_notice.DEFAULT_SECONDS


def test_a_long_compile_says_so_every_heartbeat(tmp_path):
    """A compile that lasts several heartbeats prints a 'still compiling' line for each (here 0.2 s heartbeats
    over a 1.1 s compile, driven through Numba's event API with a fake asymexp dispatcher)."""
    code = (
        "import time\n"
        "from types import SimpleNamespace\n"
        "from numba.core import event\n"
        "from asymexp import compile_notice as cn\n"
        "cn.HEARTBEAT_S = 0.2\n"
        "cn._STATE = None\n"
        f"cn.install({str(tmp_path)!r}, None)\n"
        "def f(): pass\n"
        "f.__module__ = 'asymexp.fake'\n"
        "d = SimpleNamespace(py_func=f)\n"
        "with event.trigger_event('numba:compile', data={'dispatcher': d, 'args': (), 'return_type': None}):\n"
        "    time.sleep(1.1)\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    beats = [line for line in proc.stderr.splitlines() if line.startswith("asymexp: still compiling asymexp.fake.f (")]
    assert 3 <= len(beats) <= 6, proc.stderr        # 1.1 s / 0.2 s, less the first beat's wait, give or take one
    assert proc.stderr.splitlines()[-1].startswith("asymexp: compiled asymexp.fake.f ("), proc.stderr
