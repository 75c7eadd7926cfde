"""The study verbs asymexp.fim, gram, lr_scan, one_step, rmt (asymexp/api/studies.py): each verb's document is the
one its command prints with --json, a bad value gives the same message from both, --out / out= write the same
files, and plot() draws a Figure without pyplot (docs/batchnorm.md, docs/interfaces.md)."""
import json
from pathlib import Path

import pytest

import asymexp
from asymexp.cli import main
from asymexp.errors import AsymexpError

VERBS = ("fim", "gram", "lr_scan", "one_step", "rmt")

# (command argv, verb name, verb kwargs): the same small fixed-seed case both ways.
CASES = [
    (["fim", "--widths", "8,12,16", "--samples", "6", "--networks", "2", "--norm", "none,mean-last", "--seed", "3"],
     "fim", dict(widths="8,12,16", samples=6, networks=2, norm=["none", "mean-last"], seed=3)),
    (["gram", "--widths", "8,16", "--depth", "12", "--runs", "3", "--batch", "3", "--activation", "tanh",
      "--samples", "2000", "--seed", "1"],
     "gram", dict(widths=[8, 16], depth=12, runs=3, batch=3, activation="tanh", samples=2000, seed=1)),
    (["lr-scan", "--layers", "1,2", "--width", "8", "--samples", "8", "--steps", "4", "--norm", "none,bn",
      "--seed", "2"],
     "lr_scan", dict(layers=[1, 2], width=8, samples=8, steps=4, norm="none,bn", seed=2)),
    (["one-step", "--layers", "2", "--width", "8", "--batch", "4", "--seeds", "2", "--lr-points", "3",
      "--fraction-layers", "1", "--fraction-activations", "relu", "--fraction-bias-vars", "0", "--seed", "1"],
     "one_step", dict(layers=2, width=8, batch=4, seeds=2, lr_points=3, fraction_layers=[1],
                      fraction_activations="relu", fraction_bias_vars=[0], seed=1)),
    (["rmt", "--factors", "1,2", "--sizes", "6,8,10", "--samples", "4", "--orders", "2", "--seed", "1"],
     "rmt", dict(factors=[2, 1], sizes="6,8,10", samples=4, orders=2, seed=1)),
]

# (command argv, verb name, verb kwargs): one bad value each, refused with one message.
BAD = [
    (["fim", "--widths", "8,x", "--samples", "6"], "fim", dict(widths="8,x", samples=6)),
    (["gram", "--widths", "8,8"], "gram", dict(widths=[8, 8])),
    (["lr-scan", "--layers", "1,x", "--width", "8"], "lr_scan", dict(layers="1,x", width=8)),
    (["one-step", "--lr-min", "abc"], "one_step", dict(lr_min="abc")),
    (["lr-scan", "--layers", "1", "--width", "8", "--data", "mnist", "--outputs", "2"], "lr_scan",
     dict(layers=[1], width=8, data="mnist", outputs=2)),
    (["rmt", "--factors", "5", "--size", "2000", "--samples", "1000"], "rmt",
     dict(factors=[5], size=2000, samples=1000)),
]


def _cli_json(argv, capsys) -> dict:
    capsys.readouterr()
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_verbs_are_exported_and_not_shadowed_by_the_study_packages():
    import asymexp.bn.fim.experiment  # noqa: F401  (the package asymexp.bn.fim must not take the name asymexp.fim)
    import asymexp.bn.gram.gram_chain  # noqa: F401
    import asymexp.bn.rmt.products_check  # noqa: F401
    from asymexp.api import gram_studies, studies

    for name in VERBS:
        assert name in asymexp.__all__
        assert callable(getattr(asymexp, name))
        assert getattr(asymexp, name) is getattr(gram_studies if name == "gram" else studies, name)
    for name in ("FimResult", "GramResult", "LrScanResult", "OneStepResult", "RmtResult"):
        assert name in asymexp.__all__ and isinstance(getattr(asymexp, name), type)
    from asymexp import fim

    assert fim is studies.fim


@pytest.mark.parametrize("argv, verb, kwargs", CASES, ids=[c[1] for c in CASES])
def test_the_verb_returns_the_commands_json_document(argv, verb, kwargs, capsys):
    result = getattr(asymexp, verb)(**kwargs)
    assert result.to_dict() == _cli_json(argv, capsys)
    assert json.loads(result.to_json()) == result.to_dict()
    key = next(k for k, v in result.document.items() if isinstance(v, (list, dict)) and v)
    result.to_dict()[key].clear()           # a copy: the result stays as it was
    assert result.to_dict()[key]


@pytest.mark.parametrize("argv, verb, kwargs", BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_value_gives_the_same_message_from_shell_and_python(argv, verb, kwargs, capsys):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    with pytest.raises(AsymexpError) as exc:
        getattr(asymexp, verb)(**kwargs)
    command = argv[0]
    assert err == f"asymexp {command}: error: {exc.value}\n"


def test_out_writes_the_same_files_from_shell_and_python(tmp_path, capsys):
    argv, _, kwargs = CASES[0]
    shell, python = tmp_path / "shell", tmp_path / "python"
    doc = _cli_json(argv + ["--out", str(shell)], capsys)
    result = asymexp.fim(**kwargs, out=python)
    names = sorted(p.name for p in shell.iterdir())
    assert names == sorted(p.name for p in python.iterdir())
    assert {"fim.json", "fim_lambda_max.png", "fim_spectrum.pdf"} <= set(names)
    assert [Path(p).name for p in doc["figures"]] == [Path(p).name for p in result.figures]
    assert result.files == tuple(result.figures)
    strip = lambda text, folder: text.replace(str(folder), "OUT")  # noqa: E731
    assert strip((shell / "fim.json").read_text(), shell) == strip((python / "fim.json").read_text(), python)
    assert "spectra" in json.loads((python / "fim.json").read_text())
    assert result.to_dict() == json.loads(strip(json.dumps(doc), shell).replace("OUT", str(python)))


def test_gram_out_lists_no_figures_in_its_document_and_says_what_it_wrote(tmp_path, capsys):
    argv, _, kwargs = CASES[1]
    capsys.readouterr()
    assert main(argv + ["--json", "--out", str(tmp_path / "g")]) == 0
    captured = capsys.readouterr()
    assert "figures" not in json.loads(captured.out)
    assert "asymexp gram: wrote " in captured.err and "gram.json" not in captured.err
    result = asymexp.gram(**kwargs, out=tmp_path / "h")
    assert result.figures == [] and len(result.files) == 5           # gram.json, two figures in PNG and PDF
    assert json.loads((tmp_path / "h" / "gram.json").read_text()) == result.to_dict()


@pytest.mark.parametrize("argv, verb, kwargs", CASES, ids=[c[1] for c in CASES])
def test_plot_draws_every_figure_without_pyplot(argv, verb, kwargs):
    import matplotlib
    from matplotlib.figure import Figure

    backend = matplotlib.get_backend()
    result = getattr(asymexp, verb)(**kwargs)
    assert result.figure_names
    for name in result.figure_names:
        fig = result.plot(name)
        assert isinstance(fig, Figure) and fig.axes
        assert fig.canvas.manager is None          # not a pyplot figure
    assert isinstance(result.plot(), Figure)
    assert matplotlib.get_backend() == backend
    with pytest.raises(AsymexpError, match="allowed: "):
        result.plot("no-such-figure")
