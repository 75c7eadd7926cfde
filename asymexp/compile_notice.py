"""Say on stderr when asymexp's Numba kernels are being compiled (a cold cache), and never when they load from it.

Numba compiles a kernel on its first call unless the on-disk cache (:mod:`asymexp.jit`) already holds it; that
first compile of a workload's kernels takes minutes and used to look like a hang. :func:`install` registers a
listener for Numba's ``numba:compile`` event, which fires only on a real compile (a cache miss), never on a cache
load. On the first compile of an asymexp kernel in a process it prints::

    asymexp: compiling Numba kernels (first run only, up to about 120 s; estimate from a 2-core machine) ...

after each outermost kernel compile one progress line (``asymexp: compiled asymexp.sim.engine.run (41 s);
3 kernels, 63 s so far``), and while one compiles, a line every :data:`HEARTBEAT_S` seconds (``asymexp: still
compiling asymexp.mnist.epoch_kernel.evaluate (20 s; 1 kernel done)``), so that no compile is silent for long. The estimate is an upper one: the larger of :data:`DEFAULT_SECONDS` (measured on a
2-core machine, ``benchmarks/bench_cold_start.py``) and the longest compile time of a cold process so far,
recorded in ``<cache root>/compile-seconds.json`` (kept across source hashes).
``asymexp warmup`` compiles a workload's kernels ahead of time (docs/interfaces.md).

This module changes no machine code, so :mod:`asymexp.jit` imports it by name and it is not part of the kernel
source hash: editing it never forces a recompile.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time

HEARTBEAT_S = 10.0           # during a compile, a line at least this often (seconds)
DEFAULT_SECONDS = 120        # CPU seconds of the costliest single-process cold compile of one workload (MNIST, deep), 2-core machine
RECORD = "compile-seconds.json"
_PREFIX = __name__.split(".")[0] + "."


class _State:
    """Per-process bookkeeping: nesting depth, first-compile flag, totals (seconds, kernels)."""

    def __init__(self, root: str, cached: bool):
        self.root, self.cached = root, cached
        self.lock = threading.Lock()
        self.depth = 0
        self.started = 0.0
        self.announced = False
        self.kernels = 0
        self.seconds = 0.0
        self.times: dict[str, float] = {}
        self.current = ""           # the outermost kernel being compiled
        self.last_said = 0.0        # perf_counter of the last line printed
        self.heartbeat: threading.Thread | None = None


_STATE: _State | None = None


def _recorded(root: str) -> float | None:
    """The longest cold-process compile total recorded under ``root`` (seconds), None when there is none."""
    try:
        with open(os.path.join(root, RECORD)) as fh:
            total = float(json.load(fh)["seconds"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return total if total == total and total > 0 else None


def estimate_seconds(root: str) -> tuple[float, str]:
    """(seconds, source): an upper estimate of a cold compile, the larger of :data:`DEFAULT_SECONDS` and the
    longest cold process recorded under ``root``; source names where the figure comes from."""
    seen = _recorded(root)
    if seen is not None and seen > DEFAULT_SECONDS:
        return seen, "earlier cold runs"
    return float(DEFAULT_SECONDS), "a 2-core machine"


def _say(text: str) -> None:
    lead = "\r" if sys.stderr.isatty() else ""        # start a fresh line over a progress bar
    sys.stderr.write(f"{lead}asymexp: {text}\n")
    sys.stderr.flush()
    if _STATE is not None:
        _STATE.last_said = time.perf_counter()


def _beat(state: _State) -> None:
    """While a kernel compiles, say so every :data:`HEARTBEAT_S` seconds (Numba's compile releases the GIL in
    LLVM, so this thread gets to run); daemon thread, started with the first compile of the process."""
    while True:
        time.sleep(HEARTBEAT_S / 4)
        with state.lock:
            now = time.perf_counter()
            if state.depth > 0 and now - state.last_said >= HEARTBEAT_S:
                _say(f"still compiling {state.current} ({now - state.started:.0f} s; "
                     f"{state.kernels} kernel{'s' * (state.kernels != 1)} done)")


def _record(state: _State) -> None:
    """Keep the longest cold-process compile total in the record file (best effort: no disk cache, no record)."""
    if not state.cached:
        return
    path = os.path.join(state.root, RECORD)
    seen = _recorded(state.root)
    if seen is not None and seen >= state.seconds:
        return
    try:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as fh:
            json.dump({"seconds": round(state.seconds, 1), "kernels": state.kernels,
                       "names": sorted(state.times)}, fh, indent=0)
        os.replace(tmp, path)
    except OSError:
        pass


def _name(event) -> str | None:
    """``module.qualname`` of the dispatcher being compiled, or None when it is not one of asymexp's kernels."""
    func = getattr(event.data.get("dispatcher"), "py_func", None)
    module = getattr(func, "__module__", "") or ""
    if not module.startswith(_PREFIX):
        return None
    return f"{module}.{func.__qualname__}"


def _listener_class():
    from numba.core import event

    class Listener(event.Listener):
        """Announces the first compile and reports each outermost asymexp kernel compile."""

        def on_start(self, ev):
            state = _STATE
            if state is None or _name(ev) is None:
                return
            with state.lock:
                state.depth += 1
                if state.depth > 1:
                    return
                state.started = time.perf_counter()
                state.current = _name(ev)
                if state.heartbeat is None:
                    state.heartbeat = threading.Thread(target=_beat, args=(state,), name="asymexp-compile-notice",
                                                       daemon=True)
                    state.heartbeat.start()
                if not state.announced:
                    state.announced = True
                    seconds, source = estimate_seconds(state.root)
                    where = "first run only" if state.cached else "no disk cache: every run"
                    _say(f"compiling Numba kernels ({where}, up to about {seconds:.0f} s; estimate from "
                         f"{source}) ...")

        def on_end(self, ev):
            state = _STATE
            name = _name(ev)
            if state is None or name is None:
                return
            with state.lock:
                state.depth -= 1
                if state.depth > 0:
                    return
                took = time.perf_counter() - state.started
                state.kernels += 1
                state.seconds += took
                state.times[name] = took
                _say(f"compiled {name} ({took:.0f} s); {state.kernels} kernel{'s' * (state.kernels > 1)}, "
                     f"{state.seconds:.0f} s so far")
                _record(state)

    return Listener


def install(root: str, cache_folder: str | None) -> None:
    """Register the compile listener once per process. ``root``: the kernel cache root (records live there);
    ``cache_folder``: the current source hash's folder, None when kernels are not cached on disk."""
    global _STATE
    if _STATE is not None:
        return
    from numba.core import event

    _STATE = _State(root, cache_folder is not None)
    event.register("numba:compile", _listener_class()())


def compiled() -> tuple[int, float]:
    """(outermost kernels compiled, seconds spent) in this process so far; (0, 0.0) before :func:`install`."""
    return (0, 0.0) if _STATE is None else (_STATE.kernels, _STATE.seconds)
