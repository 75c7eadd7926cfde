"""The code version that result caches key on: a hash of every source file of the installed package.

A cached result (a simulation chunk on disk, a theory or c/N value in memory) is reused only when everything
that determines it is equal, the code included; after any edit of the package the hash changes and the cache
misses, so a result computed before a fix is never served after it.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hex digest (16 characters) of the package's .py and .toml sources, in path order."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".toml") and "__pycache__" not in p.parts):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def problem_key(problem) -> tuple:
    """Everything about a :class:`~asymexp.inputs.problems.Problem` that determines a theory result."""
    return (problem.activation, float(problem.alpha), str(problem.c_law), str(problem.w_law),
            problem.x.tobytes(), problem.y.tobytes(), problem.probe.tobytes(), problem.x.shape, problem.probe.shape)
