"""One run-folder discipline for every command that writes a folder, and an honest Ctrl-C line (docs/interfaces.md,
"Output folders"): a folder holding one command's run is refused by every other command (exit 2, one line) and
left byte for byte as it was; the same command with other settings is refused, with the same settings it reruns;
Ctrl-C prints what is really on disk. Tiny sizes throughout: each first writer runs once per module, each pair
works on a copy of its folder, and the second writer is refused before any work."""
import hashlib
import itertools
import json
import shutil
from pathlib import Path

import pytest

import asymexp
from asymexp.cli import main
from asymexp.errors import AsymexpError
from asymexp.run_folder import LOCK, MANIFEST

TINY_MNIST = ["--n-train", "100", "--n-test", "50"]
STUDIES = {
    "fim": ["fim", "--widths", "4,8", "--samples", "4", "--networks", "2", "--json"],
    "gram": ["gram", "--widths", "4,8", "--depth", "4", "--runs", "2", "--batch", "2", "--samples", "1000",
             "--json"],
    "lr-scan": ["lr-scan", "--layers", "1", "--width", "4", "--samples", "4", "--steps", "2", "--json"],
    "one-step": ["one-step", "--layers", "1", "--width", "4", "--batch", "4", "--seeds", "2", "--lr-points", "2",
                 "--fraction-layers", "1", "--fraction-activations", "relu", "--fraction-bias-vars", "0", "--json"],
    "rmt": ["rmt", "--factors", "1", "--size", "4", "--samples", "2", "--orders", "1", "--json"],
    "derive": ["derive", "--gammas", "3/4", "--format", "md"],
}
# every writer of a run folder, with --out to come last
WRITERS = {
    "validate": ["validate", "--problem", "tanh4.toml", "--gamma", "0.75", "--widths", "8,16", "--replicas", "8",
                 "--dynamics", "gd", "--time", "0.5", "--quad-order", "12", "--json"],
    "mnist": ["mnist", "--gammas", "1", "--layers", "2", "--widths", "4", *TINY_MNIST, "--epochs", "1",
              "--no-progress", "--json"],
    "sweep validate": ["sweep", "validate", "--grid", "gamma=0.6", "--grid", "width=8,16", "--replicas", "8",
                       "--chunk", "8", "--dynamics", "gd", "--quad-order", "12", "--workers", "0", "--json"],
    **STUDIES,
}
# the function each study's run calls for its work (patched to raise KeyboardInterrupt)
WORK = {"fim": "asymexp.bn.fim.experiment.run_study", "gram": "asymexp.bn.gram.run_experiment",
        "lr-scan": "asymexp.bn.lrscan.scan.run_scan", "one-step": "asymexp.bn.onestep.onestep_study.run_study",
        "rmt": "asymexp.bn.rmt.products_check.products_report", "derive": "asymexp.symbolic.derivation.derive"}
# per study: another setting (a different run) and an equivalent spelling of the same run
OTHER = {"fim": ["--seed", "1"], "gram": ["--seed", "1"], "lr-scan": ["--steps", "3"], "one-step": ["--seeds", "3"],
         "rmt": ["--orders", "2"]}
NOTHING = "interrupted; nothing was written"


def _hashes(folder: Path) -> dict:
    """{relative path: sha256} of every file under ``folder`` (manifest and lock included)."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def _last_line(capsys) -> str:
    """The last line on stderr (after a progress bar)."""
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict:
    """{writer: a folder holding its finished run}, made once; tests work on copies."""
    made = {}
    for name, argv in WRITERS.items():
        out = tmp_path_factory.mktemp("first") / name.replace(" ", "-")
        assert main(argv + ["--out", str(out)]) == 0, name
        assert json.loads((out / MANIFEST).read_text())["command"] == name
        made[name] = out
    return made


def _copy(folders, name, tmp_path) -> Path:
    return Path(shutil.copytree(folders[name], tmp_path / "run"))


@pytest.mark.parametrize("first, second", list(itertools.permutations(WRITERS, 2)),
                         ids=[f"{a}-then-{b}".replace(" ", "_") for a, b in itertools.permutations(WRITERS, 2)])
def test_another_command_is_refused_and_the_folder_left_byte_for_byte(folders, first, second, tmp_path, capsys):
    out = _copy(folders, first, tmp_path)
    before = _hashes(out)
    capsys.readouterr()
    assert main(WRITERS[second] + ["--out", str(out)]) == 2
    line = _one_line(capsys)
    assert line.startswith(f"asymexp {second.split()[0]}: error: ") and "Traceback" not in line
    assert str(out) in line and f"`asymexp {first}`" in line, line
    assert _hashes(out) == before


@pytest.mark.parametrize("name", sorted(OTHER))
def test_same_study_other_settings_refused_same_settings_rerun(folders, name, tmp_path, capsys):
    out = _copy(folders, name, tmp_path)
    before = _hashes(out)
    capsys.readouterr()
    assert main(STUDIES[name] + OTHER[name] + ["--out", str(out)]) == 2
    line = _one_line(capsys)
    assert str(out) in line and f"another `asymexp {name}` run" in line and "there" in line, line
    assert _hashes(out) == before
    assert main(STUDIES[name] + ["--out", str(out)]) == 0     # the same run: computed again, its files replaced
    assert set(_hashes(out)) == set(before)
    assert json.loads((out / MANIFEST).read_text())["parameters"] == \
        json.loads((folders[name] / MANIFEST).read_text())["parameters"]


def test_the_manifest_holds_resolved_settings_so_spellings_of_one_run_agree(folders, tmp_path, capsys):
    """rmt --sizes 4 is rmt --size 4; gram --norm bn is its new name row-scale; fim --activation linear is
    identity."""
    rmt = _copy(folders, "rmt", tmp_path)
    assert main(["rmt", "--factors", "1", "--sizes", "4", "--samples", "2", "--orders", "1", "--json",
                 "--out", str(rmt)]) == 0
    gram = tmp_path / "gram"
    assert main(STUDIES["gram"] + ["--norm", "bn", "--out", str(gram)]) == 0
    assert main(STUDIES["gram"] + ["--norm", "row-scale", "--out", str(gram)]) == 0
    fim = tmp_path / "fim"
    assert main(STUDIES["fim"] + ["--activation", "linear", "--out", str(fim)]) == 0
    assert main(STUDIES["fim"] + ["--activation", "identity", "--out", str(fim)]) == 0
    assert json.loads((fim / MANIFEST).read_text())["parameters"]["activation"] == "identity"


def test_derive_folders_collect_derivations_but_no_other_command(folders, tmp_path, capsys):
    out = _copy(folders, "derive", tmp_path)
    assert main(["derive", "--gammas", "3/5", "--format", "md", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {MANIFEST, LOCK, "L1_g3-4.md", "L1_g3-5.md"}


def _interrupt(monkeypatch, dotted: str):
    module, name = dotted.rsplit(".", 1)

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(f"{module}.{name}", stop)


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_ctrl_c_in_a_study_writes_nothing_and_says_so(folders, name, tmp_path, capsys, monkeypatch):
    _interrupt(monkeypatch, WORK[name])
    argv = STUDIES[name]
    fresh = tmp_path / "fresh"
    capsys.readouterr()
    assert main(argv + ["--out", str(fresh)]) == 130
    line = _one_line(capsys)
    assert line == (f"asymexp {name}: interrupted; nothing was written (this command writes its files when it "
                    f"finishes); the files already in {fresh} are unchanged")
    assert {p.name for p in fresh.iterdir()} <= {LOCK} and (fresh / LOCK).read_text() == ""  # no claim, no files
    rerun = _copy(folders, name, tmp_path)              # its own finished run, rerun and interrupted
    before = _hashes(rerun)
    assert main(argv + ["--out", str(rerun)]) == 130
    assert _one_line(capsys).endswith(f"the files already in {rerun} are unchanged")
    assert _hashes(rerun) == before
    assert main(argv) == 130                            # no --out: nothing anywhere
    assert _one_line(capsys) == f"asymexp {name}: {NOTHING}"


def test_a_folder_left_by_an_interrupted_study_takes_any_run(tmp_path, capsys, monkeypatch):
    """No claim is left behind: after Ctrl-C in a new folder another command may use it."""
    out = tmp_path / "fresh"
    with monkeypatch.context() as patch:
        _interrupt(patch, WORK["fim"])
        assert main(STUDIES["fim"] + ["--out", str(out)]) == 130
    assert main(STUDIES["rmt"] + ["--out", str(out)]) == 0
    assert json.loads((out / MANIFEST).read_text())["command"] == "rmt"


def test_ctrl_c_in_validate_keeps_the_finished_chunks_and_the_rerun_resumes(tmp_path, capsys, monkeypatch):
    from asymexp.validation import tasks

    real, calls = tasks.simulate_chunk, []

    def one_then_stop(params):
        calls.append(params)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(params)

    monkeypatch.setattr(tasks, "simulate_chunk", one_then_stop)
    out = tmp_path / "v"
    capsys.readouterr()
    assert main(WRITERS["validate"] + ["--out", str(out)]) == 130
    assert _last_line(capsys) == "asymexp validate: interrupted; finished results are kept"
    kept = sorted((out / "tasks").glob("*.json"))
    assert len(kept) == 1 and (out / MANIFEST).is_file()
    rerun = []
    monkeypatch.setattr(tasks, "simulate_chunk", lambda params: rerun.append(params) or real(params))
    assert main(WRITERS["validate"] + ["--out", str(out)]) == 0
    assert (out / "result.json").is_file() and kept[0].is_file()
    assert len(rerun) == len(list((out / "tasks").glob("*.json"))) - 1   # the kept chunk is not run again


def test_ctrl_c_in_mnist_keeps_the_finished_epoch_and_the_rerun_continues(tmp_path, capsys, monkeypatch):
    import asymexp.cli.mnist as cli_mnist

    real = cli_mnist._print

    def stop_after_epoch_one(args, record):
        if record.get("epoch") == 1 and not record.get("summary"):
            raise KeyboardInterrupt
        real(args, record)

    argv = WRITERS["mnist"]
    two = argv[:argv.index("--epochs")] + ["--epochs", "2"] + argv[argv.index("--epochs") + 2:]
    out = tmp_path / "m"
    with monkeypatch.context() as patch:
        patch.setattr(cli_mnist, "_print", stop_after_epoch_one)
        capsys.readouterr()
        assert main(two + ["--out", str(out)]) == 130
    assert _last_line(capsys) == "asymexp mnist: interrupted; finished results are kept"
    assert (out / MANIFEST).is_file()
    assert main(two + ["--out", str(out)]) == 0
    epochs = [json.loads(line)["epoch"] for line in capsys.readouterr().out.splitlines()
              if '"summary"' not in line]
    assert epochs == [1, 2]                             # epoch 1 replayed from the checkpoint, epoch 2 trained


def test_python_verbs_refuse_a_folder_of_another_run(folders, tmp_path):
    out = _copy(folders, "validate", tmp_path)
    before = _hashes(out)
    calls = [lambda: asymexp.fim("4,8", samples=4, networks=2, out=out),
             lambda: asymexp.gram([4, 8], depth=4, runs=2, batch=2, samples=1000, out=out),
             lambda: asymexp.lr_scan([1], 4, samples=4, steps=2, out=out),
             lambda: asymexp.one_step(layers=1, width=4, batch=4, seeds=2, lr_points=2, fraction_layers=[1],
                                      fraction_activations="relu", fraction_bias_vars=[0], out=out),
             lambda: asymexp.rmt([1], size=4, samples=2, orders=1, out=out)]
    for call in calls:
        with pytest.raises(AsymexpError, match="`asymexp validate`") as caught:
            call()
        assert str(out) in str(caught.value)
    assert _hashes(out) == before


def test_python_rmt_writes_the_commands_files(folders, tmp_path):
    result = asymexp.rmt([1], size=4, samples=2, orders=1, out=tmp_path / "r")
    assert {Path(p).name for p in result.files} == {"rmt_moments.png", "rmt_moments.pdf", "rmt.json"}
    written = json.loads((tmp_path / "r" / "rmt.json").read_text())
    assert written["rows"] == json.loads((folders["rmt"] / "rmt.json").read_text())["rows"]
    document = result.to_dict()
    assert document.pop("figures")[:2] == written.pop("figures") and written == document
