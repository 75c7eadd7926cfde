"""The finite-N predictions of the random terms (asymexp/numeric/random_terms.py, linear_response.py;
docs/theory/7-random-terms.md) against values computed another way: the node flow itself, and the documented
composition of the error estimates (docs/architecture.md, "Testing").

Tolerances: the pieces h + eps^2 Q2 + remainder are re-added in float64, so they agree with the whole to a few
ulps of the largest piece (ROUND, relative); an error estimate that is a sum of non-negative parts changes by
exactly the part that is changed, up to the same rounding."""
import types

import numpy as np
import pytest

from asymexp.inputs.problems import load_problem
from asymexp.numeric.quadrature import quadrature_samples
from asymexp.numeric.random_terms import deterministic_flow, deterministic_part, rule_values

ROUND = 1e-12
TIMES = np.array([0.5, 1.0])
EPS_VALUES = (0.3, 0.6)


@pytest.fixture(scope="module")
def terms():
    """A RandomTerms-like record on a small Gauss rule (3 x 3 nodes per axis) with design exponent 4 for the
    coarse rule of the remainder: the fields deterministic_part reads."""
    problem = load_problem("tanh4.toml")
    samples = quadrature_samples(problem.c_law, problem.w_law, problem.points, 3, c_nodes=3)
    vals = rule_values(problem, TIMES, samples)["values"]
    zero = {k: np.zeros_like(vals["h"]) for k in ("h", "Q2")}
    return problem, types.SimpleNamespace(times=TIMES, samples=samples, h=vals["h"], Q2=vals["Q2"], errors=zero,
                                          kappa=4.0)


def test_the_deterministic_part_is_the_node_flow_of_its_rule(terms):
    """D_t(eps) = h + eps^2 Q2 + (flow - h - eps^2 Q2) is the node flow of ``terms.samples`` at that eps."""
    problem, rt = terms
    values, _ = deterministic_part(problem, rt, EPS_VALUES)
    for i, eps in enumerate(EPS_VALUES):
        flow = deterministic_flow(problem, rt.samples, eps, TIMES)
        scale = np.abs(rt.h).max() + eps ** 2 * np.abs(rt.Q2).max() + np.abs(flow).max()
        np.testing.assert_array_less(np.abs(values[i] - flow), ROUND * scale)


def test_the_deterministic_part_error_adds_the_errors_of_h_and_eps_squared_q2(terms):
    """error = (remainder's rule difference) + err(h) + eps^2 err(Q2) (docstring of deterministic_part): raising
    err(h) by a and err(Q2) by b raises each error by exactly a + eps^2 b."""
    problem, rt = terms
    _, base = deterministic_part(problem, rt, EPS_VALUES)
    a, b = 1e-3, 2e-2
    shifted = types.SimpleNamespace(**{**vars(rt), "errors": {"h": rt.errors["h"] + a, "Q2": rt.errors["Q2"] + b}})
    _, raised = deterministic_part(problem, shifted, EPS_VALUES)
    for i, eps in enumerate(EPS_VALUES):
        np.testing.assert_allclose(raised[i] - base[i], a + eps ** 2 * b, rtol=0, atol=ROUND)
