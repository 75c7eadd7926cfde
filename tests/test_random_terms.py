"""The random terms (docs/theory/7-random-terms.md) against computations that do not use their derivation.

On one discrete measure (a small Gauss rule) the particle method of asymexp.numeric.finite_n differentiates the
flow of the nodes in their weights, at a finite eps; it knows nothing of tilting, target shifts or kernel
responses. The three-piece c_t and the B_t of asymexp.numeric.random_terms are its eps -> 0 limits, so each
tolerance below is the size of the eps^2 term, measured from two eps values."""
import numpy as np
import pytest

from asymexp.errors import SpecError
from asymexp.inputs.problems import load_problem
from asymexp.numeric.finite_n import _Flow, inverse_n_mean_term
from asymexp.numeric.quadrature import quadrature_samples
from asymexp.numeric.random_terms import check_problem, deterministic_flow, rule_values
from asymexp.spec import Law
from asymexp.validation import prediction

NODES = 3


@pytest.fixture(scope="module")
def rule():
    problem = load_problem("tanh4.toml")
    samples = quadrature_samples(problem.c_law, problem.w_law, problem.points, NODES, c_nodes=3)
    return problem, samples, rule_values(problem, np.array([1.0]), samples)["values"]


def test_c_is_the_small_eps_limit_of_the_exact_second_derivative(rule):
    problem, _, values = rule
    c_02, _ = inverse_n_mean_term(problem, [1.0], quad_order=NODES, eps=0.02, steps_per_unit=80)
    c_01, _ = inverse_n_mean_term(problem, [1.0], quad_order=NODES, eps=0.01, steps_per_unit=80)
    # c(eps) = c + a eps^2: at eps = 0.01 the eps^2 term is 1/3 of c(0.02) - c(0.01) (measured 2.3e-6 relative)
    eps2_term = np.abs(c_02[0] - c_01[0]) / 3
    assert np.abs(values["c"][0]).max() > 1e3 * eps2_term.max()           # the comparison resolves c
    np.testing.assert_array_less(np.abs(values["c"][0] - c_01[0]), 2 * eps2_term + 1e-10)


def _linear_response_ratio(problem, samples, eps, steps=80):
    """eps^2 sum_j w_j (D G[e_j - w])^2 = N^{2 gamma - 1} Var g to first order in the measure's fluctuation."""
    flow = _Flow(problem, samples, eps)
    for _ in range(steps):
        flow.step(1.0 / steps)
    _, g1, _ = flow.outputs(flow.theta, flow.T1, flow.T2, problem.points)
    return eps ** 2 * flow.om @ g1 ** 2


def test_B_is_the_eps_squared_coefficient_of_the_linear_response_variance(rule):
    problem, samples, values = rule
    v1, v05 = (_linear_response_ratio(problem, samples, e) for e in (0.1, 0.05))
    np.testing.assert_allclose(v05, values["V"][0], rtol=1e-3)          # V + eps^2 B + ...: V leads
    slope_1, slope_05 = (v1 - values["V"][0]) / 0.1 ** 2, (v05 - values["V"][0]) / 0.05 ** 2
    # (v - V)/eps^2 = B + b eps^2: at eps = 0.05 the remainder is 1/3 of slope(0.1) - slope(0.05)
    rest = np.abs(slope_1 - slope_05) / 3
    assert np.abs(values["B"][0]).min() > 10 * rest.max()
    np.testing.assert_array_less(np.abs(values["B"][0] - slope_05), 2 * rest + 1e-9)


def test_the_deterministic_flow_is_h_plus_eps_squared_q2_plus_order_eps_four(rule):
    problem, samples, values = rule
    fourth = {e: (deterministic_flow(problem, samples, e, [1.0])[0] - values["h"][0] - e ** 2 * values["Q2"][0])
              / e ** 4 for e in (0.4, 0.2, 0.1)}
    # Q4 + eps^2 Q6: halving eps shrinks the change about 4 times; a wrong h or Q2 would grow like eps^-2, eps^-4
    step_big, step_small = np.abs(fourth[0.4] - fourth[0.2]), np.abs(fourth[0.2] - fourth[0.1])
    assert np.all(step_small <= 0.5 * step_big + 1e-9)
    assert np.abs(fourth[0.1]).max() > 10 * step_small.max()


def test_skewed_or_non_normal_laws_are_refused_with_the_reason():
    problem = load_problem("tanh4.toml")
    skewed = problem.__class__(**{**problem.__dict__, "c_law": Law("uniform", 0, 1)})
    with pytest.raises(SpecError, match="symmetric law of c"):
        check_problem(skewed)
    uniform_w = problem.__class__(**{**problem.__dict__, "w_law": Law("uniform", -1, 1)})
    with pytest.raises(SpecError, match="normal law of w"):
        check_problem(uniform_w)
    assert prediction.not_applicable(problem, 0.75, "gd") is None
    assert "symmetric law of c" in prediction.not_applicable(skewed, 0.75, "gd")


def test_the_verdict_uses_only_cells_where_the_omitted_term_is_below_the_se():
    z = np.array([[5.0, 0.1], [1.0, -2.0]])
    holds = np.array([[False, False], [True, True]])
    verdict, text = prediction.judge(z, holds, "mean")
    assert verdict == "agree" and "2 judged" in text
    assert prediction.judge(z, np.ones_like(holds), "mean")[0] == "disagree"
    assert prediction.judge(z, np.zeros_like(holds), "mean")[0] == "undetermined"
    assert prediction.holds_from([64, 128], holds) == 128
    # Bonferroni: one normal cell beyond 1.96 has probability 5%; 50 cells share it
    assert prediction.bonferroni_limit(1) == pytest.approx(1.959964, abs=1e-6)
    assert prediction.bonferroni_limit(50) == pytest.approx(3.2905, abs=1e-3)


# -- the symbolic layer's random terms ---------------------------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

from asymexp.symbolic.random_expansion import random_terms as symbolic_random_terms  # noqa: E402


@settings(max_examples=30, deadline=None)
@given(order=st.integers(1, 6), symmetric=st.booleans())
def test_every_random_term_is_listed_once_with_components_of_its_order(order, symmetric):
    terms = symbolic_random_terms(order, symmetric)
    pairs = [(t.a, t.b) for t in terms]
    assert sorted(pairs) == sorted((a, b) for b in range(1, order + 1) for a in range(0, order + 1 - b))
    for t in terms:
        for c in t.components:                       # eps^(k + j) eta^(i + j)
            assert (c.k + c.j, c.i + c.j) == (t.a, t.b)
        if t.a == 0:
            assert t.vanishes == (t.b >= 2)          # at eps = 0 the flow is linear in the initial output
    assert not any(t.vanishes for t in terms if (t.a, t.b) in ((0, 1), (1, 1)))


def test_the_mean_of_q22_has_the_three_pieces_of_the_numeric_1_over_n_term():
    (q22,) = [t for t in symbolic_random_terms(4) if (t.a, t.b) == (2, 2)]
    live = {(c.k, c.i, c.j) for c in q22.components if not c.vanishes}
    # offset (d^2_z Q2), tilt (d_z d_m Q1), kernel (d^2_m h): random_terms.parts "offset", "tilt", "kernel"
    assert live == {(2, 2, 0), (1, 1, 1), (0, 0, 2)}
    skewed = {(c.k, c.i, c.j) for t in symbolic_random_terms(3, False) if (t.a, t.b) == (1, 1)
              for c in t.components if not c.vanishes}
    assert skewed == {(1, 1, 0), (0, 0, 1)}         # a skewed law of c keeps eps Z d_z Q1


# -- the parameter-free prediction against simulated networks -----------------------------------------------------

def test_the_variance_prediction_with_its_1_over_n_term_matches_simulated_networks():
    """gamma = 0.6, N = 64, 4096 replicas (seed 2031), gradient flow: without B_N/N the variance residuals reach
    about -5 SE (measured), with it the five points must lie within the family-wise 5% limit for 5 cells (2.58;
    Bonferroni, valid for the correlated points); the mean as well. At N = 64 the omitted terms (eps^4 ~ 1.3e-3,
    eps^2 / N ~ 5e-4 relative) are below the relative SE (about 2e-3), so the cells are judged."""
    from fractions import Fraction

    from asymexp.validation.shallow_validation import validate_shallow

    problem = load_problem("tanh4.toml")
    doc = validate_shallow(problem, Fraction(3, 5), [64], 4096, t=1.0, seed=2031, flow_dt=Fraction(1, 64),
                           progress=False)
    pr = doc["prediction"]
    assert pr["applicable"] and all(pr["holds_var"][0]) and all(pr["holds_mean"][0])
    limit = prediction.bonferroni_limit(5)
    assert np.max(np.abs(pr["z_var"][0])) <= limit
    assert np.max(np.abs(pr["z_mean"][0])) <= limit
    # the 1/N term is resolved: leaving it out moves the residual by more than the limit at some point
    n, g = 64, 0.6
    without = np.array(pr["var"][0]) - n ** (1 - 2 * g) * np.array(pr["B_N"]) / n
    z_without = (np.array(doc["var"][0]) - without) / np.array(doc["var_se"][0])
    assert np.max(np.abs(z_without)) > limit


def test_kernel_moments_equal_a_per_sample_transcription(rule):
    """Cov(K, K) and E[f f (K - A)] from the c-moments of each w-node against the per-sample derivative tensors
    (asymexp.numeric.derivative_tensors): the same sums in another order, so rounding only."""
    from asymexp.numeric import kernel_fluctuation as kf
    from asymexp.numeric.derivative_tensors import derivative_tensors

    problem, samples, _ = rule
    pts, m = problem.points, problem.x.shape[0]
    f, gf = derivative_tensors(problem.activation, samples.c, samples.w, pts, 1)
    K = np.einsum("spi,sai->spa", gf, gf[:, :m])
    w = samples.weight
    A = np.einsum("s,spa->pa", w, K)
    cov = np.einsum("s,spa,sqb->paqb", w, K - A, K - A)
    third = np.einsum("s,sq,sa,spb->qapb", w, f, f[:, :m], K - A)
    np.testing.assert_allclose(kf.kernel_covariance(problem.activation, samples, pts, m), cov, atol=1e-13)
    np.testing.assert_allclose(kf.kernel_third_moment(problem.activation, samples, pts, m), third, atol=1e-13)


def test_theory_cli_refuses_random_terms_for_a_skewed_law_with_one_line(tmp_path, capsys):
    from asymexp.cli import main
    from asymexp.inputs.problems import builtin_problem

    text = builtin_problem("tanh4").read_text().replace('c = "uniform(-1,1)"', 'c = "uniform(0,1)"')
    path = tmp_path / "skewed.toml"
    path.write_text(text)
    assert main(["theory", "--problem", str(path), "--gamma", "0.75", "--time", "1", "--inverse-n", "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "symmetric law of c" in err[0] and "Traceback" not in err[0]


def test_a_mirror_symmetric_rule_flows_half_its_nodes_with_the_same_result(rule):
    """tanh is odd and the Gauss rule symmetric: one node per mirror pair, same D_t(eps) to the flow's rtol."""
    from asymexp.numeric.random_terms import mirror_fold

    problem, samples, _ = rule
    c, w, weight = mirror_fold(problem.activation, samples)
    assert len(c) == (len(samples) + 1) // 2 and np.isclose(weight.sum(), 1.0)
    folded = deterministic_flow(problem, samples, 0.3, [0.5, 1.0])
    whole = deterministic_flow(problem, samples, 0.3, [0.5, 1.0], fold=False)
    np.testing.assert_allclose(folded, whole, rtol=1e-11, atol=1e-13)      # the DOP853 rtol is 1e-13
    broken = samples.__class__(**{**samples.__dict__, "c": samples.c + 1e-3})  # no longer symmetric: flowed whole
    assert len(mirror_fold(problem.activation, broken)[0]) == len(samples)
    sigmoid = mirror_fold("sigmoid", samples)                                # sigmoid is not odd
    assert len(sigmoid[0]) == len(samples)
