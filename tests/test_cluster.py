"""A sweep on a real Dask cluster (docs/interfaces.md, ``asymexp sweep --scheduler``): a scheduler and two worker
processes on localhost, started here as subprocesses, and one worker killed with SIGKILL while it holds a task.

The sweep must finish with every task of the grid written exactly once and each task's result equal to the one
an in-process run (``--workers 0``) computes: every task draws its replicas from its own seeded stream, so where
it runs changes nothing. Skipped only when the ``dask`` extra (dask.distributed) is not installed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

GRID = ["--grid", "gamma=0.75", "--grid", "width=16,32", "--replicas", "48", "--chunk", "4", "--time", "1",
        "--seed", "3", "--quad-order", "4"]     # a coarse theory quadrature: the summary is not what is tested
TASKS = 2 * 48 // 4
START_TIMEOUT = 60      # seconds for the scheduler and workers to come up
RUN_TIMEOUT = 240       # seconds for one sweep (a warm kernel cache needs far less)


def _dask(*args: str) -> list[str]:
    return [sys.executable, "-m", "dask", *args]


def _sweep(out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "asymexp", "sweep", "validate", *GRID, "--out", str(out), "--json",
                           *extra], capture_output=True, text=True, timeout=RUN_TIMEOUT)


def _task_files(out: Path) -> dict[str, dict]:
    docs = {}
    for path in sorted((out / "tasks").iterdir()):
        doc = json.loads(path.read_text())
        assert path.name == f"{doc['key']}.json", path
        docs[doc["key"]] = doc
    return docs


@pytest.fixture
def cluster(tmp_path):
    """(address, {worker address: Popen}) of a scheduler and two single-thread workers without nannies."""
    logs, procs = tmp_path / "logs", []
    logs.mkdir()
    info = tmp_path / "scheduler.json"

    def start(name, args):
        log = open(logs / f"{name}.log", "w")
        procs.append(subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log.close()
        return procs[-1]

    try:
        start("scheduler", _dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                 "--scheduler-file", str(info)))
        workers = [start(f"worker{i}", _dask("worker", "--scheduler-file", str(info), "--nthreads", "1",
                                             "--no-nanny", "--no-dashboard", "--name", f"w{i}"))
                   for i in range(2)]
        deadline = time.monotonic() + START_TIMEOUT
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert info.exists(), (logs / "scheduler.log").read_text()
        address = json.loads(info.read_text())["address"]
        with distributed.Client(address, timeout=START_TIMEOUT) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
            pids = client.run(os.getpid)
        by_pid = {p.pid: p for p in workers}
        assert set(pids.values()) == set(by_pid), (pids, list(by_pid))
        yield address, {addr: by_pid[pid] for addr, pid in pids.items()}
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_sweep_survives_a_killed_worker(cluster, tmp_path):
    address, workers = cluster
    local = _sweep(tmp_path / "local", "--workers", "0")
    assert local.returncode == 0, local.stderr

    out = tmp_path / "cluster"
    sweep = subprocess.Popen([sys.executable, "-m", "asymexp", "sweep", "validate", *GRID, "--out", str(out),
                              "--json", "--scheduler", address],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed, done_at_kill = None, None
    with distributed.Client(address) as client:
        deadline = time.monotonic() + RUN_TIMEOUT
        while killed is None and sweep.poll() is None and time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if keys and w in workers]
            done = len(list((out / "tasks").glob("*.json"))) if (out / "tasks").is_dir() else 0
            if busy and done >= 1:            # workers are up and computing: kill one holding a task
                killed, done_at_kill = workers[busy[0]], done
                killed.send_signal(signal.SIGKILL)
            time.sleep(0.05)
    stdout, stderr = sweep.communicate(timeout=RUN_TIMEOUT)
    assert killed is not None, f"no worker was ever seen holding a task; sweep stderr:\n{stderr}"
    assert killed.wait(timeout=10) == -signal.SIGKILL
    assert done_at_kill < TASKS, "the sweep had finished before the kill: the check proved nothing"
    assert sweep.returncode == 0, stderr

    ours, theirs = _task_files(out), _task_files(tmp_path / "local")
    assert len(theirs) == TASKS
    assert sorted(ours) == sorted(theirs)                  # no task lost, none extra; one file per key
    for key in theirs:
        assert ours[key]["params"] == theirs[key]["params"], key
        assert ours[key]["result"] == theirs[key]["result"], key   # bit-equal numbers (JSON round trip)
    assert json.loads(stdout) == json.loads(local.stdout)
