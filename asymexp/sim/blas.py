"""Keep BLAS single-threaded while Numba's prange runs many small products in parallel.

The shared core calls ``np.dot`` per replica; inside a parallel region, a multi-threaded OpenBLAS oversubscribes
the cores (measured: a depth-2, N = 512 network took 24 s per replica instead of 0.7 s on 2 cores). This finds the
OpenBLAS libraries loaded in the process (NumPy's and SciPy's, the latter being what Numba's ``np.dot`` uses) and
sets their thread count to 1 for the duration, then restores it; a no-op where none is found.
"""
from __future__ import annotations

import ctypes
from contextlib import contextmanager

_SUFFIXES = ("", "64_")
_PREFIXES = ("openblas", "scipy_openblas")


def _openblas_handles() -> list[tuple]:
    paths = set()
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1] if "/" in line else ""
                if "openblas" in path.lower() and ".so" in path:
                    paths.add(path)
    except OSError:
        return []
    out = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for pre in _PREFIXES:
            for suf in _SUFFIXES:
                setter, getter = f"{pre}_set_num_threads{suf}", f"{pre}_get_num_threads{suf}"
                if hasattr(lib, setter) and hasattr(lib, getter):
                    out.append((getattr(lib, setter), getattr(lib, getter)))
    return out


@contextmanager
def single_threaded_blas():
    """Context manager: OpenBLAS on one thread inside, the previous setting restored after."""
    handles = _openblas_handles()
    saved = []
    for setter, getter in handles:
        saved.append((setter, int(getter())))
        setter(1)
    try:
        yield
    finally:
        for setter, n in saved:
            setter(n)
