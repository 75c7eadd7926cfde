"""The resumable executor: atomic result files, skipping finished tasks, clashing folders."""
import json
import subprocess
import sys
import textwrap

import pytest

from asymexp.executor import SweepError, Task, grid_product, load_results, parse_grid, run_tasks


def square(params):
    return {"y": params["x"] ** 2}


def test_grid_parsing_and_product():
    axes = parse_grid(["gammas=0.5,0.7,1.0", "seed=0,1"])
    assert axes == {"gammas": ["0.5", "0.7", "1.0"], "seed": ["0", "1"]}
    assert len(grid_product(**axes)) == 6 and grid_product(**axes)[1] == {"gammas": "0.5", "seed": "1"}
    for bad in (["gammas"], ["gammas="], ["=1"], ["a=1,,2"], ["a=1", "a=2"]):
        with pytest.raises(SweepError):
            parse_grid(bad)


def test_in_process_run_and_skip(tmp_path):
    tasks = [Task(f"x={x}", {"x": x}) for x in range(4)]
    calls = []

    def counting(params):
        calls.append(params["x"])
        return square(params)

    assert run_tasks(tasks, counting, tmp_path, workers=0, progress=False)["x=3"] == {"y": 9}
    assert calls == [0, 1, 2, 3]
    run_tasks(tasks + [Task("x=5", {"x": 5})], counting, tmp_path, workers=0, progress=False)
    assert calls == [0, 1, 2, 3, 5]  # only the new task ran
    assert [d["key"] for d in load_results(tmp_path)] == ["x=0", "x=1", "x=2", "x=3", "x=5"]
    with pytest.raises(SweepError, match="other parameters"):
        run_tasks([Task("x=0", {"x": 7})], counting, tmp_path, workers=0, progress=False)


def test_process_pool(tmp_path):
    tasks = [Task(f"x={x}", {"x": x}) for x in range(3)]
    out = run_tasks(tasks, square, tmp_path, workers=2, progress=False)
    assert out == {"x=0": {"y": 0}, "x=1": {"y": 1}, "x=2": {"y": 4}}


def test_killed_sweep_resumes_without_recomputing(tmp_path):
    """A sweep process killed after two tasks finish; the rerun computes only the rest."""
    script = tmp_path / "sweep_script.py"
    log = tmp_path / "log.txt"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        from asymexp.executor import Task, run_tasks
        def work(p):
            with open({str(log)!r}, "a") as fh:
                fh.write(f"{{p['x']}}\\n")
            if p["x"] == 2 and os.environ.get("DIE"):
                os._exit(9)                     # the machine dies in the middle of task 2
            return {{"y": p["x"] * 10}}
        run_tasks([Task(f"x={{x}}", {{"x": x}}) for x in range(5)], work, {str(tmp_path / 'out')!r},
                  workers=0, progress=False)
    """))
    env = {"PYTHONPATH": str(tmp_path), "DIE": "1", "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, str(script)], env=env, capture_output=True)
    assert first.returncode == 9
    assert sorted(p.name for p in (tmp_path / "out" / "tasks").glob("*.json")) == ["x=0.json", "x=1.json"]
    env.pop("DIE")
    subprocess.run([sys.executable, str(script)], env=env, check=True, capture_output=True)
    assert log.read_text().split() == ["0", "1", "2", "2", "3", "4"]  # 0 and 1 were not recomputed
    results = {d["key"]: d["result"]["y"] for d in load_results(tmp_path / "out")}
    assert results == {f"x={x}": 10 * x for x in range(5)}
    assert not list((tmp_path / "out" / "tasks").glob(".*tmp"))


def test_bad_key_and_missing_dask(tmp_path, monkeypatch):
    with pytest.raises(SweepError, match="characters"):
        Task("a/b", {})
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(SweepError, match="needs Dask"):
        run_tasks([Task("x=1", {"x": 1})], square, tmp_path, scheduler="local", progress=False)


def test_dask_local_cluster(tmp_path):
    pytest.importorskip("dask.distributed")  # installed by `make test` (extra "dask")
    tasks = [Task(f"x={x}", {"x": x}) for x in range(3)]
    out = run_tasks(tasks, square, tmp_path, workers=2, scheduler="local", progress=False)
    assert out == {"x=0": {"y": 0}, "x=1": {"y": 1}, "x=2": {"y": 4}}
    assert len(load_results(tmp_path)) == 3
