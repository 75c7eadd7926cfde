"""The fluctuation as a process (docs/validation.md, "The fluctuation process"): the limit covariance
Phi_t S Phi_s^T against V_t of the hierarchy and against the linear response at small eps, the Monte Carlo moment
estimators against known laws, a small end-to-end matrix test, the command's refusals, and the t = 0 keys of the
verb ``asymexp.theory`` against ``asymexp theory --json``."""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import asymexp
from asymexp.cli import main
from asymexp.numeric import load_problem
from asymexp.numeric.process_covariance import (limit_covariance, limit_covariance_error, response_covariance)
from asymexp.stats.process_moments import covariance_estimate, power_fit, standardized_cumulants


@lru_cache(maxsize=None)
def _kernel():
    from asymexp.numeric.problem_kernel import frozen_kernel

    return frozen_kernel(load_problem("tanh4.toml"))


def test_limit_diagonal_is_the_hierarchy_variance():
    """diag C(t, t) = V_t from asymexp.numeric.hierarchy.variance_constant (another code path), within the two
    error estimates."""
    from asymexp.numeric.shallow_theory import shallow_theory

    fk, times = _kernel(), [0.0, 0.5, 1.0, 2.5]
    th = shallow_theory(load_problem("tanh4.toml"), 0.75, times, order=0)
    c = limit_covariance(fk.A, fk.S, fk.m, fk.alpha, times)
    err = limit_covariance_error(fk.A, fk.S, fk.m, fk.alpha, times, fk.error)
    for a in range(len(times)):
        diag = np.diagonal(c[a, :, a, :])
        assert np.all(np.abs(diag - th.V[a]) <= np.diagonal(err[a, :, a, :]) + th.errors["V"][a] + 1e-15)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(0.0, 4.0), min_size=1, max_size=3))
def test_limit_covariance_is_symmetric_and_psd(times):
    """C as a (T P, T P) matrix is symmetric and positive semi-definite (a covariance of Phi_t Z), up to
    rounding of its entries."""
    fk = _kernel()
    c = limit_covariance(fk.A, fk.S, fk.m, fk.alpha, times)
    k = c.shape[0] * c.shape[1]
    m = c.reshape(k, k)
    scale = float(np.max(np.abs(m)))
    assert np.allclose(m, m.T, rtol=0, atol=1e-13 * scale)
    assert np.linalg.eigvalsh(0.5 * (m + m.T)).min() >= -1e-12 * scale * k


def test_linear_response_at_small_eps_is_the_limit_on_the_same_rule():
    """eps^2 Cov(d^{t,p}, d^{s,q}) from the adjoint of the node flow (asymexp.numeric.linear_response) at
    eps = 1e-3 against Phi_t S Phi_s^T with A and S of the same rule: they differ by eps^2 B (|B| < 1: 0.016 on
    this problem) and the adjoint's RK4 error, bounded by twice the change from 16 to 32 steps per unit."""
    from asymexp.numeric.derivative_tensors import expectation_tensors
    from asymexp.numeric.trapezoid_rule import trapezoid_samples

    problem = load_problem("tanh4.toml")
    samples = trapezoid_samples(problem.activation, problem.c_law, problem.w_law, problem.points, 8.0)
    tens = expectation_tensors(problem.activation, samples, problem.points, problem.n_train, 0)
    times, eps = [0.0, 0.4, 1.0], 1e-3
    limit = limit_covariance(tens.A, tens.S, problem.n_train, problem.alpha, times)
    fine = response_covariance(problem, samples, eps, times, 32)
    coarse = response_covariance(problem, samples, eps, times, 16)
    assert np.all(np.abs(fine - limit) <= 2 * np.abs(fine - coarse) + eps ** 2 + 1e-12)
    assert not np.allclose(limit[0, :, 2, :], limit[0, :, 0, :], atol=1e-3)     # the cross-time entries move


def test_moment_estimators_on_known_laws():
    """Standardized cumulants: N(0, 1) gives 0 and 0, Exp(1) gives 2 and 6, within 4 SE, with SEs near their
    Gaussian values sqrt(6/n), sqrt(24/n); the covariance SE of a Gaussian pair is sqrt((s_ii s_jj + s_ij^2) / n)."""
    rng = np.random.default_rng(7)
    n = 200_000
    g = standardized_cumulants(rng.standard_normal((n, 2)))
    assert np.all(np.abs(g["skew"]) <= 4 * g["skew_se"]) and np.all(np.abs(g["kurt"]) <= 4 * g["kurt_se"])
    # the SE estimate's own relative SE is sqrt((E psi^4 / (E psi^2)^2 - 1) / (4 n)), psi = He3, He4 for a
    # Gaussian (E He3^2 = 6, E He3^4 = 3348; E He4^2 = 24, E He4^4 = 368064): 1.1% and 2.8% here; 4 of them allowed
    np.testing.assert_allclose(g["skew_se"], np.sqrt(6 / n), rtol=4 * np.sqrt((3348 / 36 - 1) / (4 * n)))
    np.testing.assert_allclose(g["kurt_se"], np.sqrt(24 / n), rtol=4 * np.sqrt((368064 / 576 - 1) / (4 * n)))
    e = standardized_cumulants(rng.exponential(size=(4 * n, 1)))
    assert abs(e["skew"][0] - 2) <= 4 * e["skew_se"][0] and abs(e["kurt"][0] - 6) <= 4 * e["kurt_se"][0]
    s = np.array([[1.0, 0.6], [0.6, 2.0]])
    x = rng.standard_normal((n, 2)) @ np.linalg.cholesky(s).T
    est = covariance_estimate(x)
    assert np.all(np.abs(est["cov"] - s) <= 4 * est["se"])
    # the SE estimate's relative SE is at most sqrt((E (x^2 - 1)^4 / 4 - 1) / (4 n)) = sqrt(14 / (4 n)) = 0.4%
    np.testing.assert_allclose(est["se"], np.sqrt((np.outer(np.diag(s), np.diag(s)) + s ** 2) / n),
                               rtol=4 * np.sqrt(14 / (4 * n)))


def test_power_fit_recovers_an_exponent_and_skips_unresolved_widths():
    widths = np.array([8, 16, 32, 64])
    values = 0.3 * widths ** -0.75
    fit = power_fit(widths, values, values * 1e-3)
    assert abs(fit["b"] + 0.75) < 1e-9 and fit["resolved"] == widths.tolist()
    se = np.array([1e-4, 1e-4, 1.0, 1.0])                     # the last two are not resolved
    assert power_fit(widths, values, se)["resolved"] == [8, 16]
    assert power_fit(widths, values, np.ones(4))["b"] is None


def test_small_run_passes_the_matrix_test():
    """A seeded run whose covariance entries are judged by the Bonferroni rule: every judged z within the limit
    (a family-wise 5% test; the seed is fixed, nothing is tuned)."""
    from asymexp.validation.fluctuation_process import process_check

    doc = process_check(load_problem("tanh4.toml"), 0.75, [0.5, 1.0], [32, 64], 512, seed=11)
    test = doc["matrix_test"]
    assert test["n_judged"] > 20
    assert test["max_abs_z"] <= test["limit"] and test["verdict"] == "agree"
    k = len(doc["labels"])
    assert np.array(doc["limit"]).shape == (k, k) and len(doc["cumulant_fits"]["skew"]) == k


@pytest.mark.parametrize("args,word", [
    (["--gamma", "1"], "gamma"), (["--gamma", "0.75,0.75"], "one gamma"), (["--times", "1,0.5"], "--times"),
    (["--times", "x"], "--times"), (["--widths", "64"], "two widths"), (["--widths", "64,32"], "--widths"),
    (["--replicas", "4"], "--replicas"), (["--flow-dt", "nan"], "--flow-dt"), (["--flow-dt", "-1"], "--flow-dt")])
def test_process_refusals_are_one_line(capsys, args, word):
    argv = {"--problem": "tanh4.toml", "--gamma": "0.75", "--replicas": "64", "--widths": "8,16", "--times": "0.5"}
    for i in range(0, len(args), 2):
        argv[args[i]] = args[i + 1]
    try:
        code = main(["process", *[w for kv in argv.items() for w in kv]])
    except SystemExit as exc:                   # argparse's refusal (asymexp.cli._Parser.error)
        code = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and word in err[0] and err[0].startswith("asymexp process")


def test_theory_verb_returns_the_t0_keys_of_the_command(capsys):
    """asymexp.theory(..., times=0, widths=...) holds ``cov`` and ``cumulant4`` (details) with their errors
    (errors), equal to ``asymexp theory --json``; without a time 0 neither is there."""
    argv = ["theory", "--problem", "tanh4.toml", "--gamma", "0.75", "--time", "0,1", "--widths", "16", "--order",
            "0", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    res = asymexp.theory("tanh4.toml", 0.75, times=[0, 1], order=0, widths=[16])
    for key in ("cov", "cumulant4"):
        np.testing.assert_array_equal(res.details[key], doc[key])
        np.testing.assert_array_equal(res.errors[key], doc["errors"][key])
    assert res.details["widths"] == doc["widths"] == [16]
    assert "cov" not in asymexp.theory("tanh4.toml", 0.75, times=1, order=0).details


def test_verb_is_the_command(capsys, tmp_path):
    """asymexp.process(...).to_dict() is the ``asymexp process --json`` document (same seed, same numbers), and
    ``out`` holds process.json and summary.md."""
    argv = ["process", "--problem", "tanh4.toml", "--gamma", "3/4", "--times", "0,0.2", "--widths", "4,8",
            "--replicas", "32", "--seed", "5", "--no-progress", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    res = asymexp.process("tanh4.toml", 0.75, times=[0, 0.2], widths=[4, 8], replicas=32, seed=5, out=tmp_path)
    assert json.loads(json.dumps(res.to_dict() | {"figures": []})) == doc | {"figures": []}
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["manifest.json", "process.json",
                                                                                    "summary.md"]
    assert res.verdict in ("agree", "disagree", "undetermined") and len(res.limit) == 10
    assert len(res.plot().axes) == 2


def test_hotelling_p_values_are_uniform_under_the_null():
    """Draws from a known, nearly singular covariance (rank 5 plus 1e-3 I, as the nearly collinear times make
    it): Hotelling's T^2 of the sample covariance against the truth gives p-values that a Kolmogorov-Smirnov test
    does not tell from uniform (at the 0.1% level), and an omitted term of 0 has a bias bound of 0."""
    from scipy.stats import kstest

    from asymexp.validation.fluctuation_process import _hotelling

    rng = np.random.default_rng(1)
    k = 10
    a = rng.standard_normal((k, 5))
    s = a @ a.T + 1e-3 * np.eye(k)
    chol, up = np.linalg.cholesky(s), np.triu_indices(k)
    p_values = []
    for _ in range(20):
        est = covariance_estimate(rng.standard_normal((8192, k)) @ chol.T)
        sig = est["entry_cov"][up[0][:, None], up[1][:, None], up[0][None, :], up[1][None, :]]
        h = _hotelling(0, (est["cov"] - s)[up], sig, 8192, 0.0)
        assert h["bias_bound"] == 0.0 and h["judged"]
        p_values.append(h["p_value"])
    assert kstest(p_values, "uniform").pvalue > 1e-3
