"""Property: every command, given random bad arguments, exits 0 or 2 (3: a diverged MNIST run, docs/interfaces.md)
and never dies with a traceback; a refusal ends stderr with one ``asymexp ...: error: ...`` line.

Each example starts from tiny valid arguments for the command (so that an accepted run takes a second) and
replaces or adds one or two options with random values: unicode text, undecodable bytes, integers down to -1e30,
floats with NaN and -inf, malformed lists and numbers, and crafted bad paths (a file where a folder is needed, a
path under a file, an empty or malformed problem file). The main program runs in-process (``asymexp.cli.main``)
inside a scratch folder. Examples are derandomized, so every run draws the same ones.

Not drawn here: positive sizes above 16 and positive steps below 0.01 (huge widths, replicas, times, tiny
``--flow-dt``). They are valid input that is merely expensive; refusing or pricing them up front is the job of
the size checks, tested with them. ``--workers`` and ``--scheduler`` only get values that start nothing.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import re
import traceback

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from asymexp.cli import COMMANDS, build_parser, main

# Tiny valid arguments per command: an accepted run is quick. Options missing from a command's parser are dropped.
BASE = {
    "info": [], "data": [],
    "spec": ["--gammas", "0.75"],
    "derive": ["--gammas", "0.75", "--order", "1"],
    "theory": ["--problem", "tanh4.toml", "--gamma", "0.75", "--time", "0.1", "--order", "0", "--nodes", "4"],
    "validate": ["--problem", "tanh4.toml", "--gamma", "0.75", "--widths", "4,8", "--replicas", "4",
                 "--time", "0.05", "--sensitivity-width", "0"],
    "mnist": ["--gammas", "1", "--widths", "4", "--epochs", "1", "--n-train", "40", "--n-test", "20",
              "--no-progress"],
    "sweep validate": ["--grid", "gamma=0.75", "--grid", "width=4,8", "--replicas", "4", "--chunk", "4",
                       "--time", "0.05", "--workers", "0", "--out", "sweep-v"],
    "sweep mnist": ["--grid", "gammas=1", "--layers", "1", "--widths", "4", "--n-train", "40", "--n-test", "20",
                    "--workers", "0", "--out", "sweep-m"],
    "plot": ["--sweep", "sweep-m", "--out", "figure.png"],
    "demo": ["--quick", "--out", "a-file"],
    "rmt": ["--size", "4", "--samples", "2", "--factors", "1", "--orders", "1"],
    "warmup": ["--workload", "validate"],
    "fim": ["--widths", "4,6", "--samples", "3", "--layers", "1", "--outputs", "1", "--networks", "2"],
    "gram": ["--widths", "4,6", "--batch", "2", "--depth", "3", "--burn-in", "1", "--runs", "2", "--samples", "1000"],
    "lr-scan": ["--layers", "1", "--width", "4", "--samples", "3", "--steps", "2"],
    "one-step": ["--layers", "1", "--width", "4", "--batch", "3", "--lr-points", "3", "--seeds", "2",
                 "--fraction-layers", "1", "--fraction-activations", "relu", "--fraction-bias-vars", "0"],
    "lr-train": ["--data", "mnist", "--layers", "1", "--width", "4", "--epochs", "1", "--seeds", "1", "--batch", "10",
                 "--lr-per-decade", "1", "--train-samples", "40", "--test-samples", "20", "--no-progress"],
    "process": ["--problem", "tanh4.toml", "--gamma", "0.75", "--times", "0.1", "--widths", "4,8", "--replicas", "16",
                "--no-progress"],
}
PATH_OPTIONS = {"out", "problem", "data_dir", "sweep"}
BAD_PATHS = ["a-file", "a-file/below", "a-folder", "empty.toml", "malformed.toml", "", "/dev/null", "/dev/null/x",
             "missing/deeper"]
DEMO_OUT = ["a-file", "a-file/below", "/dev/null/x"]     # demo: only folders it cannot use (a run is long)
REFUSAL = re.compile(r"^asymexp( [\w-]+)*: error: .+")

_specials = st.sampled_from(["0", "-0", "-1", "1.5", "nan", "-inf", "inf", "1e-400", "1/0", "0x10", "1_000", " 1",
                             "1,", ",", "1,,2", "-", "--", "1/2/3", "g1", "0.75,0.75,0.75", "normal(0,1)",
                             "tcp://", "foo", "=", "--json"])
_floats = st.floats(min_value=-1e30, max_value=16).filter(lambda v: v <= 0 or v >= 0.01).map(repr)
_values = st.one_of(
    _specials,
    st.text(max_size=12),
    st.binary(max_size=8).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.integers(min_value=-10**30, max_value=16).map(str),
    _floats,
    st.lists(st.integers(min_value=-5, max_value=16), max_size=4).map(lambda v: ",".join(map(str, v))),
)
_no_start = st.one_of(st.integers(min_value=-10**6, max_value=-1).map(str), st.sampled_from(["x", "", "1.5", "nan"]))
_schedulers = st.sampled_from(["", "foo", "udp://host:1", "tcp//x", "locale"])


def _parser_for(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in command.split():
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


def _commands() -> list[str]:
    names = []
    for name in COMMANDS:
        if name == "sweep":
            sub = next(a for a in _parser_for("sweep")._actions if isinstance(a, argparse._SubParsersAction))
            names += [f"sweep {kind}" for kind in sub.choices]
        else:
            names.append(name)
    return names


def _options(parser) -> dict[str, argparse.Action]:
    return {a.option_strings[-1]: a for a in parser._actions
            if a.option_strings and not isinstance(a, (argparse._HelpAction, argparse._VersionAction))}


def _base(command: str, options: dict) -> list[str]:
    """BASE[command] without the options this checkout's parser lacks (a value never starts with "--")."""
    argv, words = [], BASE.get(command, [])
    for i, word in enumerate(words):
        if word.startswith("--"):
            value = words[i + 1:i + 2] if i + 1 < len(words) and not words[i + 1].startswith("--") else []
            if word in options:
                argv += [word, *value]
    return argv


def _value_for(command: str, action: argparse.Action):
    if action.dest == "out" and command == "demo":
        return st.sampled_from(DEMO_OUT)
    if action.dest in PATH_OPTIONS:
        return st.sampled_from(BAD_PATHS)
    if action.dest == "workers":
        return _no_start
    if action.dest == "scheduler":
        return _schedulers
    if action.dest in ("flow_dt", "time"):
        return st.one_of(_specials.filter(lambda v: v not in ("1e-400",)), _floats)
    return _values


@st.composite
def _argv(draw, command: str):
    options = _options(_parser_for(command))
    argv = _base(command, options)
    names = sorted(options)
    for flag in draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)):
        action = options[flag]
        if action.nargs == 0:
            argv.append(flag)
            continue
        value = draw(_value_for(command, action))
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    if draw(st.booleans()):
        argv.insert(draw(st.integers(0, len(argv))), draw(st.one_of(_specials, st.text(max_size=6))))
    return argv


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "a-file").write_text("not a folder\n")
    (folder / "a-folder").mkdir()
    (folder / "empty.toml").write_text("")
    (folder / "malformed.toml").write_text("x = [1,\n[data\n")
    return folder


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except Exception:  # noqa: BLE001 - the property under test: no exception leaves main
            pytest.fail(f"asymexp {argv!r} raised:\n{traceback.format_exc()}\nstderr:\n{err.getvalue()}")
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("command", _commands())
def test_random_bad_arguments_exit_0_or_2_without_traceback(command, scratch):
    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(_argv(command))
    def check(argv):
        with contextlib.chdir(scratch):
            status, _, err = _run(command.split() + argv)
        assert "Traceback" not in err, f"asymexp {command} {argv!r}:\n{err}"
        assert status in (0, 2, 3), f"asymexp {command} {argv!r} exited {status}:\n{err}"
        if status == 2:
            lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
            assert lines and REFUSAL.match(lines[-1]), f"asymexp {command} {argv!r}: no one-line refusal:\n{err}"

    check()


def test_every_command_is_fuzzed():
    """A command without tiny valid arguments here would be fuzzed from bare defaults (slow or vacuous)."""
    assert sorted(c for c in _commands() if c not in BASE) == []
