"""Output folders (docs/interfaces.md, "Output folders"): an unusable --out is one line and exit 2 for every
command that writes; a manifest and a lock guard each run folder (another run or a live writer is refused, the
same run resumes, a dead writer's lock is taken over); MNIST sweep folders move and extend; corrupt checkpoints
and task files are one line. Tiny sizes throughout (a 4-unit network on 100 images, 1-2 epochs)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from asymexp.cli import main
from asymexp.errors import AsymexpError
from asymexp.mnist.train import CHECKPOINT, load_checkpoint
from asymexp.provenance import code_version
from asymexp.run_folder import LOCK, MANIFEST, claim_folder

TINY = ["--n-train", "100", "--n-test", "50"]
MNIST = ["mnist", "--gammas", "1", "--layers", "2", "--widths", "4", *TINY, "--no-progress", "--json"]
SWEEP_MNIST = ["sweep", "mnist", "--grid", "gammas=0.5,1", "--layers", "1", "--widths", "4", *TINY,
               "--workers", "0", "--json"]
VALIDATE = ["validate", "--problem", "tanh4.toml", "--widths", "8,16", "--replicas", "8", "--dynamics", "gd",
            "--time", "0.5", "--quad-order", "12", "--json"]
SWEEP_VALIDATE = ["sweep", "validate", "--grid", "gamma=0.6", "--grid", "width=8,16", "--replicas", "8",
                  "--chunk", "8", "--dynamics", "gd", "--quad-order", "12", "--workers", "0", "--json"]

# every command that writes, with its --out last
WRITERS = {
    "validate": VALIDATE + ["--gamma", "0.75", "--out"],
    "mnist": MNIST + ["--epochs", "1", "--out"],
    "sweep mnist": SWEEP_MNIST + ["--epochs", "1", "--out"],
    "sweep validate": SWEEP_VALIDATE + ["--out"],
    "derive": ["derive", "--gammas", "3/4", "--format", "md", "--out"],
    "demo": ["demo", "--quick", "--out"],
    "plot": ["plot", "--sweep", "no-such-sweep", "--out"],
}


def _one_error_line(err: str, *needles: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error:" in lines[0] and "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _refused(argv, capsys, *needles) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    return _one_error_line(capsys.readouterr().err, *needles)


def _mtimes(folder: Path) -> dict:
    """Modification times of the files under ``folder`` (the lock file aside: every claim rewrites it)."""
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != LOCK}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_out_naming_a_file_is_refused_and_the_file_kept(command, tmp_path, capsys):
    target = tmp_path / ("figure.png" if command == "plot" else "notes.txt")
    target.write_text("keep me\n")
    argv = WRITERS[command] + [str(target / "x.png") if command == "plot" else str(target)]
    _refused(argv, capsys, "--out", str(target))
    assert target.read_text() == "keep me\n"


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_unwritable_out_is_refused(command, tmp_path, capsys):
    if os.geteuid() == 0:  # root writes through permission bits: use a folder of a pseudo file system instead
        parent = Path("/proc")
    else:
        parent = tmp_path / "read-only"
        parent.mkdir()
        parent.chmod(0o500)
    target = parent / "asymexp-out" / ("figure.png" if command == "plot" else "run")
    _refused(WRITERS[command] + [str(target)], capsys, "--out", str(target), "cannot write")


def test_manifest_records_command_parameters_code_version_and_time(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(MNIST + ["--epochs", "1", "--out", str(out)]) == 0
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["command"] == "mnist" and manifest["code_version"] == code_version()
    assert manifest["parameters"]["gammas"] == "1,1" and manifest["parameters"]["widths"] == "4,4"
    assert "epochs" not in manifest["parameters"] and manifest["continuable"] == {"epochs": 1}
    assert manifest["created"].endswith("+00:00") and manifest["updated"] >= manifest["created"]
    assert (out / LOCK).read_text() == ""  # released after the run


def test_mnist_other_settings_refused_same_run_continues_lowered_epochs_said(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(MNIST + ["--epochs", "1", "--out", str(out)]) == 0
    first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    before = (out / CHECKPOINT).read_bytes()
    _refused(MNIST + ["--epochs", "1", "--seed", "3", "--out", str(out)], capsys, str(out), "seed 0 there, 3 here",
             "another --out")
    assert (out / CHECKPOINT).read_bytes() == before  # nothing lost
    # the same run, written another way (two explicit layers, 1.0 for 1), raised to 2 epochs: continues
    same = ["mnist", "--gammas", "1,1.0", "--widths", "4,4", *TINY, "--no-progress", "--json"]
    assert main(same + ["--epochs", "2", "--out", str(out)]) == 0
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["epoch"] for r in again[:-1]] == [1, 2] and again[0]["train_loss"] == first[0]["train_loss"]
    assert main(MNIST + ["--epochs", "1", "--out", str(out)]) == 0  # lowered: reports the 2 done, says so
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1])["epochs"] == 2
    assert "already holds 2 epochs, more than --epochs 1" in captured.err


def test_validate_other_gamma_refused_same_run_resumes(tmp_path, capsys):
    out = tmp_path / "val"
    assert main(VALIDATE + ["--gamma", "0.75", "--out", str(out)]) == 0
    result = (out / "result.json").read_bytes()
    tasks = _mtimes(out / "tasks")
    _refused(VALIDATE + ["--gamma", "0.6", "--out", str(out)], capsys, str(out), "gammas", "3/4", "3/5")
    assert (out / "result.json").read_bytes() == result
    assert main(VALIDATE + ["--gamma", "3/4", "--workers", "0", "--out", str(out)]) == 0  # same run: all skipped
    assert _mtimes(out / "tasks") == tasks


@pytest.fixture(scope="module")
def mnist_sweep(tmp_path_factory):
    """A finished one-epoch sweep (2 tasks), copied by each test that changes it."""
    out = tmp_path_factory.mktemp("sweep") / "grid"
    assert main(SWEEP_MNIST + ["--epochs", "1", "--out", str(out)]) == 0
    return out


def test_sweep_of_another_kind_refused(mnist_sweep, tmp_path, capsys):
    out = tmp_path / "grid"
    shutil.copytree(mnist_sweep, out)
    before = _mtimes(out)
    _refused(SWEEP_VALIDATE + ["--out", str(out)], capsys, str(out), "`asymexp sweep mnist`", "delete")
    _refused(SWEEP_MNIST + ["--epochs", "1", "--widths", "5", "--out", str(out)], capsys, "widths [4] there, [5] here")
    assert _mtimes(out) == before


def test_plot_refuses_a_validate_sweep_folder(tmp_path, capsys):
    folder = tmp_path / "vsweep"
    with claim_folder(folder, "sweep validate", {"gamma": ["3/5"]}):
        pass
    _refused(["plot", "--sweep", str(folder), "--out", str(tmp_path / "f.png")], capsys, "`asymexp sweep validate`")
    assert not (tmp_path / "f.png").exists()


def test_moved_sweep_folder_resumes_and_raised_epochs_continue(mnist_sweep, tmp_path, capsys):
    moved = tmp_path / "renamed"
    shutil.copytree(mnist_sweep, moved)
    tasks = _mtimes(moved / "tasks")
    capsys.readouterr()
    assert main(SWEEP_MNIST + ["--epochs", "1", "--out", str(moved)]) == 0  # every task skipped
    assert _mtimes(moved / "tasks") == tasks
    one = {p.name: json.loads(p.read_text())["result"]["history"] for p in (moved / "tasks").glob("*.json")}
    assert main(SWEEP_MNIST + ["--epochs", "2", "--out", str(moved)]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert [row["epochs"] for row in summary["table"]] == [2, 2]
    for name, history in one.items():  # continued from the moved checkpoints, not restarted
        two = json.loads((moved / "tasks" / name).read_text())["result"]["history"]
        assert [h["epoch"] for h in two] == [1, 2] and two[0]["train_loss"] == history[0]["train_loss"]
        assert load_checkpoint(moved / "runs" / name[:-5] / CHECKPOINT)[1]["epoch"] == 2


def test_empty_task_file_at_plot_is_one_line(mnist_sweep, tmp_path, capsys):
    out = tmp_path / "grid"
    shutil.copytree(mnist_sweep, out)
    victim = sorted((out / "tasks").glob("*.json"))[0]
    victim.write_text("")
    _refused(["plot", "--sweep", str(out), "--out", str(tmp_path / "f.png")], capsys, str(victim), "empty")


_HOLDER = textwrap.dedent("""
    import sys, time
    from asymexp.run_folder import claim_folder
    with claim_folder(sys.argv[1], "mnist", {"held": True}):
        print("held", flush=True)
        sys.stdin.read()
""")


def test_live_writer_refuses_a_second(tmp_path, capsys):
    out = tmp_path / "busy"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        line = _refused(MNIST + ["--epochs", "1", "--out", str(out)], capsys, str(out), "in use",
                        f"pid {holder.pid}")
        assert not (out / CHECKPOINT).exists(), line
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0


def test_two_concurrent_mnist_runs_one_refused(tmp_path):
    """Whatever the interleaving, exactly one of two runs with different seeds owns the folder: the other meets
    the live lock or, if it starts after the first ended, the manifest."""
    out = tmp_path / "shared"
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    procs = [subprocess.Popen([sys.executable, "-m", "asymexp", *MNIST, "--epochs", "2", "--seed", str(seed),
                               "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for seed in (0, 1)]
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    winner = next(i for i, r in enumerate(results) if r[0] == 0)
    _one_error_line(results[1 - winner][2], str(out))
    _, meta = load_checkpoint(out / CHECKPOINT)
    assert meta["config"]["seed"] == winner and meta["epoch"] == 2


def test_lock_of_a_dead_process_is_taken_over_with_a_note(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "left"
    out.mkdir()
    (out / LOCK).write_text(f"{dead.pid}\n")
    with claim_folder(out, "demo", {"quick": True}):
        assert (out / LOCK).read_text().strip() == str(os.getpid())
    err = capsys.readouterr().err
    assert f"left by pid {dead.pid}" in err and "taking over" in err


def test_manifest_from_another_tool_is_refused(tmp_path):
    out = tmp_path / "odd"
    out.mkdir()
    (out / MANIFEST).write_text("[1, 2]")
    with pytest.raises(AsymexpError, match="not a readable run manifest"):
        with claim_folder(out, "demo", {"quick": True}):
            pass


def test_a_run_that_fails_before_writing_leaves_no_claim(tmp_path):
    out = tmp_path / "fresh"
    with pytest.raises(AsymexpError, match="bad input found late"):
        with claim_folder(out, "validate", {"gammas": ["3/4"]}):
            raise AsymexpError("bad input found late")
    assert not (out / MANIFEST).exists()
    with claim_folder(out, "validate", {"gammas": ["3/5"]}):  # the corrected run may use the folder
        (out / "result.json").write_text("{}")
    with pytest.raises(AsymexpError, match="3/5"):
        with claim_folder(out, "validate", {"gammas": ["3/4"]}):
            pass
    assert json.loads((out / MANIFEST).read_text())["parameters"] == {"gammas": ["3/5"]}


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory) -> Path:
    """A finished one-epoch ``asymexp mnist`` folder (manifest and checkpoint), copied by tests that change it."""
    out = tmp_path_factory.mktemp("ckpt") / "run"
    assert main(MNIST + ["--epochs", "1", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def checkpoint_file(mnist_run) -> Path:
    return mnist_run / CHECKPOINT


def _load_bytes(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / CHECKPOINT
        path.write_bytes(data)
        try:
            return load_checkpoint(path), None
        except AsymexpError as exc:
            return None, str(exc)


@settings(max_examples=60)
@given(data=st.data())
def test_truncated_checkpoint_is_one_clear_error(checkpoint_file, data):
    checkpoint_bytes = checkpoint_file.read_bytes()
    cut = data.draw(st.integers(0, len(checkpoint_bytes) - 1), label="kept bytes")
    loaded, message = _load_bytes(checkpoint_bytes[:cut])
    assert loaded is None and CHECKPOINT in message and "delete it" in message and "\n" not in message


@settings(max_examples=60)
@given(data=st.data())
def test_changed_checkpoint_bytes_load_or_fail_cleanly(checkpoint_file, data):
    """Overwritten bytes either leave a loadable checkpoint (a byte the format does not check) or give the
    one-line error; never another exception."""
    checkpoint_bytes = checkpoint_file.read_bytes()
    start = data.draw(st.integers(0, len(checkpoint_bytes) - 1), label="offset")
    junk = data.draw(st.binary(min_size=1, max_size=64), label="bytes")
    changed = checkpoint_bytes[:start] + junk + checkpoint_bytes[start + len(junk):]
    loaded, message = _load_bytes(changed)
    assert (loaded is None) != (message is None)
    if loaded is not None:
        theta, meta = loaded
        assert theta.ndim == 1 and isinstance(meta["history"], list)


@pytest.mark.parametrize("cut", [0, 1, 100, -1])
def test_mnist_on_a_truncated_checkpoint_exits_2(mnist_run, cut, tmp_path, capsys):
    checkpoint_bytes = (mnist_run / CHECKPOINT).read_bytes()
    out = tmp_path / "run"
    shutil.copytree(mnist_run, out)
    (out / CHECKPOINT).write_bytes(checkpoint_bytes[:cut] if cut else b"")
    _refused(MNIST + ["--epochs", "2", "--out", str(out)], capsys, str(out / CHECKPOINT), "delete it")


def test_python_api_validate_claims_its_folder_like_the_cli(tmp_path):
    """asymexp.validate(out=...) writes a manifest and refuses a folder holding another run, as the CLI does."""
    import asymexp
    from asymexp.errors import AsymexpError

    out = tmp_path / "v"
    kw = dict(replicas=4, time=0.0, seed=1, out=out, quad_order=12)
    asymexp.validate("tanh4.toml", "3/4", [8, 16], **kw)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["command"] == "validate" and manifest["parameters"]["gammas"] == ["3/4"]
    asymexp.validate("tanh4.toml", "3/4", [8, 16], **kw)                      # the same run: resumes
    with pytest.raises(AsymexpError, match="gammas"):
        asymexp.validate("tanh4.toml", "0.6", [8, 16], **kw)
