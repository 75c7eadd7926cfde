"""The one place where asymexp's Numba kernels get their compilation flags and their on-disk cache.

Every kernel module decorates with :func:`kernel` instead of calling ``numba.njit`` itself, so a flag set has
one name and one definition here:

- ``exact`` (the default): IEEE semantics, no fast-math. The float math library (:mod:`asymexp.floatmath`) and
  everything that calls it must be compiled this way: its range reduction relies on exact rounding.
- ``fastmath="trainer"``: reassociation, contraction, reciprocal and approximate functions, no signed zeros,
  but never ``nnan``/``ninf``, so that divergence checks still see NaN and inf (the MNIST epoch kernel).
- ``fastmath="deep-step"``: reassociation, contraction, no signed zeros (the deep simulators' weight-row pass).

``inline=True`` inlines the function into its callers (Numba IR inlining); ``numpy_errors=True`` selects
NumPy's error model (division by zero gives inf/NaN instead of raising).

On-disk cache. Numba keys its cache on each function's own file, so an edit to a kernel that is compiled into
a function of another module would leave that function's stale machine code running. Here the key is instead
one hash of the sources of all kernel modules (the package's ``.py`` files that import ``kernel`` from
``asymexp.jit``) and of the package modules they import (e.g. :mod:`asymexp.kernel_codes`), found by one scan of
the package at import.
A cache locator (:class:`_Locator`, first in Numba's list) stores the kernels of those files under
``<root>/<hash>/``, root ``$NUMBA_CACHE_DIR/asymexp``, else ``$XDG_CACHE_HOME/asymexp/numba`` or
``~/.cache/asymexp/numba``; any edit gives a new hash, hence a fresh compile, and the newest few hash folders
are kept. If the root is not writable, kernels are not cached on disk (one warning line on stderr).
``python -m asymexp.jit --where`` prints the root, ``--clear`` deletes it.

A real compile (a cache miss) is announced on stderr by :mod:`asymexp.compile_notice`; that module changes no
machine code, so it is imported by name and stays out of the source hash.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import sys
import tempfile

from numba import njit
from numba.core import caching, config

FASTMATH = {
    "trainer": frozenset({"nsz", "arcp", "contract", "afn", "reassoc"}),
    "deep-step": frozenset({"reassoc", "contract", "nsz"}),
}

_PKG = os.path.dirname(os.path.realpath(__file__))     # the asymexp package folder
_TOP = os.path.dirname(_PKG)                           # file keys are relative to this ("asymexp/nn/dense.py")
_NAME = os.path.basename(_PKG)
_SELF = f"{_NAME}/jit.py"
_KEEP = 8                                              # hash folders kept under the root (newest first)
_USES_KERNEL = re.compile(rb"^[ \t]*from[ \t]+" + _NAME.encode() + rb"\.jit[ \t]+import[ \t]+[^\n]*\bkernel\b", re.M)
_IMPORT = re.compile(rf"^[ \t]*(?:from[ \t]+({_NAME}(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)"
                     rf"|import[ \t]+({_NAME}(?:\.\w+)*))", re.M)


def _imported_files(text: str) -> set[str]:
    """Package files (keys like ``asymexp/nn/dense.py``) a module's source imports, by absolute import lines."""
    mods = set()
    for frm, names, imp in _IMPORT.findall(text):
        if imp:
            mods.add(imp)
        else:
            mods.add(frm)
            mods.update(f"{frm}.{n.split()[0]}" for n in names.strip("()").split(",") if n.strip())
    return {m.replace(".", "/") + tail for m in mods for tail in (".py", "/__init__.py")}


def _scan() -> tuple[str, frozenset[str]]:
    """(hex hash, file keys) of the kernel modules and of every package module they import, transitively."""
    deps, src = {}, {}
    for folder, dirs, files in os.walk(_PKG):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                key = os.path.relpath(path, _TOP).replace(os.sep, "/")
                with open(path, "rb") as fh:
                    src[key] = fh.read()
                deps[key] = _imported_files(src[key].decode("utf-8", "replace"))
    todo = [k for k in src if _USES_KERNEL.search(src[k])] + [_SELF]
    seen: set[str] = set()
    while todo:
        k = todo.pop()
        if k in src and k not in seen:
            seen.add(k)
            todo.extend(deps[k])
    h = hashlib.sha256()
    for k in sorted(seen):
        h.update(k.encode() + b"\0" + src[k] + b"\0")
    return h.hexdigest()[:20], frozenset(seen)


def cache_root() -> str:
    """The folder that holds asymexp's kernel cache (one subfolder per source hash)."""
    if config.CACHE_DIR:
        return os.path.join(config.CACHE_DIR, _NAME)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, _NAME, "numba")


def _prepare(root: str) -> str | None:
    """Create and check ``<root>/<hash>``, prune old hash folders; None (one stderr line) if not writable."""
    folder = os.path.join(root, SOURCE_HASH)
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
        os.utime(folder)
    except OSError as e:
        print(f"asymexp: Numba kernels are not cached on disk: cannot write to {root} "
              f"({e.strerror or e}); set NUMBA_CACHE_DIR to a writable folder", file=sys.stderr)
        return None
    try:
        old = [e for e in os.scandir(root) if e.is_dir() and re.fullmatch(r"[0-9a-f]{20}", e.name)]
        old.sort(key=lambda e: e.stat().st_mtime, reverse=True)
        for e in old[_KEEP:]:
            if e.name != SOURCE_HASH:
                shutil.rmtree(e.path, ignore_errors=True)
    except OSError:
        pass
    return folder


SOURCE_HASH, KERNEL_FILES = _scan()
CACHE_FOLDER = _prepare(cache_root())   # None: no on-disk cache


def _key(py_file: str) -> str:
    return os.path.relpath(os.path.realpath(py_file), _TOP).replace(os.sep, "/")


class _Locator(caching._CacheLocator):
    """Numba cache locator for the functions of asymexp's kernel modules: ``<root>/<hash>/<package folder>``,
    source stamp the combined hash (other files: None, so Numba's own locators apply)."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._path = os.path.join(CACHE_FOLDER, *os.path.dirname(_key(py_file)).split("/"))

    def get_cache_path(self):
        return self._path

    def get_source_stamp(self):
        return SOURCE_HASH

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        if CACHE_FOLDER is None or _key(py_file) not in KERNEL_FILES:
            return None
        return cls(py_func, py_file)


_impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
_impl._locator_classes.insert(0, _Locator)
importlib.import_module(f"{_NAME}.compile_notice").install(cache_root(), CACHE_FOLDER)


def kernel(*, inline: bool = False, numpy_errors: bool = False, fastmath: str | None = None,
           parallel: bool = False):
    """A ``numba.njit`` decorator with the project's flags and on-disk cache (see the module docstring)."""
    flags = {"cache": CACHE_FOLDER is not None}
    if inline:
        flags["inline"] = "always"
    if numpy_errors:
        flags["error_model"] = "numpy"
    if fastmath is not None:
        if fastmath not in FASTMATH:
            raise ValueError(f"fastmath flag set {fastmath!r} is unknown; allowed: {', '.join(FASTMATH)}")
        flags["fastmath"] = set(FASTMATH[fastmath])
    if parallel:
        flags["parallel"] = True
    return njit(**flags)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m asymexp.jit", description="asymexp's Numba kernel cache.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--where", action="store_true", help="print the cache root folder")
    group.add_argument("--clear", action="store_true", help="delete the cache root folder (every source hash)")
    args = parser.parse_args()
    if args.clear:
        shutil.rmtree(cache_root(), ignore_errors=True)
        print(f"removed {cache_root()}")
    else:
        print(cache_root())
