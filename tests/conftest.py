"""Test-session settings shared by every test file.

- Hypothesis profiles: ``ci`` (the default: derandomized, so a run is reproducible and a failure reappears on
  rerun; no deadline, since Numba compiles on first call; the reproduction blob printed on failure) and ``dev``
  (randomized, 500 examples wherever a test does not set its own number), chosen with ``HYPOTHESIS_PROFILE=dev``.
- Numba threads: the thread-count tests compare 1 thread with 2, so at least two Numba threads are made
  available even on a one-core machine (``NUMBA_NUM_THREADS`` is read when Numba is first imported, hence here,
  before any test module imports it). An explicit ``NUMBA_NUM_THREADS`` is kept.
"""
import os

_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
if "NUMBA_NUM_THREADS" not in os.environ and _CORES < 2:
    os.environ["NUMBA_NUM_THREADS"] = "2"

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", derandomize=False, deadline=None, print_blob=True, max_examples=500,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
