"""The deep prediction at t = 0 (docs/validation.md, "Deep prediction at t = 0"): the finite-width
E sigma(Z^L)^2 of docs/theory/8-initial-cumulants.md against an independent NumPy Monte Carlo of the hidden layers,
the deep linear case exactly, the block's keys and judged cells, the honest "not applicable" at t > 0 and for a
skewed C, and one small end-to-end run."""
import dataclasses
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, strategies as st

from asymexp.cli import main
from asymexp.numeric import load_problem
from asymexp.numeric.initial_cumulants import Layers, initial_variance
from asymexp.spec import Law
from asymexp.validation.deep_prediction import JUDGED_FROM, predict_deep
from asymexp.validation.prediction import bonferroni_limit

#: The keys of the one-hidden-layer block (docs/interfaces.md, "asymexp validate") the deep block carries too.
CONTRACT = ("applicable", "terms", "omitted", "mean", "var", "mean_error", "var_error", "z_mean", "z_var",
            "omitted_mean", "omitted_var", "holds_mean", "holds_var", "holds_from", "verdict", "verdict_reason")


def _hidden_mean_square(activation, gammas, widths, x, replicas, seed):
    """Plain NumPy: E[(1/N_L) sum_i sigma(Z^{L,i}(x))^2] over ``replicas`` networks (Z^1 = W^1 x, W^1 ~ N(0, 1);
    Z^{l+1} = N_l^{-gamma_l} W^{l+1} sigma(Z^l), W^{l+1} ~ N(0, 1)), with its Monte Carlo SE; (P,) each."""
    rng = np.random.default_rng(seed)
    sigma = np.tanh if activation == "tanh" else (lambda u: 1.0 / (1.0 + np.exp(-u)))
    rows = []
    for start in range(0, replicas, 4096):
        r = min(4096, replicas - start)
        h = sigma(np.einsum("rnd,pd->rpn", rng.standard_normal((r, widths[0], x.shape[1])), x))
        for l in range(1, len(widths)):
            w = rng.standard_normal((r, widths[l], widths[l - 1]))
            h = sigma(widths[l - 1] ** -float(gammas[l - 1]) * np.einsum("rij,rpj->rpi", w, h))
        rows.append((h ** 2).mean(axis=2))
    m = np.concatenate(rows)
    return m.mean(axis=0), m.std(axis=0, ddof=1) / np.sqrt(replicas)


@pytest.mark.parametrize("gammas", [("1/2", "1/2"), ("1/2", "1/2", "1/2")])
def test_finite_width_mean_square_against_monte_carlo(gammas):
    """tanh, widths 16: the predicted Var(C) E sigma(Z^L)^2 is within the Bonferroni limit over the points of 10^5
    seeded networks (SE plus the prediction's error and omitted-term estimate), and the limit chain without the
    1/N terms is rejected at every point (so the comparison can fail)."""
    problem = load_problem("tanh4.toml")
    widths = [16] * len(gammas)
    pred = initial_variance(problem.spec(list(gammas), widths), problem.points)
    m, se = _hidden_mean_square("tanh", [Fraction(g) for g in gammas], widths, problem.points, 100_000, seed=1)
    var_c = float(problem.c_law.moment(2))
    measured, se = var_c * m, var_c * se
    limit = bonferroni_limit(problem.points.shape[0])
    omitted = np.abs(pred.first_order - pred.limit) / min(widths)
    assert np.all(np.abs(measured - pred.value) <= limit * se + pred.error + omitted)
    assert np.all(np.abs(measured - pred.limit) > limit * se + pred.error + omitted)


@given(depth=st.integers(1, 4), n=st.integers(2, 64), g=st.sampled_from([Fraction(1, 2), Fraction(7, 10), Fraction(1)]),
       u=st.floats(-2, 2), v=st.floats(0.1, 2))
def test_deep_linear_mean_square_is_exact(depth, n, g, u, v):
    """sigma = identity: E M_{l+1} = nu_l E M_l exactly (nu_l = N_l^{1 - 2 gamma_l}), so Var G = s_c^2 K prod nu_l
    with K = |x|^2, and the closure, its first order and the limit chain all agree (rounding of the cubic fit)."""
    x = np.array([[u, v]])
    pred = initial_variance(Layers("identity", (g,) * depth, (n,) * depth,
                                   (Law("normal", 0, 1),) * depth + (Law("uniform", -1, 1),)), x)
    exact = (u * u + v * v) / 3.0 * float(n) ** ((1 - 2 * float(g)) * (depth - 1))
    for got in (pred.value, pred.first_order, pred.limit):
        assert got[0] == pytest.approx(exact, rel=1e-9)


def _rows(problem, widths, gammas, shift=0.0):
    """Monte Carlo rows at the prediction itself (plus ``shift`` SEs), SE 1% of it; antithetic mean (0, SE 0)."""
    p = problem.points.shape[0]
    rows = []
    for n in widths:
        v = initial_variance(problem.spec(gammas, [n] * len(gammas)), problem.points).value
        var = float(n) ** (1 - 2 * float(Fraction(gammas[-1]))) * v
        rows.append({"mean": np.zeros(p), "mean_se": np.zeros(p), "var": var * (1 + 0.01 * shift),
                     "var_se": 0.01 * var})
    return rows


def test_block_keys_and_judged_cells():
    problem = load_problem("sigmoid4.toml")
    gammas, widths = ["7/10", "9/10"], [32, 64, 128]
    block = predict_deep(problem, [Fraction(g) for g in gammas], [[n, n] for n in widths], 0.0,
                         _rows(problem, widths, gammas))
    assert set(CONTRACT) <= set(block) and block["applicable"]
    p = problem.points.shape[0]
    for key in ("mean", "var", "z_mean", "z_var", "omitted_var", "holds_var"):
        assert np.array(block[key]).shape == (len(widths), p)
    holds = np.array(block["holds_var"])
    assert not holds[0].any() and holds[1:].all()          # N_L = 32 < JUDGED_FROM is shown, not judged
    assert block["holds_from"] == {"mean": None, "var": JUDGED_FROM}
    assert block["verdict"]["var"] == "agree" and np.allclose(block["z_var"], 0.0, atol=1e-9)
    assert block["verdict"]["mean"] == "undetermined" and "antithetic" in block["verdict_reason"]["mean"]
    json.dumps(block)
    # a residual of 5 SE at every cell: disagree (the Bonferroni limit of 10 cells is 2.81)
    off = predict_deep(problem, [Fraction(g) for g in gammas], [[n, n] for n in widths], 0.0,
                       _rows(problem, widths, gammas, shift=5.0))
    assert off["verdict"]["var"] == "disagree"


def test_not_applicable_for_sgd_at_positive_time_and_for_a_skewed_c():
    problem = load_problem("tanh4.toml")
    block = predict_deep(problem, [Fraction(1, 2), Fraction(9, 10)], [[16, 16]], 1.0, [], "sgd")
    assert block["applicable"] is False and "Online SGD" in block["reason"]
    assert block["missing"] and all(isinstance(m, str) for m in block["missing"])
    skewed = dataclasses.replace(problem, c_law=Law("uniform", 0, 1))
    block = predict_deep(skewed, [Fraction(1, 2), Fraction(9, 10)], [[16, 16]], 0.0, [])
    assert block["applicable"] is False and "E C" in block["reason"]


def test_end_to_end_validate_json(capsys):
    """A small seeded run (sigmoid, gammas (0.7, 0.9), 256 replicas, widths 32 and 64): the judged cells
    (N_L = 64) are within the family-wise Bonferroni limit of their count, the smaller width is shown and not
    judged, and the Markdown report shows the block. The sequential limit N_L^(1 - 2 gamma_L) V_0 (no finite
    collapse factor) is rejected by the same cells, so the check can fail."""
    from asymexp.validation.markdown_report import markdown

    assert main(["validate", "--problem", "sigmoid4.toml", "--depth", "2", "--gammas", "0.7,0.9", "--widths",
                 "32,64", "--replicas", "256", "--time", "0", "--seed", "7", "--sensitivity-width", "0",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    pr = doc["prediction"]
    assert pr["applicable"] and pr["holds_from"]["var"] == 64
    holds = np.array(pr["holds_var"])
    assert not holds[0].any() and holds[1].all()
    limit = bonferroni_limit(int(holds.sum()))
    z = np.abs(np.array(pr["z_var"]))[holds]
    assert np.all(z <= limit) and pr["verdict"]["var"] == "agree"
    sequential = 64.0 ** (1 - 2 * 0.9) * np.array(doc["theory"]["V"])
    assert np.all(np.abs(np.array(doc["var"][1]) - sequential) / np.array(doc["var_se"][1]) > limit)
    assert all(v is None for row in pr["z_mean"] for v in row)     # the antithetic mean: SE 0, no z
    assert "Parameter-free prediction (docs/theory/8-initial-cumulants.md)" in markdown(doc)


def test_first_order_is_the_closure_through_one_over_n():
    """tanh (1/2, 1/2, 1/2): the first-order value differs from the limit chain by exactly c/N (halves when N
    doubles) and from the closure by O(N^-2) (quarters), so both share the 1/N coefficient; a wrong first-order
    term (say without the shift of E q) would leave a 1/N difference, whose ratio is 2."""
    problem = load_problem("tanh4.toml")
    at = [initial_variance(problem.spec(["1/2"] * 3, [n] * 3), problem.points) for n in (256, 512)]
    shift = [np.abs(v.first_order - v.limit) for v in at]
    closure = [np.abs(v.value - v.first_order) for v in at]
    np.testing.assert_allclose(shift[0] / shift[1], 2.0, rtol=1e-9)
    # the ratio of an N^-2 term plus its N^-3 neighbour: 4 (1 + O(1/N)); 4.0004 here
    np.testing.assert_allclose(closure[0] / closure[1], 4.0, rtol=4.0 / 256)
