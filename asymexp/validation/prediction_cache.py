"""Where the shallow validation's prediction (:mod:`asymexp.validation.prediction`) is kept between runs, and how
its progress is told (docs/validation.md, "Predictions").

The prediction's width-independent and width-dependent numbers (everything but the Monte Carlo rows) are a
function of the problem's content, gamma, the time, the widths and the code; they are stored as JSON under a key
that digests all of these (:func:`key`):

- in the run folder, ``<out>/prediction.json`` (written atomically; a resumed folder reads it back);
- in the user cache, ``<kernel cache root>/predictions/<key>.json`` (the root of :data:`asymexp.jit.CACHE_FOLDER`),
  so that a new folder with the same problem does not recompute it either; the newest :data:`USER_CACHE_FILES`
  files are kept. Where no folder is writable there is no cache, and no error.

JSON writes a float64 by its shortest round-tripping repr, so a value read back is the value stored, bit for bit.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from asymexp.run_folder import write_atomic

#: Files kept in the user cache (the oldest are removed past this count).
USER_CACHE_FILES = 64
#: Seconds between two progress lines while one stage of the prediction runs.
HEARTBEAT_S = 10.0
#: The run folder's file.
FOLDER_FILE = "prediction.json"


def key(parts) -> str:
    """A 16-hex-digit digest of ``parts`` (a tuple of the prediction's inputs, the code version included)."""
    from asymexp.run_folder import digest

    return digest(parts)


def user_folder() -> Path | None:
    """``<kernel cache root>/predictions``, or None where the kernels have no on-disk cache."""
    from asymexp import jit

    if jit.CACHE_FOLDER is None:
        return None
    return Path(jit.CACHE_FOLDER).parent / "predictions"


def _places(out, digest_key: str, user: Path | None) -> list[Path]:
    places = [] if out is None else [Path(out) / FOLDER_FILE]
    if user is not None:
        places.append(Path(user) / f"{digest_key}.json")
    return places


def load(digest_key: str, out=None, user: Path | None = None) -> dict | None:
    """The numbers stored under ``digest_key`` in the run folder ``out`` or the ``user`` cache, else None (also
    for an unreadable or foreign file)."""
    for path in _places(out, digest_key, user):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and doc.get("key") == digest_key and isinstance(doc.get("numbers"), dict):
            return doc["numbers"]
    return None


def store(digest_key: str, numbers: dict, out=None, user: Path | None = None) -> None:
    """Write ``numbers`` (JSON-able) under ``digest_key`` to every place that can be written (atomically: a
    temporary file renamed over the target); a place that cannot is skipped."""
    text = json.dumps({"key": digest_key, "numbers": numbers})
    for path in _places(out, digest_key, user):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, text, sync=True)
        except OSError:
            pass
    if user is not None:
        _prune(Path(user))


def _prune(folder: Path) -> None:
    try:
        files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[USER_CACHE_FILES:]:
            old.unlink()
    except OSError:
        pass


def sink(progress):
    """A progress callable from validate's ``progress`` (True: lines on stderr; False/None: silent; a callable:
    itself)."""
    if progress is None or progress is False:
        return None
    if progress is True:
        return lambda line: print(line, file=sys.stderr, flush=True)
    return progress


class Stages:
    """Numbered stages that tell ``say`` (a callable of one line, or None) when each starts and, every
    :data:`HEARTBEAT_S` seconds while it runs, how long the prediction has taken so far."""

    def __init__(self, say, total: int, prefix: str = "asymexp validate: prediction"):
        self.say, self.total, self.prefix = say, total, prefix
        self.done, self.start = 0, time.monotonic()

    def _line(self, name: str) -> str:
        return f"{self.prefix}: term {self.done}/{self.total} ({name}), {time.monotonic() - self.start:.0f} s"

    def run(self, name: str, compute, *args):
        """``compute(*args)``, announced as the next stage."""
        self.done += 1
        if self.say is None:
            return compute(*args)
        self.say(self._line(name))
        stop = threading.Event()

        def beat():
            while not stop.wait(HEARTBEAT_S):
                self.say(self._line(name))

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            return compute(*args)
        finally:
            stop.set()
            thread.join()

    def finish(self, what: str) -> None:
        if self.say is not None:
            self.say(f"{self.prefix}: {what}, {time.monotonic() - self.start:.0f} s")
