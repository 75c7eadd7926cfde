"""The wheel carries the whole package: built from a clean copy of the tracked files, it holds every tracked file
under asymexp/ (the modules, the embedded MNIST files, the problem files) and the build prints no setuptools
"Package would be ignored" warning (a data folder missing from setup.cfg's package configuration, which a future
setuptools drops from the wheel).

The build runs offline: first without build isolation (the environment's setuptools); when that setuptools cannot
build wheels by itself (setuptools < 70.1 without the `wheel` package), with isolation, no retries and a short
timeout, so that only pip's configured local indexes or wheel folders can answer. The test is skipped, with pip's
last line as the reason, only when neither can build."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD_SECONDS = 50


def _tracked_files() -> list[str]:
    """Every file git tracks in the repository (paths relative to ROOT, POSIX separators)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the tracked files cannot be listed")
    done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if done.returncode != 0:
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    return [p for p in done.stdout.decode().split("\0") if p]


def _pip_wheel(source: Path, out: Path, isolated: bool) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pip", "wheel", str(source), "-w", str(out), "--no-deps",
           "--disable-pip-version-check", "--retries", "0", "--timeout", "5"]
    if not isolated:
        cmd.append("--no-build-isolation")
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.skip(f"building the wheel took over {BUILD_SECONDS} s (pip waiting on an index it cannot reach?)")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(wheel's member names, pip's build output, tracked package files), built from a clean copy."""
    tracked = _tracked_files()
    source = tmp_path_factory.mktemp("source")
    for rel in tracked:
        if (ROOT / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, source / rel)
    out = tmp_path_factory.mktemp("wheel")
    done = _pip_wheel(source, out, isolated=False)
    if done.returncode != 0 and "bdist_wheel" in done.stdout + done.stderr:
        done = _pip_wheel(source, out, isolated=True)
    log = done.stdout + done.stderr
    if done.returncode != 0:
        last = [line for line in log.splitlines() if line.strip()][-1:] or ["no output"]
        pytest.skip(f"the wheel cannot be built here (offline, no build backend): {last[0].strip()}")
    (wheel,) = out.glob("asymexp-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    package_files = [p for p in tracked if p.startswith("asymexp/") and "__pycache__" not in p.split("/")]
    return names, log, package_files


def test_build_prints_no_ignored_package_warning(built):
    _, log, _ = built
    ignored = [line.strip() for line in log.splitlines() if "would be ignored" in line.lower()
               or "absent from the `packages` configuration" in line]
    assert not ignored, "\n".join(ignored)


def test_wheel_holds_every_tracked_data_file(built):
    names, _, package_files = built
    data = [p for p in package_files if not p.endswith(".py")]
    assert any(p.startswith("asymexp/data/mnist/") for p in data)
    assert any(p.startswith("asymexp/inputs/problem_files/") for p in data)
    assert sorted(set(data) - names) == []


def test_wheel_holds_every_tracked_module(built):
    names, _, package_files = built
    modules = [p for p in package_files if p.endswith(".py")]
    assert "asymexp/__init__.py" in modules
    assert sorted(set(modules) - names) == []


def test_wheel_holds_nothing_untracked_under_the_package(built):
    names, _, package_files = built
    extra = {n for n in names if n.startswith("asymexp/")} - set(package_files)
    assert sorted(extra) == []
