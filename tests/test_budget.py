"""Sizes are estimated before anything is allocated (asymexp.budget, docs/validation.md "Sizes and costs"):
memory that cannot fit is refused, work above a day needs --yes-long-run, large estimates are printed. The CLI
cases use absurd sizes; each must end at once with exit status 2 and one line naming the estimate and the limit
(were the check missing they would allocate or run for days, so these tests cannot pass by accident)."""
import io

import pytest
from hypothesis import given, settings, strategies as st

from asymexp import budget
from asymexp.cli import main

GIB = budget.GIB


def _without_compile_notices(err: str) -> str:
    """stderr less the cold-cache compile notices (asymexp.compile_notice), which depend on which test first
    compiled a kernel in this session, not on the command under test."""
    return "".join(line for line in err.splitlines(True) if not line.startswith("asymexp: compil"))
SHALLOW = ["validate", "--problem", "tanh4.toml", "--gamma", "0.75", "--quad-order", "12"]
DEEP = ["validate", "--problem", "tanh4.toml", "--depth", "2", "--gammas", "0.7,0.9", "--time", "0",
        "--sensitivity-width", "0"]


@pytest.mark.parametrize("argv,needle", [
    (DEEP + ["--widths", "1000000000"], "available"),                                  # 1e18 weights
    (SHALLOW + ["--widths", "16,32", "--replicas", "1000000000000"], "available"),    # results of 1e12 replicas
    (SHALLOW + ["--widths", "16,32", "--time", "1e9", "--dynamics", "gd"], "--yes-long-run"),
    (SHALLOW + ["--widths", "16,32", "--flow-dt", "1e-12"], "--yes-long-run"),
    (SHALLOW + ["--widths", "16,32", "--time", "1e9"], "--yes-long-run"),             # flow, default step
    (["mnist", "--gammas", "0.7", "--widths", "1000000000"], "available"),
    (["mnist", "--gammas", "0.7", "--epochs", "100000000"], "--yes-long-run"),
    (["theory", "--problem", "tanh4.toml", "--gamma", "0.75", "--time", "1", "--nodes", "100000"], "available"),
    (["theory", "--problem", "tanh4.toml", "--gamma", "0.75", "--time", "1", "--method", "monte-carlo",
      "--samples", "100000000000000"], "available"),
    (["fim", "--widths", "1000000000", "--samples", "3"], "available"),                   # 1e18 weights
    (["fim", "--widths", "4,6", "--samples", "3", "--networks", "1000000000"], "--yes-long-run"),
    (["gram", "--widths", "1000000000", "--batch", "4"], "available"),
    (["gram", "--widths", "32", "--depth", "1000000000"], "available"),                  # the error profiles
    (["lr-scan", "--layers", "2", "--width", "1000000000", "--samples", "4"], "available"),
    (["lr-scan", "--layers", "2", "--width", "8", "--samples", "4", "--steps", "1000000000"], "--yes-long-run"),
])
def test_absurd_sizes_are_refused_up_front_with_one_line(argv, needle, capsys):
    assert main(argv) == 2
    err = _without_compile_notices(capsys.readouterr().err)
    assert err.count("\n") == 1 and needle in err and "needs about" in err, err
    assert "Traceback" not in err


def test_check_refuses_memory_above_the_usable_share_and_names_both_numbers():
    est = budget.Estimate("a run", 0.9 * 10 * GIB, 1.0)
    with pytest.raises(budget.BudgetError, match=r"a run needs about 9 GiB.*has 10 GiB available \(test\)"):
        budget.check(est, memory=(10 * GIB, "test"))
    with pytest.raises(budget.BudgetError):                     # no override for memory
        budget.check(est, long_run_ok=True, memory=(10 * GIB, "test"))
    assert budget.check(budget.Estimate("a run", 0.7 * 10 * GIB, 1.0), memory=(10 * GIB, "test"),
                        stream=io.StringIO()) is not None


def test_long_work_needs_the_override_and_large_estimates_are_printed():
    slow = budget.Estimate("slow run", 1024.0, 2 * budget.WORK_LIMIT_S * budget.RATE_FLOPS)
    with pytest.raises(budget.BudgetError, match="--yes-long-run"):
        budget.check(slow, memory=(GIB, "test"))
    out = io.StringIO()
    budget.check(slow, long_run_ok=True, memory=(GIB, "test"), stream=out, prog="asymexp x")
    assert out.getvalue() == "asymexp x: estimated cost of slow run: about 1 KiB, ~2 days\n"
    quiet = io.StringIO()
    budget.check(budget.Estimate("quick", 1024.0, budget.RATE_FLOPS), memory=(GIB, "test"), stream=quiet)
    assert quiet.getvalue() == ""                                 # 1 s: below NOTICE_S, nothing printed


def test_available_memory_is_read_from_the_system():
    n, source = budget.available_memory()
    assert n > 0 and source


@settings(max_examples=80, deadline=None, derandomize=True)
@given(n=st.integers(1, 10 ** 6), replicas=st.integers(2, 10 ** 6), steps=st.integers(0, 10 ** 6),
       m=st.integers(1, 64), d=st.integers(1, 64))
def test_simulation_work_is_linear_in_steps_and_replicas_and_memory_grows_with_replicas(n, replicas, steps, m, d):
    one = budget.simulation([n], replicas, 256, steps, m, m + 1, d, 4)
    two_steps = budget.simulation([n], replicas, 256, 2 * steps, m, m + 1, d, 4)
    two_reps = budget.simulation([n], 2 * replicas, 256, steps, m, m + 1, d, 4)
    init = 8.0 * (d * n + n) * (m + 1) * replicas                 # the initial outputs: no steps
    assert two_steps.flops - init == pytest.approx(2 * (one.flops - init), rel=1e-12)
    assert two_reps.flops == pytest.approx(2 * one.flops, rel=1e-12)
    assert two_steps.bytes == one.bytes and two_reps.bytes > one.bytes


def test_flow_steps_survive_absurd_steps():
    assert budget.flow_steps(1.0, 1 / 64) == 64 and budget.flow_steps(0.0, 1e-300) == 0
    assert budget.flow_steps(1e300, 1e-300) == float("inf")
    with pytest.raises(budget.BudgetError):
        budget.check(budget.Estimate("x", 1.0, float("inf")), long_run_ok=True, memory=(GIB, "test"))


@pytest.mark.parametrize("extra,needle", [(["--grid", "width=1000000000"], "available"),
                                          (["--grid", "width=16,32", "--time", "1e9"], "--yes-long-run")])
def test_sweep_validate_checks_the_whole_grid_up_front(extra, needle, tmp_path, capsys):
    argv = ["sweep", "validate", "--grid", "gamma=0.6,0.75", "--out", str(tmp_path / "s"), "--workers", "0",
            "--quad-order", "12"] + extra
    assert main(argv) == 2
    err = _without_compile_notices(capsys.readouterr().err)
    assert err.count("\n") == 1 and needle in err and "sweep validate (2 gammas" in err, err


def test_simulate_from_python_refuses_what_cannot_fit_or_count():
    import numpy as np

    from asymexp.sim import SimError, simulate
    from asymexp.spec import NetworkSpec

    x = np.array([[0.1, -0.3, 1.0], [0.8, 0.4, 1.0]])
    y = np.array([0.5, -0.2])

    def spec(width):
        return NetworkSpec.from_strings("3/4", width, activation="tanh", input_dim=3)

    with pytest.raises(budget.BudgetError, match="simulate of 4 networks of widths 1000000000 needs about"):
        simulate(spec("1000000000"), x, y, x, [1.0], 4)
    with pytest.raises(SimError, match="at most 2\\^53"):
        simulate(spec("16"), x, y, x, [1e300], 4, dynamics="gd")
    with pytest.raises(SimError, match="at most 2\\^53"):
        simulate(spec("16"), x, y, x, [1.0], 4, flow_dt=1e-300)


@pytest.mark.parametrize("extra,needle", [(["--widths", "1000000000"], "available"),
                                          (["--epochs", "10000000"], "--yes-long-run")])
def test_sweep_mnist_prices_the_whole_grid_up_front(extra, needle, tmp_path, capsys):
    argv = ["sweep", "mnist", "--grid", "gammas=0.5,1", "--layers", "2", "--out", str(tmp_path / "s"),
            "--workers", "0"] + extra
    assert main(argv) == 2
    err = _without_compile_notices(capsys.readouterr().err)
    assert err.count("\n") == 1 and needle in err and "sweep mnist (4 runs" in err, err
    assert not (tmp_path / "s" / "tasks").exists()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(epochs=st.integers(1, 400), k=st.integers(1, 50))
def test_training_work_counts_the_evaluated_epochs_and_the_non_zero_pixels(epochs, k):
    """The evaluated epochs are 1, k+1, 2k+1, ... and the last (as asymexp.mnist.train.is_evaluated); each costs one
    forward pass over the training and test images, with the first layer on the non-zero pixels only."""
    from asymexp.mnist.train import is_evaluated

    sizes, n_train, n_test = [784, 30, 10], 500, 100
    every, sparse = (budget.training(sizes, n_train, n_test, epochs, 20, 4, eval_every=e) for e in (1, k))
    evaluated = sum(is_evaluated(e, epochs, k) for e in range(1, epochs + 1))
    touched = budget.NONZERO_PIXELS * 784 * 30 + (30 * 10 + 30 + 10)
    assert every.flops - sparse.flops == pytest.approx((epochs - evaluated) * 2 * touched * (n_train + n_test))
    # one epoch, no evaluation saved: forward + gradients on touched weights, deltas above the first layer, updates
    one = budget.training(sizes, n_train, n_test, 1, 20, 4)
    params = 784 * 30 + 30 + 30 * 10 + 10
    upper = params - 784 * 30
    assert one.flops == pytest.approx(n_train * (4 * touched + 2 * upper) + 2 * params * 25
                                      + 2 * touched * (n_train + n_test))
