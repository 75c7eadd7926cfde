"""B^N(eps) and c(eps) by the particle method (asymexp/numeric/variance_correction.py; docs/theory/7-random-terms.md,
"The 1/N correction of the variance at finite eps"), each piece against an independent computation."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.errors import SpecError
from asymexp.inputs.problems import load_problem
from asymexp.numeric import variance_correction as vc
from asymexp.numeric.finite_n import _Flow
from asymexp.numeric.random_terms import rule_values

T = 1.0


@pytest.fixture(scope="module")
def tanh4():
    return load_problem("tanh4.toml")


def test_particle_BN_at_small_eps_is_the_tensor_formula(tanh4):
    """At eps = 0.02 the particle method's eps^2 K2 on a rule is that rule's B^N of the tensor formula
    (random_terms.rule_values: Isserlis pairings of Q1, Q2, c and the kernel's third moment), up to its eps^2 term
    (4e-4 of the eps^2 coefficient, measured |B^N(1) - B^N(0)| <= 0.1 |B^N| on this problem) and the Monte Carlo
    error of the Hessian piece (256 directions): 4 SE, family-wise over 5 points. c = tr(H S) / 2 is exact on the rule (no Monte
    Carlo) and matches the tensor c to the same eps^2 term. A wrong factor in any piece (the cumulant, the third
    derivative, the Hessian's 1/2) moves B^N by 13% to 130% of itself here."""
    samples = vc._rule(tanh4, (2, 2))
    ref = rule_values(tanh4, np.array([T]), samples)["values"]
    got = vc.rule_coefficients(tanh4, samples, 0.02, T, replicas=256)
    se = np.sqrt(got["hessian_terms"].var(axis=0, ddof=1) / got["hessian_terms"].shape[0])
    assert np.all(np.abs(got["BN"] - ref["BN"][0]) <= 4.0 * se + 4e-5 * np.abs(ref["BN"][0]))
    assert np.allclose(got["c"], ref["c"][0], rtol=4e-5 * 10, atol=1e-9)
    assert np.allclose(got["V"], ref["V"][0], rtol=4e-4)


def _exact_hessian_piece(problem, samples, eps):
    """(1/2) tr(H S H S) = (1/2) sum_ij w_i w_j H[v_i, v_j]^2 with H[v_i, v_j] by polarization over every pair."""
    om = samples.weight
    k = om.shape[0]
    v = np.eye(k) - om[None, :]
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    dirs = np.concatenate([v, np.array([v[i] + v[j] for i, j in pairs])])
    _, _, q = vc._run(vc.DirectedFlow(problem, samples, eps, dirs), T, 40, problem.points)
    h = np.empty((k, k, q.shape[1]))
    h[np.arange(k), np.arange(k)] = q[:k]
    for n, (i, j) in enumerate(pairs):
        h[i, j] = h[j, i] = 0.5 * (q[k + n] - q[i] - q[j])
    return 0.5 * np.einsum("i,j,ijp->p", om, om, h * h)


def test_hessian_piece_against_every_pair(tanh4):
    """The Gaussian-direction estimate of (1/2) tr(H S H S) against its exact value on a 16-node rule (all 120
    pairs by polarization, the same particle flow): within 4 of its own Monte Carlo SEs at each point."""
    samples = vc._rule(tanh4, (2, 2))
    eps = 0.5
    exact = _exact_hessian_piece(tanh4, samples, eps)
    got = vc.rule_coefficients(tanh4, samples, eps, T, replicas=512)
    se = np.sqrt(got["hessian_terms"].var(axis=0, ddof=1) / got["hessian_terms"].shape[0]) / eps ** 2
    assert np.all(np.abs(got["hessian"] - exact) <= 4.0 * se)
    assert np.all(4.0 * se < 0.5 * exact)     # power: a factor-2 error in the piece could not pass


def test_third_derivative_piece_by_moving_the_rule_weights(tanh4):
    """T[u, S] (u = S d) against the plain particle flow of finite_n on the rule with weights w + delta u, whose
    directions e_j - w' move with the base: d/d delta sum_j w'_j H'[v'_j, v'_j] = T[u, S] + sum_j u_j H[v_j, v_j]
    (the term in H[u, sum_j w_j v_j] is 0). Central differences there; the module's forward difference has an
    O(delta) error, estimated by doubling its step; the tolerance is three times that estimate plus 1e-6 relative."""
    samples = vc._rule(tanh4, (2, 2))
    eps, p = 0.4, 1
    om = samples.weight
    base = vc._run(_Flow(tanh4, samples, eps), T, 40, tanh4.points)
    d, g2 = base[1][:, p], base[2][:, p]
    u = om * d
    delta = 1e-4 / np.max(np.abs(d))

    def weighted_trace(s):
        moved = replace(samples, weight=om + s * delta * u)
        flow = _Flow(tanh4, moved, eps)
        return moved.weight @ vc._run(flow, T, 40, tanh4.points)[2][:, p]

    independent = (weighted_trace(1.0) - weighted_trace(-1.0)) / (2 * delta) - u @ g2
    got = vc.rule_coefficients(tanh4, samples, eps, T, replicas=8)["third"][p]
    step = vc.STEP_SIZE
    try:
        vc.STEP_SIZE = 2 * step
        doubled = vc.rule_coefficients(tanh4, samples, eps, T, replicas=8)["third"][p]
    finally:
        vc.STEP_SIZE = step
    assert abs(got - independent) <= 3.0 * abs(doubled - got) + 1e-6 * abs(independent)
    assert abs(independent) > 10 * abs(doubled - got)


def test_directed_flow_along_the_centred_units_is_the_plain_flow(tanh4):
    samples = vc._rule(tanh4, (2, 2))
    om = samples.weight
    plain = vc._run(_Flow(tanh4, samples, 0.3), T, 40, tanh4.points)
    directed = vc._run(vc.DirectedFlow(tanh4, samples, 0.3, np.eye(om.shape[0]) - om[None, :]), T, 40, tanh4.points)
    for a, b in zip(plain, directed):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-14)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=12), st.integers(0, 2 ** 31))
def test_gaussian_directions_have_the_multinomial_covariance(raw, seed):
    """Each direction sums to 0 (the measure keeps its mass), and the sample covariance of 4000 directions is
    diag(w) - w w^T within 6 of its entrywise SEs (sqrt((S_ii S_jj + S_ij^2) / n) for Gaussian entries)."""
    w = np.array(raw) / np.sum(raw)
    nu = vc.gaussian_directions(w, 4000, seed)
    assert np.allclose(nu.sum(axis=1), 0.0, atol=1e-12)
    cov = np.diag(w) - np.outer(w, w)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov ** 2) / nu.shape[0])
    assert np.all(np.abs(np.cov(nu.T, bias=True) - cov) <= 6.0 * se + 1e-15)


def test_terms_at_refuses_bad_rules_and_eps(tanh4):
    with pytest.raises(SpecError, match="0 < eps <= 1"):
        vc.terms_at(tanh4, T, 1.5)
    with pytest.raises(SpecError, match="fewer"):
        vc.terms_at(tanh4, T, 0.5, (2, 2), (3, 3))
    with pytest.raises(SpecError, match="at least 2"):
        vc.terms_at(tanh4, T, 0.5, (3, 3), (1, 2))


def test_cost_counts_every_direction_node_pair_of_both_rules(tanh4):
    """tanh4.toml (P = 5 points, M = 4 training points, x in R^3): the rules (3, 3) and (2, 2) hold 81 and 16 nodes;
    each runs (P + 1) K + R directions of K nodes at two eps, priced at BRACKET_FLOPS per pair, training point,
    coordinate (d + 1 = 4) and unit of time."""
    from asymexp.numeric.mean_field_terms import BRACKET_FLOPS

    assert [len(vc._rule(tanh4, r)) for r in ((3, 3), (2, 2))] == [81, 16]
    pairs = (6 * 81 + 1024) * 81 + (6 * 16 + 1024) * 16
    assert vc.cost_flops(tanh4, 2.0) == pytest.approx(BRACKET_FLOPS * 2 * pairs * 4 * 4 * 2.0, rel=1e-12)
    assert vc.cost_flops(tanh4, 0.0) == pytest.approx(vc.cost_flops(tanh4, 1.0) / 40.0, rel=1e-12)
