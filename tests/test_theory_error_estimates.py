"""The projected trapezoid rule, the compiled tensor accumulation and the error estimates of the theory layer.

Statistical basis: everything here is deterministic quadrature. References are independent: mpmath (30 digits) for
one-dimensional Gaussian integrals, the theta-space derivative tensors (NumPy einsum) for the compiled closed forms,
and for h, V, Q2 a finer trapezoid rule in an unrotated frame (design exponent 1.3 times the finest rule used, so
its own error is ~e^{-0.3 kappa} times that rule's, while the estimate is ~e^{+0.2 kappa} times it). The property tested is the one the estimates
promise: |value - reference| <= estimate at every entry.
"""
import json
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from asymexp.cli import main
from asymexp.errors import SpecError
from asymexp.inputs.problems import Problem
from asymexp.numeric import kernel_matrices, load_problem, shallow_theory
from asymexp.numeric import trapezoid_rule
from asymexp.numeric.derivative_tensors import derivative_tensors, expectation_tensors
from asymexp.numeric.error_control import Tolerance, parse_tolerance
from asymexp.numeric.quadrature import monte_carlo_samples
from asymexp.numeric.shallow_theory import _solve
from asymexp.spec import Law


def einsum_tensors(activation, samples, x, m):
    """The theta-space definitions of docs/theory-layer.md, summed with NumPy (the closed forms' reference)."""
    f, gf, hf, d3 = derivative_tensors(activation, samples.c, samples.w, x, 3)
    wq = samples.weight
    hg = np.einsum("kpij,knj->kpni", hf, gf)
    gm = gf[:, :m]
    d3ab = np.einsum("kpijl,kaj,kbl->kpiab", d3, gm, gm)
    return {"A": np.einsum("k,kpi,kqi->pq", wq, gf, gf), "mean_f": wq @ f,
            "G1": np.einsum("k,kqi,kpni->pqn", wq, gf, hg[:, :, :m]),
            "Ta": np.einsum("k,kpai,kqbi->pqab", wq, hg[:, :, :m], hg[:, :, :m]),
            "G2b": np.einsum("k,kpqi,kabi->pqab", wq, hg, hg[:, :m, :m]),
            "G2c": np.einsum("k,kqi,kpiab->pqab", wq, gf, d3ab)}


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
@pytest.mark.parametrize("rule", ["monte-carlo", "trapezoid"])
def test_compiled_closed_forms_equal_the_theta_space_definitions(activation, rule):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(5, 3))
    c_law, w_law = Law.parse("uniform(-1,2)"), Law.parse("normal(1/5,1)")
    if rule == "trapezoid":
        samples = trapezoid_rule.trapezoid_samples(activation, c_law, w_law, x, 6.0)
    else:
        samples = monte_carlo_samples(c_law, w_law, 3, 300, seed=2)
    got = expectation_tensors(activation, samples, x, 3, 2)
    for name, ref in einsum_tensors(activation, samples, x, 3).items():
        scale = np.max(np.abs(ref)) + 1e-300
        # the same sums in another order: rounding only (1e-13 relative for ~1000 terms of size <= 10)
        assert np.max(np.abs(getattr(got, name) - ref)) <= 1e-13 * scale, name


@given(st.integers(2, 3), st.floats(-0.7, 0.7), st.floats(0.3, 1.5), st.integers(0, 10**6))
@settings(max_examples=10, deadline=None)
def test_trapezoid_rule_integrates_second_moments_exactly(dim, mu, s, seed):
    x = np.random.default_rng(seed).uniform(-1.5, 1.5, size=(dim + 1, dim))
    kappa = 24.0
    samples = trapezoid_rule.trapezoid_samples("tanh", Law.parse("normal(0,1)"), Law("normal", mu, s), x, kappa)
    u = samples.w @ x.T
    mean = mu * x.sum(axis=1)
    cov = s * s * x @ x.T
    assert samples.weight.sum() == pytest.approx(1.0, abs=1e-14)
    # z^2 phi(z) is entire; its Fourier transform at k is (1 - k^2) e^{-k^2/2}, at most 2 kappa e^{-kappa} in size
    # for the steps' k >= sqrt(2 kappa); two aliases (+-k) per direction, summed over r <= dim directions; plus
    # the rounding of a plain sum of K positive terms (K eps relative)
    scale = np.max(np.abs(cov))
    bound = 2 * dim * 2 * kappa * np.exp(-kappa) * scale + len(samples) * 2.2e-16 * scale
    np.testing.assert_allclose(samples.weight @ u, mean, rtol=0, atol=bound)
    np.testing.assert_allclose(np.einsum("k,kp,kq->pq", samples.weight, u - mean, u - mean), cov, rtol=0, atol=bound)


def test_geometric_convergence_of_a_kernel_entry_against_mpmath():
    # E[tanh(u)^2], u ~ N(0, 2.5^2): poles at distance pi/2 / 2.5 in z; the error must fall like e^{-kappa}
    mpmath.mp.dps = 30
    sd = 2.5
    ref = float(mpmath.quad(lambda z: mpmath.tanh(sd * z) ** 2 * mpmath.npdf(z), [-mpmath.inf, -2, 0, 2, mpmath.inf]))
    x = np.array([[sd]])
    errs = []
    kappas = (8.0, 12.0, 16.0, 20.0, 24.0)
    for kappa in kappas:
        smp = trapezoid_rule.trapezoid_samples("tanh", Law.parse("normal(0,1)"), Law.parse("normal(0,1)"), x, kappa)
        errs.append(abs(smp.weight @ np.tanh(smp.w @ x.T)[:, 0] ** 2 - ref))
    # tanh^2 = 1 - sech^2 has double poles: the aliasing error is C kappa e^{-kappa} with C set by the residue; the
    # rate is what the rule promises, so err / (kappa e^{-kappa}) must stay constant (within a factor 2) over
    # kappa = 8..24, where the error falls by six orders of magnitude
    model = np.array(errs) / (np.array(kappas) * np.exp(-np.array(kappas)))
    assert model.max() <= 2 * model.min(), errs


def _random_problem(draw_x, activation, c_law, w_law, n_train):
    y = np.linspace(-0.4, 0.6, n_train)
    return Problem(activation, 1.0, Law.parse(c_law), Law.parse(w_law), draw_x[:n_train], y, draw_x[n_train:])


problems = st.builds(
    lambda seed, dim, radius, activation, c_law, w_law, n_train: _random_problem(
        np.hstack([np.random.default_rng(seed).uniform(-radius, radius, (n_train + 1, dim - 1)),
                   np.ones((n_train + 1, 1))]), activation, c_law, w_law, n_train),
    st.integers(0, 10**6), st.integers(2, 3), st.floats(0.3, 1.1), st.sampled_from(["tanh", "sigmoid"]),
    st.sampled_from(["uniform(-1,1)", "uniform(0,1)", "normal(0,1)"]),
    st.sampled_from(["normal(0,1)", "normal(1/4,1)", "normal(0,3/4)"]), st.integers(2, 4))


@given(problems, st.sampled_from([1e-4, 1e-5]))
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_error_estimates_bound_the_actual_errors(problem, abs_tol):
    t = np.array([1.5])
    th = shallow_theory(problem, 0.75, t, order=2, tol=Tolerance(abs_tol, 0.0), max_nodes=200_000)
    assert th.rule == "trapezoid" and th.tolerance["met"] in (True, False)
    frame, load = trapezoid_rule.projected_frame(problem.w_law, problem.points)
    # reference: a finer rule without the rotation of the frame (other nodes, not a refinement of the same grid)
    trapezoid_rule._frame.cache_clear()
    saved = trapezoid_rule.ROTATIONS
    try:
        trapezoid_rule.ROTATIONS = 0
        ref_samples = trapezoid_rule.trapezoid_samples(problem.activation, problem.c_law, problem.w_law,
                                                       problem.points, 1.3 * th.kappa)
    finally:
        trapezoid_rule.ROTATIONS = saved
        trapezoid_rule._frame.cache_clear()
    tens = expectation_tensors(problem.activation, ref_samples, problem.points, problem.x.shape[0], 2)
    ref = _solve(problem, tens, t, 2)[0]
    for key in ("h", "V", "Q1", "Q2"):
        assert np.all(np.abs(getattr(th, key) - ref[key]) <= th.errors[key]), key
    if th.tolerance["met"]:
        for key in ("h", "V", "Q2"):
            assert np.all(th.errors[key] <= abs_tol)


@given(st.floats(0.3, 2.8), st.floats(-0.5, 0.5), st.sampled_from(["tanh", "sigmoid"]))
@settings(max_examples=8, deadline=None)
def test_kernel_error_bounds_the_diagonal_against_mpmath(norm, mu, activation):
    # A(x, x) = E[sigma(u)^2] + E[c^2] E[sigma'(u)^2] |x|^2, u ~ N(mu sum(x), |x|^2): one-dimensional integrals
    x = np.array([[norm * 0.6, norm * 0.8]])
    problem = Problem(activation, 1.0, Law.parse("uniform(-1,1)"), Law("normal", mu, 1), x, np.array([0.2]),
                      np.zeros((0, 2)))
    A, S, err = kernel_matrices(problem)
    mpmath.mp.dps = 20
    sig = {"tanh": mpmath.tanh, "sigmoid": lambda u: 1 / (1 + mpmath.exp(-u))}[activation]
    dsig = {"tanh": lambda u: mpmath.sech(u) ** 2, "sigmoid": lambda u: sig(u) * (1 - sig(u))}[activation]

    def gauss(fn):
        m = mu * x.sum()
        return mpmath.quad(lambda z: fn(m + norm * z) * mpmath.npdf(z), [-mpmath.inf, -3, 0, 3, mpmath.inf])

    e_s2 = gauss(lambda u: sig(u) ** 2)
    e_d2 = gauss(lambda u: dsig(u) ** 2)
    ref_a = float(e_s2 + mpmath.mpf(1) / 3 * e_d2 * norm**2)
    # the estimate bounds the actual error, and kernel_matrices' target 1e-10 (1 + |entry|) was met
    assert abs(A[0, 0] - ref_a) <= err and err <= 1e-10 * (1 + max(np.max(np.abs(A)), np.max(np.abs(S))))


def test_parse_tolerance_and_its_errors():
    assert parse_tolerance("1e-7") == Tolerance(1e-7, 0.0)
    assert parse_tolerance("1e-7,1e-5") == Tolerance(1e-7, 1e-5)
    for bad in ("x", "-1", "0,0", "1,2,3", "nan"):
        with pytest.raises(SpecError, match="--tol"):
            parse_tolerance(bad)


def test_an_unmet_tolerance_is_reported_with_the_achieved_errors():
    th = shallow_theory(load_problem("tanh4.toml"), 0.75, [1.0], order=2, tol=Tolerance(1e-12, 0.0), max_nodes=3000)
    assert th.tolerance["met"] is False and "node budget" in th.tolerance["reason"]
    assert any(note.startswith("tolerance") and "Q2" in note for note in th.notes)
    assert th.tolerance["worst"]["Q2"] > 1 and th.theory_error["Q2"] == np.max(th.errors["Q2"])


def test_cli_reports_errors_and_strict_exits_2_with_one_line(capsys):
    assert main(["theory", "--problem", "tanh4.toml", "--gamma", "0.75", "--time", "1", "--tol", "1e-5",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rule"] == "trapezoid" and doc["tolerance"]["met"] is True
    for key in ("h", "V", "Q1", "Q2"):
        assert np.shape(doc["errors"][key]) == np.shape(doc[key])
        assert max(doc["errors"][key]) <= 1e-5
    argv = [sys.executable, "-m", "asymexp", "theory", "--problem", "tanh4.toml", "--gamma", "0.75", "--time", "1",
            "--tol", "1e-17", "--strict", "--nodes", "6", "--json"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "--tol" in lines[0] and "achieved" in lines[0]
    assert json.loads(proc.stdout)["tolerance"]["met"] is False


@pytest.mark.parametrize("name,gammas", [("sigmoid4.toml", [0.5, 0.75]), ("tanh4.toml", [0.5, 0.5])])
def test_deep_errors_bound_a_finer_computation(name, gammas):
    from asymexp.numeric.deep_theory import deep_theory

    p = load_problem(name)
    d = deep_theory(p, gammas, None, [1.0], order=12)
    ref = deep_theory(p, gammas, None, [1.0], order=64)     # Gauss-Hermite error ~e^{-c sqrt(64)}, far below
    for key in ("h", "V", "A", "S"):
        assert np.all(np.abs(d[key] - ref[key]) <= d["errors"][key]), key
