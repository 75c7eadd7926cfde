"""A resumable grid executor: local processes by default, Dask distributed for clusters.

A sweep is a list of :class:`Task` (a file-safe ``key`` and a JSON-ready ``params`` dict) and a ``worker``:
an importable top-level function ``worker(params) -> dict``. Each finished task is written atomically to
``out/tasks/<key>.json`` as ``{"key", "params", "result", "seconds"}``; a rerun skips the keys already there,
so an interrupted sweep loses at most the tasks in flight. A task whose file exists with different params is an
error (the folder belongs to another sweep), not silently reused, unless the task carries an ``identity`` equal to
the one stored with it: then the task continues (it runs again and its worker resumes, as a raised MNIST
``epochs`` does). ``Task.local`` holds run-time values (absolute paths) that reach the worker but are neither
stored nor compared, so a result folder can be moved (docs/interfaces.md, "Output folders").

>>> from asymexp.executor import grid_product
>>> grid_product(a=[1, 2], b=["x"])
[{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
"""
from __future__ import annotations

import itertools
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from asymexp.errors import AsymexpError
from asymexp.run_folder import write_atomic

_KEY = re.compile(r"^[A-Za-z0-9._=,+-]+$")


class SweepError(AsymexpError):
    """A sweep that cannot run as asked (bad grid, clashing output folder, missing Dask)."""


@dataclass(frozen=True)
class Task:
    """One unit of work: ``key`` names its result file, ``params`` go to the worker (with ``local`` merged in).

    ``identity``: the part of ``params`` that must match a stored result for the task to continue it rather than
    be refused (None: all of ``params``). ``local``: run-time values for the worker, never stored."""

    key: str
    params: dict
    identity: dict | None = None
    local: dict = field(default_factory=dict)

    def __post_init__(self):
        if not _KEY.match(self.key):
            raise SweepError(f"task key {self.key!r} has characters outside letters, digits and ._=,+-")


def grid_product(**axes: Iterable) -> list[dict]:
    """The Cartesian product of the axes, in order (last axis fastest)."""
    names = list(axes)
    values = [list(v) for v in axes.values()]
    for name, vals in zip(names, values):
        if not vals:
            raise SweepError(f"grid axis {name!r} is empty")
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def parse_grid(items: Iterable[str]) -> dict[str, list[str]]:
    """``["gammas=0.5,0.7,1.0", "seed=0,1"]`` -> ``{"gammas": ["0.5", "0.7", "1.0"], "seed": ["0", "1"]}``."""
    axes: dict[str, list[str]] = {}
    for item in items:
        name, eq, values = item.partition("=")
        name = name.strip()
        vals = [v.strip() for v in values.split(",")]
        if not eq or not name or not values.strip() or any(not v for v in vals):
            raise SweepError(f"--grid {item!r} is not NAME=V1,V2,...")
        if name in axes:
            raise SweepError(f"--grid axis {name!r} is given twice")
        axes[name] = vals
    return axes


def task_path(out_dir, key: str) -> Path:
    return Path(out_dir) / "tasks" / f"{key}.json"


def _write_atomic(path: Path, document: dict) -> None:
    write_atomic(path, json.dumps(document), sync=True)


def _document(task: Task, result: dict, seconds: float) -> dict:
    doc = {"key": task.key, "params": task.params, "result": result, "seconds": seconds}
    if task.identity is not None:
        doc["identity"] = task.identity
    return doc


def _same(stored, value) -> bool:
    return stored == json.loads(json.dumps(value))


def _timed(worker: Callable, params: dict) -> tuple[dict, float]:
    t0 = time.perf_counter()
    result = worker(params)
    return result, time.perf_counter() - t0


def _pending(tasks: list[Task], out: Path) -> tuple[list[Task], dict]:
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise SweepError(f"task keys repeat: {', '.join(dup[:5])}")
    done, todo = {}, []
    for task in tasks:
        path = task_path(out, task.key)
        if path.is_file():
            try:
                doc = json.loads(path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                # a torn file cannot happen with atomic writes, but never trust it
                sys.stderr.write(f"asymexp: note: {path} is not a readable task result; running that task again\n")
                todo.append(task)
                continue
            if isinstance(doc, dict) and _same(doc.get("params"), task.params) and "result" in doc:
                done[task.key] = doc["result"]
            elif isinstance(doc, dict) and task.identity is not None and _same(doc.get("identity"), task.identity):
                todo.append(task)  # the same run with a continuable setting changed: the worker resumes it
            else:
                raise SweepError(f"{path} holds a result for other parameters; use another --out folder")
        else:
            todo.append(task)
    return todo, done


#: Seconds to wait for a remote Dask scheduler to answer before the sweep is refused.
CONNECT_TIMEOUT_S = 5


def _executor(workers: int | None, scheduler: str | None):
    if scheduler is None:
        from concurrent.futures import ProcessPoolExecutor
        import multiprocessing as mp

        return ProcessPoolExecutor(max_workers=workers or os.cpu_count(), mp_context=mp.get_context("spawn")), None
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SweepError(f"--scheduler {scheduler} needs Dask: pip install 'asymexp[dask]'") from None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        return client.get_executor(), (client, cluster)
    if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise SweepError(f"--scheduler {scheduler!r}: use 'local' or an address such as tcp://host:8786")
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"--scheduler {scheduler}: no Dask scheduler answered there within {CONNECT_TIMEOUT_S} s "
                         f"({type(exc).__name__}); start one (dask scheduler) or give its address") from None
    return client.get_executor(), (client,)


def run_tasks(tasks: list[Task], worker: Callable, out_dir, workers: int | None = None,
              scheduler: str | None = None, desc: str = "sweep", progress: bool = True) -> dict:
    """Run the unfinished tasks and return ``{key: result}`` for all tasks (finished earlier or now).

    Args:
        tasks: the grid, one :class:`Task` each.
        worker: importable top-level function ``worker(params) -> dict`` (JSON-serializable).
        out_dir: result folder; ``tasks/<key>.json`` per finished task.
        workers: local processes (default: CPU count); ``workers=0`` runs in this process (for tests).
        scheduler: None (local processes), ``"local"`` (Dask LocalCluster) or a Dask scheduler address.
    """
    from concurrent.futures import as_completed

    from tqdm import tqdm

    out = Path(out_dir)
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    todo, results = _pending(tasks, out)
    in_process = workers == 0 and scheduler is None
    pool, handles = _executor(workers, scheduler) if todo and not in_process else (None, None)
    bar = tqdm(total=len(tasks), initial=len(results), desc=desc, file=sys.stderr, disable=not progress)
    try:
        if in_process:
            for task in todo:
                result, seconds = _timed(worker, task.params | task.local)
                _write_atomic(task_path(out, task.key), _document(task, result, seconds))
                results[task.key] = result
                bar.update(1)
            return {t.key: results[t.key] for t in tasks}
        if not todo:
            return {t.key: results[t.key] for t in tasks}
        try:
            futures = {pool.submit(_timed, worker, task.params | task.local): task for task in todo}
            for fut in as_completed(futures):
                task = futures[fut]
                result, seconds = fut.result()
                _write_atomic(task_path(out, task.key), _document(task, result, seconds))
                results[task.key] = result
                bar.update(1)
        finally:
            if handles is None:
                pool.shutdown(wait=False, cancel_futures=True)
            else:
                pool.shutdown(wait=False)
            for h in reversed(handles or ()):
                h.close()
    finally:
        bar.close()
    return {t.key: results[t.key] for t in tasks}


def load_results(out_dir) -> list[dict]:
    """Every finished task document in ``out_dir/tasks``, sorted by key."""
    folder = Path(out_dir) / "tasks"
    if not folder.is_dir():
        raise SweepError(f"{out_dir} holds no sweep results (no tasks/ folder)")
    docs = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SweepError(f"{path} is not a readable task result ({'empty file' if not path.stat().st_size else exc}"
                             "); delete it and rerun the sweep to recompute that task") from None
        if not isinstance(doc, dict) or "result" not in doc:
            raise SweepError(f"{path} is not a task result (no 'result'); delete it and rerun the sweep to recompute "
                             "that task")
        docs.append(doc)
    return docs
