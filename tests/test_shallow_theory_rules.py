"""The shallow theory layer's error rules and sample accounting (docs/theory-layer.md, "Error estimates"), each
held against an independent evaluation of the rule as the docs state it:

- a fixed Gauss rule of q nodes per dimension reports SAFETY |value(q) - value(q')| + rounding, q' = max(4,
  round(3q/4)), where value(q') is computed by a separate call at q' nodes;
- for a uniform law of w the kernel A, S comes from a larger rule k and its error from k' = max(q, round(3k/4)),
  where A(k), A(k') come from :func:`kernel_matrices` (another code path, another c-rule: equal to rounding);
- Monte Carlo uses n - n mod 10 draws in 10 equal batches and reports no nodes;
- a target that a fixed rule misses is reported as missed;
- Q_{3,0}: by quadrature, the error is the difference from the rule at 3/4 of Q3_QUAD_ORDER; by Monte Carlo, the
  mean of two halves of min(n // 10, 20000) draws with error |a - b| / 2, both recomputed here from the same
  draws with a plain call of the contraction solver.

All comparisons are of the same floating-point operations, so tolerances are rounding-level (1e-12 relative),
except where two c-rules integrate the same polynomial in c (1e-9 relative: different summation order).
"""
import importlib
from fractions import Fraction

import numpy as np

from asymexp.inputs.problems import load_problem, problem_from_mapping
from asymexp.numeric.error_control import difference_errors, Tolerance
from asymexp.numeric.quadrature import KERNEL_MAX_NODES_PER_DIM, KERNEL_NODE_BUDGET, default_order
from asymexp.numeric.shallow_theory import kernel_matrices, shallow_theory, third_order

theory_module = importlib.import_module("asymexp.numeric.shallow_theory")   # the package re-exports the function

TANH = load_problem("tanh4.toml")
TIMES = [0.5, 1.0]


def _skewed_c_problem():
    """Q_{3,0} vanishes for a symmetric law of c (it is odd in c): this one is skewed."""
    return problem_from_mapping({"activation": "sigmoid", "alpha": 1.0,
                                 "init": {"c": "uniform(-0.5,1)", "w": "normal(0,1)"},
                                 "data": {"x": [[0.1, -0.3, 1.0], [0.8, 0.4, 1.0], [-0.6, 0.7, 1.0]],
                                          "y": [0.5, -0.2, 0.3]}})


SKEWED = _skewed_c_problem()


def _uniform_w_problem():
    """Large inputs make tanh(w.x) steep, so that the Gauss-Legendre rules of 48, 72 and 96 nodes differ by far more
    than rounding (about 3e-6 and 2e-9 from 96): the rule that picks the kernel's second order is visible."""
    return problem_from_mapping({"activation": "tanh", "alpha": 1.0,
                                 "init": {"c": "uniform(-1,1)", "w": "uniform(-1,1)"},
                                 "data": {"x": [[3.0, -5.0], [9.0, 2.0], [-4.0, 8.0]], "y": [0.2, -0.1, 0.4]}})


def test_a_fixed_rule_reports_the_difference_from_three_quarters_of_its_order():
    fine = shallow_theory(TANH, "3/4", TIMES, order=2, quad_order=6)
    coarse = shallow_theory(TANH, "3/4", TIMES, order=2, quad_order=4)       # max(4, round(0.75 * 6)) = 4
    assert not np.allclose(fine.h, coarse.h, rtol=0, atol=1e-14)             # the two rules differ here
    for name in ("h", "V", "A", "S", "Q1", "Q2"):
        extra = {name: fine.ode_error} if name in ("Q1", "Q2") else None
        want = difference_errors({name: getattr(fine, name)}, {name: getattr(coarse, name)}, extra)[name]
        np.testing.assert_allclose(fine.errors[name], want, rtol=1e-12, atol=0, err_msg=name)


def test_a_uniform_law_takes_its_kernel_from_the_larger_rule_with_its_own_error():
    problem = _uniform_w_problem()
    n_hi = default_order(problem.w_law, problem.points)
    k_hi = default_order(problem.w_law, problem.points, KERNEL_NODE_BUDGET, KERNEL_MAX_NODES_PER_DIM)
    assert 0.75 * k_hi > n_hi                            # else the second order is n_hi either way
    k_lo = max(n_hi, int(round(0.75 * k_hi)))
    th = shallow_theory(problem, "3/4", TIMES, order=0)
    a_hi, s_hi, _ = kernel_matrices(problem, quad_order=k_hi)
    a_lo, s_lo, _ = kernel_matrices(problem, quad_order=k_lo)
    np.testing.assert_allclose(th.A, a_hi, rtol=1e-9, atol=1e-13)
    want = difference_errors({"A": a_hi, "S": s_hi}, {"A": a_lo, "S": s_lo})
    for name in ("A", "S"):
        np.testing.assert_allclose(th.errors[name], want[name], rtol=1e-6, atol=1e-13, err_msg=name)


def test_monte_carlo_uses_whole_batches_and_reports_no_nodes():
    a = shallow_theory(TANH, "3/4", TIMES, order=1, method="monte-carlo", n_samples=1005, seed=3)
    b = shallow_theory(TANH, "3/4", TIMES, order=1, method="monte-carlo", n_samples=1000, seed=3)
    for name in ("h", "V", "Q1"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.w_nodes == 0 and a.rule == "monte-carlo"


def test_a_target_that_a_fixed_rule_misses_is_reported_as_missed():
    th = shallow_theory(TANH, "3/4", TIMES, order=1, quad_order=4, tol=Tolerance(1e-15, 0.0))
    assert th.tolerance["met"] is False and any("not met" in n for n in th.notes)
    loose = shallow_theory(TANH, "3/4", TIMES, order=1, quad_order=4, tol=Tolerance(1.0, 0.0))
    assert loose.tolerance["met"] is True


def test_q3_quadrature_error_is_the_difference_from_three_quarters_of_the_rule(monkeypatch):
    q3, err, note = third_order(SKEWED, TIMES)
    n_hi = theory_module.Q3_QUAD_ORDER
    monkeypatch.setattr(theory_module, "Q3_QUAD_ORDER", max(4, int(round(0.75 * n_hi))))
    coarse, _, _ = third_order(SKEWED, TIMES)
    assert not np.allclose(q3, coarse, rtol=0, atol=1e-14)
    np.testing.assert_allclose(err, difference_errors({"Q3": q3}, {"Q3": coarse})["Q3"], rtol=1e-12, atol=0)
    assert f"{n_hi} nodes" in note


def test_q3_monte_carlo_is_the_mean_of_two_halves_with_half_their_difference():
    from asymexp.numeric.derivative_tensors import expectation_tensors
    from asymexp.numeric.einsum_eval import solve_contractions
    from asymexp.numeric.quadrature import SampleSet, monte_carlo_samples

    n_samples, seed = 2000, 4
    q3, err, note = third_order(SKEWED, TIMES, method="monte-carlo", n_samples=n_samples, seed=seed)
    draws = min(n_samples // 10, 20_000)                  # 200, even
    assert note.endswith(f"{draws} draws")
    pts, m = SKEWED.points, SKEWED.x.shape[0]
    samples = monte_carlo_samples(SKEWED.c_law, SKEWED.w_law, pts.shape[1], draws, seed + 1)
    halves = []
    for sl in (slice(0, draws // 2), slice(draws // 2, draws)):
        part = SampleSet(samples.c[sl], samples.w[sl], np.full(draws // 2, 2.0 / draws), "monte-carlo")
        a = expectation_tensors(SKEWED.activation, part, pts, m, 0).A
        halves.append(solve_contractions(SKEWED, part, a, np.asarray(TIMES), 3, spec=SKEWED.spec([Fraction(3, 4)], [1]))[2])
    np.testing.assert_allclose(q3, 0.5 * (halves[0] + halves[1]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(err, 0.5 * np.abs(halves[0] - halves[1]), rtol=1e-12, atol=1e-15)
    assert np.all(err > 0)
