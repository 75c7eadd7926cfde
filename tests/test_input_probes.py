"""Absurd inputs are refused in one line with exit status 2, or priced before the work (docs/interfaces.md):
overflowing moment orders, sample counts and variances, undecodable problem files, a Dask scheduler that is not
there, times and depths whose work grows without bound. The Python verbs raise AsymexpError with the same line.

The table runs the main program in-process (fast); two probes run as real processes to prove the exit status.
"""
from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

import asymexp
from asymexp import budget
from asymexp.cli import main
from asymexp.errors import AsymexpError
from asymexp.inputs.problems import load_problem

HUGE = "1" + "0" * 30
FIM = ["fim", "--widths", "4,6", "--layers", "1", "--outputs", "1", "--networks", "2"]
THEORY = ["theory", "--problem", "tanh4.toml", "--gamma", "0.75"]
SWEEP = ["sweep", "validate", "--grid", "gamma=0.75", "--grid", "width=4,8", "--replicas", "4", "--chunk", "4",
         "--time", "0.05"]

# (argv, a fragment of the one stderr line); BAD_TOML is replaced by a file of undecodable bytes.
PROBES = [
    (["rmt", "--orders", "1000", "--size", "4", "--samples", "2", "--factors", "1"], "orders 1..512 are allowed"),
    (["rmt", "--orders", "1000"], "orders 1..262 are allowed"),
    (["rmt", "--orders", HUGE, "--size", "4", "--samples", "2", "--factors", "3"], "orders 1..315 are allowed"),
    (["rmt", "--factors", HUGE, "--size", "4"], "flops"),
    (["fim", "--rho", "1e-300", "--widths", "64,128"], "T <= 2^53 is required"),
    (["lr-scan", "--layers", "1", "--width", "8", "--ratio", "inf"], "a bracket ratio in (1, 10] is required"),
    (["lr-scan", "--layers", "1", "--width", "8", "--ratio", "nan"], "a bracket ratio in (1, 10] is required"),
    (FIM + ["--rho", "1e-310"], "T <= 2^53 is required"),
    (["lr-scan", "--layers", "1", "--widths", "8,16", "--rho", "1e-310"], "T <= 2^53 is required"),
    (FIM + ["--samples", HUGE], "a run may plan"),
    (FIM + ["--samples", "3", "--weight-var", "1e300"], "variances in [1e-150, 1e+150] are required"),
    (FIM + ["--samples", "3", "--weight-var", "1e-300"], "variances in [1e-150, 1e+150] are required"),
    (FIM + ["--samples", "3", "--bias-var", "1e300"], "variances in [1e-150, 1e+150] are required"),
    (["theory", "--problem", "BAD_TOML", "--gamma", "0.75", "--time", "1"], "must be UTF-8 TOML"),
    (THEORY + ["--time", "1e300"], "above the work limit"),
    (["validate", "--problem", "tanh4.toml", "--gamma", "0.75", "--widths", "16,32", "--time", "1e300"],
     "above the work limit"),
    (THEORY + ["--time", "-1"], "finite times >= 0 are required"),
    (THEORY + ["--time", "nan"], "finite times >= 0 are required"),
    (THEORY + ["--time", "inf"], "finite times >= 0 are required"),
    (["derive", "--order-parameters", "--layers", "100000"], "a run may plan"),
    (["derive", "--order-parameters", "--layers", HUGE], "a run may plan"),
    (["derive", "--order-parameters", "--layers", "20000", "--weight-var", "2", "--bias-var", "0"],
     "above the work limit"),
    (["derive", "--order-parameters", "--layers", "0"], "an integer >= 1 is required"),
    (["derive", "--gammas", ",".join(["3/4"] * 3000)], "above the work limit"),       # work ~ L^3
    (["derive", "--gammas", "0.75", "--order", "100000"], "the order must be an integer in 1..5"),
]


#: The compile notice's lines (asymexp.compile_notice), progress rather than part of a refusal.
COMPILE_LINES = ("asymexp: compiling", "asymexp: compiled", "asymexp: still compiling")


@pytest.fixture
def bad_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b'x = "\xff\xfe"\n')
    return path


def _refusal(argv, capsys) -> str:
    try:
        status = main(argv)
    except SystemExit as exc:        # argparse's refusals
        status = exc.code
    err = capsys.readouterr().err
    # a cold kernel cache (or a loaded machine) may add the compile notice's progress lines; the refusal is the rest
    lines = [line for line in err.splitlines() if line.strip() and not line.lstrip("\r").startswith(COMPILE_LINES)]
    assert status == 2 and "Traceback" not in err, err
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("argv, fragment", PROBES, ids=[" ".join(p[0])[:60] for p in PROBES])
def test_absurd_input_is_one_line_and_exit_2(argv, fragment, bad_toml, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    line = _refusal([str(bad_toml) if a == "BAD_TOML" else a for a in argv], capsys)
    assert line.startswith(f"asymexp {argv[0]}: error: ") and fragment in line, line


def test_a_long_derivation_runs_with_yes_long_run_and_is_priced(capsys):
    """The override is accepted by derive; a small depth runs and prints nothing about its cost."""
    assert main(["derive", "--order-parameters", "--layers", "2", "--yes-long-run", "--json"]) == 0
    assert "estimated cost" not in capsys.readouterr().err


def test_missing_scheduler_is_named_within_seconds(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    line = _refusal(SWEEP + ["--out", "sv", "--scheduler", "tcp://127.0.0.1:1"], capsys)
    assert "--scheduler tcp://127.0.0.1:1: no Dask scheduler answered there within 5 s" in line, line


def test_scheduler_without_dask_says_to_install_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "dask.distributed", None)       # import dask.distributed -> ImportError
    line = _refusal(SWEEP + ["--out", "sv", "--scheduler", "tcp://127.0.0.1:1"], capsys)
    assert "needs Dask: pip install 'asymexp[dask]'" in line, line


@pytest.mark.parametrize("argv, fragment", [
    (["theory", "--problem", "BAD_TOML", "--gamma", "0.75", "--time", "1"], "must be UTF-8 TOML"),
    (["rmt", "--orders", "1000", "--size", "4", "--samples", "2", "--factors", "1"], "orders 1..512"),
])
def test_real_process_exits_2_with_one_line(argv, fragment, bad_toml, tmp_path):
    argv = [str(bad_toml) if a == "BAD_TOML" else a for a in argv]
    proc = subprocess.run([sys.executable, "-m", "asymexp", *argv], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and fragment in lines[0], proc.stderr


@pytest.mark.parametrize("call, fragment", [
    (lambda p: asymexp.rmt("1", size=4, samples=2, orders=1000), "orders 1..512"),
    (lambda p: asymexp.rmt("1", size=4, samples="x"), "--samples 'x' is not allowed"),
    (lambda p: asymexp.rmt("1", size=4, samples=2, orders=2.5), "--orders 2.5 is not allowed"),
    (lambda p: asymexp.fim("64,128", rho=1e-300), "T <= 2^53"),
    (lambda p: asymexp.fim("4,6", samples=math.inf), "samples = inf is not allowed"),
    (lambda p: asymexp.fim("4,6", samples=3, layers=math.nan), "layers = nan is not allowed"),
    (lambda p: asymexp.fim("4,6", samples=3, networks="2"), "networks = '2' is not allowed"),
    (lambda p: asymexp.theory(p, 0.75, times=1.0), "must be UTF-8 TOML"),
    (lambda p: asymexp.theory("tanh4.toml", 0.75, times=1e300), "above the work limit"),
])
def test_python_verbs_raise_asymexp_error(call, fragment, bad_toml):
    with pytest.raises(AsymexpError) as info:
        call(bad_toml)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("samples", [1e200, 10 ** 400, math.inf, math.nan])
def test_budget_estimates_saturate_instead_of_raising(samples):
    """An estimate whose arithmetic overflows is infinite, and check refuses it in one line."""
    estimate = budget.fim_study(2, [64, 128], lambda m: samples, 2, 4, 1, lambda m: m)
    assert not math.isfinite(estimate.flops) and not math.isfinite(estimate.bytes)
    with pytest.raises(budget.BudgetError, match="a run may plan"):
        budget.check(estimate, long_run_ok=True)


def test_time_integration_is_priced_by_alpha_lambda_t():
    """Linear in alpha lam_max t beyond the start (the step is bounded by stability), and above a day at 1e300."""
    short, long = (budget.time_integration(r, 5, 4, 2) for r in (1e6, 2e6))
    assert long.flops / short.flops == pytest.approx(2.0, rel=1e-3)
    assert budget.time_integration(1e299, 5, 4, 2).seconds > budget.WORK_LIMIT_S


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_as_a_problem_file_parse_or_raise_asymexp_error(tmp_path_factory, payload):
    path = tmp_path_factory.mktemp("problem") / "random.toml"
    path.write_bytes(payload)
    try:
        load_problem(path)
    except AsymexpError as exc:
        assert "\n" not in str(exc).strip() or "not valid TOML" in str(exc)
