"""The default RK4 step of gradient flow (asymexp.validation.flow_step, docs/validation.md "Flow step"): chosen
from the limit kernel's rates so that the step error is below 1e-10 of the training residual, the same for
every width, and stated with its error.

Basis: for -1 <= z < 0, e^z - R(z) is an alternating series with decreasing terms, so |R(z) - e^z| <= |z|^5/120
and |R(z)| <= 1, hence |R^n - e^{nz}| <= n |z|^5 / 120 = t mu^5 h^4 / 120 (the bound the first test checks
against the exact error). The simulation tests compare steps h and h/2 on the same replicas: RK4's error
falls 16-fold when h halves, so their difference is about the error at h, which the rule bounds by
relative_error_bound times the initial training residual |y - g_0|."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.inputs.problems import load_problem
from asymexp.sim import simulate
from asymexp.validation import flow_step

PROBLEM = load_problem("tanh4.toml")


@settings(max_examples=200, deadline=None, derandomize=True)
@given(mu=st.floats(1e-3, 10.0), t=st.floats(0.01, 10.0), n=st.integers(1, 5000))
def test_exact_error_is_below_the_fifth_order_bound(mu, t, n):
    h = t / n
    if mu * h > 1:
        return
    # rounding: R(z) by Horner carries <= 4 ulp, raised to the n-th power n * 4 ulp; exp(-mu t) 1 ulp
    rounding = (4 * n + 1) * np.finfo(float).eps
    assert flow_step.relative_error([mu], t, n) <= t * mu ** 5 * h ** 4 / 120 + rounding


@settings(max_examples=60, deadline=None, derandomize=True)
@given(top=st.floats(0.01, 20.0), t=st.floats(0.01, 100.0))
def test_chosen_step_is_the_largest_that_meets_the_tolerance(top, t):
    rates = np.array([top / 7, top / 2, top])
    c = flow_step.choose_step(rates, t)
    n = c["steps"]
    assert c["relative_error_bound"] <= flow_step.REL_TOL
    assert c["relative_error"] <= c["relative_error_bound"]
    assert flow_step.SAFETY * top * c["flow_dt"] <= flow_step.MAX_STEP_RATE * (1 + 1e-12)
    fewer_ok = (flow_step.relative_error(flow_step.covering_rates(rates), t, n - 1) <= flow_step.REL_TOL
                and flow_step.SAFETY * top * t / (n - 1) <= flow_step.MAX_STEP_RATE) if n > 1 else False
    assert not fewer_ok


def _outputs(width, dt, replicas=4):
    spec = PROBLEM.spec([Fraction(3, 4)], [width])
    res = simulate(spec, PROBLEM.x, PROBLEM.y, PROBLEM.x, [1.0], replicas, seed=3, dynamics="flow",
                   alpha=PROBLEM.alpha, flow_dt=dt)
    return res.outputs[:, 0, :], res.g0


@pytest.mark.parametrize("width", [16, 64])
def test_halving_the_default_step_changes_the_outputs_by_less_than_the_stated_error(width):
    dt, chosen = flow_step.resolve(PROBLEM, 1.0, None, quad_order=12)
    assert chosen and dt == flow_step.resolve(PROBLEM, 1.0, None, quad_order=12)[0]   # no width goes in
    report = flow_step.choose_step(flow_step.problem_rates(PROBLEM, 12), 1.0)
    assert report["flow_dt"] == dt and 1 / 256 < dt < 1 / 8
    g, g0 = _outputs(width, dt)
    half, _ = _outputs(width, dt / 2)
    residual = np.linalg.norm(PROBLEM.y[None, :] - g0, axis=1)                        # (R,)
    change = np.max(np.abs(g - half), axis=1)
    assert np.all(change <= report["relative_error_bound"] * residual)
    coarse, _ = _outputs(width, 8 * dt)          # 8x the step: about 8^4 = 4096x the error, beyond the bound
    assert np.any(np.max(np.abs(coarse - half), axis=1) > report["relative_error_bound"] * residual)


def test_validate_uses_and_states_one_default_step_for_every_width(tmp_path):
    """The step the tasks ran with (their parameter files) is the one the document states, and it is the same
    for small and large widths (the old default 1/N would give 1/8 ... 1/64 here)."""
    import json

    from asymexp.validation import validate_shallow

    steps = set()
    for k, widths in enumerate(([8, 16], [32, 64])):
        out = tmp_path / f"run{k}"
        doc = validate_shallow(PROBLEM, "3/4", widths, 4, t=0.5, seed=1, quad_order=12, out=out, progress=False)
        st = doc["flow_step"]
        assert st["chosen_by"] == "default rule" and st["flow_dt"] == doc["flow_dt"]
        assert st["relative_error"] <= st["relative_error_bound"] <= flow_step.REL_TOL
        ran = {json.loads(p.read_text())["params"]["flow_dt"] for p in (out / "tasks").glob("*.json")}
        assert ran == {doc["flow_dt"]}
        steps.add(doc["flow_dt"])
    assert len(steps) == 1 and steps.pop() not in (1 / 8, 1 / 16, 1 / 32, 1 / 64)


def test_python_simulate_chooses_the_step_from_the_kernel_and_says_so():
    """asymexp.simulate without flow_dt: the step is spec_step's (no width goes in), the result states it, and
    halving it moves the outputs by less than the stated bound times the residual (same basis as above); with
    flow_dt given, that step runs and the result says so."""
    import asymexp

    spec = PROBLEM.spec(["3/4"], [32])
    run = asymexp.simulate(spec, PROBLEM.x, PROBLEM.y, times=[1.0], replicas=4, seed=2, alpha=PROBLEM.alpha)
    step = run.flow_step
    assert step["chosen_by"] == "default rule"
    assert step["flow_dt"] == flow_step.spec_step(spec, PROBLEM.x, 1.0, PROBLEM.alpha)["flow_dt"]
    assert step["flow_dt"] != 1 / 32 and step["relative_error_bound"] <= flow_step.REL_TOL
    half = asymexp.simulate(spec, PROBLEM.x, PROBLEM.y, times=[1.0], replicas=4, seed=2, alpha=PROBLEM.alpha,
                            flow_dt=step["flow_dt"] / 2)
    assert half.flow_step == {"flow_dt": step["flow_dt"] / 2, "chosen_by": "given by flow_dt"}
    residual = np.linalg.norm(PROBLEM.y[None, :] - run.g0, axis=1)
    change = np.max(np.abs(run.outputs[:, 0, :] - half.outputs[:, 0, :]), axis=1)
    assert np.all(change <= step["relative_error_bound"] * residual)


def test_deep_flow_takes_the_smallest_default_step_of_its_networks_and_states_it(tmp_path):
    """Deep validate with --dynamics flow: every task ran with the step the document states, that step is the
    smallest spec_step over the networks trained (not 1/N_L), and a given --flow-dt is used as given."""
    import json

    from asymexp.validation.deep_validation import deep_flow_step, validate_deep

    gammas, widths = ["3/5", "9/10"], [8, 16]
    out = tmp_path / "deep"
    doc = validate_deep(PROBLEM, gammas, widths, 4, t=0.5, seed=1, dynamics="flow", sensitivity_width=None,
                        out=out, progress=False)
    st = doc["flow_step"]
    own = [flow_step.spec_step(PROBLEM.spec(gammas, [n, n]), PROBLEM.x, 0.5, PROBLEM.alpha)["flow_dt"] for n in widths]
    assert st["chosen_by"] == "default rule" and doc["flow_dt"] == st["flow_dt"] == min(own)
    assert st["relative_error_bound"] <= flow_step.REL_TOL and st["flow_dt"] not in (1 / 8, 1 / 16)
    ran = {json.loads(p.read_text())["params"]["flow_dt"] for p in (out / "tasks").glob("*.json")}
    assert ran == {doc["flow_dt"]}
    assert deep_flow_step(PROBLEM, [(gammas, [8, 8])], 0.5, 0.01) == {"flow_dt": 0.01, "chosen_by": "given by --flow-dt"}
