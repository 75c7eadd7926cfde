"""Output folders that are safe to share, move and rerun (docs/interfaces.md, "Output folders").

Every command that writes checks its ``--out`` before any work: :func:`check_out_folder` (a folder) and
:func:`check_out_file` (a figure file) turn a path that names an existing file, or a folder that cannot be
created or written, into one :class:`~asymexp.errors.AsymexpError` line (exit status 2).

A command that writes a *run* into a folder holds it with :func:`claim_folder` for the run's lifetime (every one
that writes a folder: ``validate``, ``mnist``, ``sweep``, ``demo``, and through :func:`claim_given` the studies
``fim``, ``gram``, ``lr-scan``, ``one-step``, ``rmt`` and ``derive --out``; docs/interfaces.md lists what each
keeps on Ctrl-C):

- ``DIR/.asymexp.lock``: held with ``fcntl.flock`` and holding the owner's pid. A second writer is refused while
  the first runs. The lock dies with its process, so a lock left by a killed run is taken over, with a note on
  stderr naming the pid that left it. The file stays (emptied) after a clean exit.
- ``DIR/manifest.json``: ``command``; ``parameters``, the settings that define the run, in canonical form (exact
  gammas, resolved defaults; never execution settings such as --workers); ``continuable``, the settings a rerun
  may change to continue the run (MNIST ``epochs``); ``code_version``
  (:func:`asymexp.provenance.code_version`); ``created`` and ``updated`` (UTC, ISO 8601). A folder whose manifest
  names another command or other parameters is refused, naming the differences; the same run resumes. A run
  that fails or is interrupted before it changed any other file of the folder leaves the manifest as it found
  it (none, in a new folder), so no claim is left behind.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import sys
import tempfile
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from asymexp.errors import AsymexpError

MANIFEST = "manifest.json"
LOCK = ".asymexp.lock"
_START_OVER = "use another {option}, or delete {folder} to start over"


def _nearest_existing(path: Path) -> Path:
    current = path
    while not os.path.lexists(current) and current != current.parent:
        current = current.parent
    return current


def _probe_writable(folder: Path, option: str, given) -> None:
    try:
        fd, name = tempfile.mkstemp(prefix=".asymexp-probe-", dir=folder)
    except OSError as exc:
        raise AsymexpError(f"{option} {given}: cannot write in {folder} ({exc.strerror or exc}); "
                           "a writable folder is required") from None
    os.close(fd)
    os.unlink(name)


def check_out_folder(path, option: str = "--out") -> Path:
    """``path`` as a :class:`Path` once it is known to be usable as an output folder (existing and writable, or
    creatable in a writable folder); otherwise :class:`AsymexpError` naming it. Creates nothing."""
    folder = Path(path)
    absolute = Path(os.path.abspath(folder))
    if os.path.lexists(absolute) and not os.path.isdir(absolute):
        raise AsymexpError(f"{option} {path}: names an existing file, not a folder; give a folder (new or "
                           "existing) for the results")
    existing = _nearest_existing(absolute)
    if not os.path.isdir(existing):
        raise AsymexpError(f"{option} {path}: {existing} is a file, so no folder can be created under it; "
                           "give a folder path")
    _probe_writable(existing, option, path)
    return folder


def check_out_file(path, suffixes: tuple[str, ...], option: str = "--out") -> Path:
    """``path`` once it can be written as a file with one of ``suffixes`` (its folder existing and writable, or
    creatable); otherwise :class:`AsymexpError` naming it. An existing file of that name is replaced."""
    target = Path(path)
    if os.path.isdir(target):
        raise AsymexpError(f"{option} {path}: names a folder; give a file name ending in {', '.join(suffixes)}")
    if target.suffix.lower() not in suffixes:
        raise AsymexpError(f"{option} {path}: unknown file type {target.suffix or '(none)'!r}; "
                           f"allowed: {', '.join(suffixes)}")
    existing = _nearest_existing(Path(os.path.abspath(target)).parent)
    if not os.path.isdir(existing):
        raise AsymexpError(f"{option} {path}: {existing} is a file, so no folder can be created under it; "
                           "give a file path in a folder")
    _probe_writable(existing, option, path)
    return target


def canonical(document) -> dict:
    """``document`` as plain JSON values (tuples as lists, fractions and paths as strings), keys sorted."""
    return json.loads(json.dumps(document, default=str, sort_keys=True))


def read_manifest(folder) -> dict | None:
    """The manifest of ``folder`` (None when it has none); an unreadable one is an :class:`AsymexpError`."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        doc, reason = None, str(exc)
    else:
        reason = "not an asymexp run manifest"
    if not isinstance(doc, dict) or not isinstance(doc.get("command"), str) \
            or not isinstance(doc.get("parameters"), dict):
        raise AsymexpError(f"{path} is not a readable run manifest ({reason}); "
                           f"{_START_OVER.format(option='--out', folder=folder)}")
    return doc


def _describe_differences(old: dict, new: dict, limit: int = 4) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    parts = [f"{k} {json.dumps(old.get(k))} there, {json.dumps(new.get(k))} here" for k in keys[:limit]]
    if len(keys) > limit:
        parts.append(f"{len(keys) - limit} more")
    return "; ".join(parts)


def _note(command: str, text: str) -> None:
    sys.stderr.write(f"asymexp {command}: note: {text}\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock(folder: Path, command: str, option: str) -> int:
    path = folder / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise AsymexpError(f"{option} {folder}: cannot create the lock file {path} ({exc.strerror or exc})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise AsymexpError(f"{path}: cannot be locked ({exc.strerror or exc})") from None
        raise AsymexpError(f"{folder} is in use by another asymexp run (pid {holder}, lock {path}); wait for it "
                           f"to finish, or use another {option}") from None
    previous = os.pread(fd, 64, 0).decode(errors="replace").strip()
    if previous:
        state = "no longer running" if previous.isdigit() and not _alive(int(previous)) else "not holding it"
        _note(command, f"taking over the lock {path} left by pid {previous}, {state} (an interrupted run)")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _unlock(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_atomic(path, data: str | bytes, sync: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed over it, so that a reader (or an interrupted
    writer) never sees a partial file; ``sync``: flush it to disk first (results other runs rely on). The
    temporary file is removed when the write fails (the OSError propagates)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb" if isinstance(data, bytes) else "w") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _write_manifest(folder: Path, doc: dict) -> None:
    write_atomic(folder / MANIFEST, json.dumps(doc, indent=1) + "\n")


def _admit(folder: Path, command: str, parameters: dict, continuable: dict, option: str,
           legacy: list[dict]) -> None:
    """Refuse a folder that holds another run; write (or refresh) the manifest of this one (a manifest holding one
    of the ``legacy`` forms of ``parameters`` is rewritten in the current form)."""
    from asymexp.provenance import code_version

    start_over = _START_OVER.format(option=option, folder=folder)
    old = read_manifest(folder)
    now, version = _now(), code_version()
    created = now
    if old is not None:
        if old["command"] != command:
            raise AsymexpError(f"{folder} holds an `asymexp {old['command']}` run (see {MANIFEST}), not "
                               f"`asymexp {command}`; {start_over}")
        if old["parameters"] != parameters and old["parameters"] not in legacy:
            raise AsymexpError(f"{folder} holds another `asymexp {command}` run ("
                               f"{_describe_differences(old['parameters'], parameters)}); {start_over}")
        created = old.get("created", now)
        if old.get("code_version") != version:
            _note(command, f"{folder} was last written by code version {old.get('code_version')}; continuing "
                           f"with {version}")
    elif any(p.name != LOCK for p in folder.iterdir()):
        _note(command, f"{folder} holds files but no {MANIFEST} (written before manifests, or by hand); "
                       "adopting it for this run")
    _write_manifest(folder, {"command": command, "parameters": parameters, "continuable": continuable,
                             "code_version": version, "created": created, "updated": now})


def _contents(folder: Path) -> dict:
    """{path: (size, modification time)} of every file under ``folder`` but its manifest and lock."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = Path(root, name)
            if path not in (folder / MANIFEST, folder / LOCK):
                stat = path.stat()
                found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def _restore(manifest: Path, previous: bytes | None) -> None:
    """Put back the manifest a folder had before a claim (none: remove it)."""
    if previous is None:
        manifest.unlink(missing_ok=True)
    else:
        write_atomic(manifest, previous)


@contextmanager
def claim_folder(path, command: str, parameters: dict, continuable: dict | None = None,
                 option: str = "--out", legacy: list[dict] | None = None) -> Iterator[Path]:
    """Hold the output folder ``path`` for one run of ``asymexp {command}`` (see the module docstring).

    Args:
        path: the folder (created when missing).
        command: the command as typed after ``asymexp`` (``"validate"``, ``"sweep mnist"``).
        parameters: the settings that define the run (JSON-ready; canonicalized here).
        continuable: settings a rerun may change to continue the run (recorded, not compared).
        legacy: earlier forms of ``parameters`` for the same run (written by an older version): a folder whose
            manifest holds one of them is continued, and its manifest rewritten with ``parameters``.
    Raises:
        AsymexpError: unusable path, another live writer, or a folder holding another run.
    """
    folder = check_out_folder(path, option)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AsymexpError(f"{option} {path}: cannot create the folder ({exc.strerror or exc})") from None
    fd = _lock(folder, command, option)
    try:
        manifest = folder / MANIFEST
        previous = manifest.read_bytes() if manifest.is_file() else None
        _admit(folder, command, canonical(parameters), canonical(continuable or {}), option,
               [canonical(p) for p in legacy or ()])
        before = _contents(folder)
        try:
            yield folder
        except BaseException:  # failed or interrupted (Ctrl-C) before changing any file: the folder as it was
            if _contents(folder) == before:
                _restore(manifest, previous)
            raise
    finally:
        _unlock(fd)


def claim_given(out, command: str, parameters: dict, option: str = "--out"):
    """:func:`claim_folder` of ``out`` for ``asymexp {command}`` when a folder is given, else a context holding
    None: the one folder check of the commands whose ``--out`` is optional (the study verbs of
    :mod:`asymexp.api.studies`, ``derive --out``). Enter it after the inputs are checked and the run priced,
    before the work, so that a folder holding another run is refused before minutes are spent."""
    if out is None:
        return nullcontext()
    return claim_folder(out, command, parameters, option=option)


def digest(value) -> str:
    """A short stable hash (16 hex characters) of ``repr(value)``: names content such as a problem's arrays in a
    manifest without copying it."""
    import hashlib

    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]
