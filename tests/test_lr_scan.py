"""asymexp lr-scan: the GD thresholds, the rules, the bisection and the command (docs/batchnorm.md,
"Learning-rate thresholds"). Everything is exact arithmetic up to float rounding; no tolerance is tuned."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymexp.bn.dual import network_theta
from asymexp.bn.jacobian import flatten
from asymexp.bn.lrscan.full_batch import gd_trial
from asymexp.bn.model import fim_network, loss_and_gradient, output_values
from asymexp.bn.lrscan.thresholds import bisect_threshold, ends_below_start, falls_monotonically
from finite_differences import central_gradient   # tests/finite_differences.py


def _linear_problem(aligned: bool, T=6, d=4, seed=0):
    """A model linear in its parameters, f(t) = w . x_t + b (the quadratic case): loss (1/2T) ||f - y||^2, FIM
    F = J^T J / T with J = [X, 1], lambda_max(F) = the top eigenvalue of (X X^T + 1) / T. ``aligned``: the initial
    residual is the top eigenvector of the dual, so that r_k = (1 - eta lambda)^k r_0 exactly."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, d))
    lam, vec = np.linalg.eigh((x @ x.T + 1.0) / T)
    w0, b0 = rng.standard_normal((1, d)), np.zeros(1)
    r0 = vec[:, -1] if aligned else rng.standard_normal(T)
    y = (x @ w0.T + b0)[:, 0] - r0

    def loss_grad(p):
        (w, b), = p
        r = (x @ w.T + b)[:, 0] - y
        if not np.all(np.isfinite(r)):
            return float("inf"), None, "output"
        return 0.5 * float(r @ r) / T, [((r @ x)[None, :] / T, np.array([r.sum() / T]))], None

    return loss_grad, [(w0, b0)], float(lam[-1])


@pytest.mark.parametrize("rule", [falls_monotonically, ends_below_start])
def test_quadratic_threshold_is_two_over_lambda_max(rule):
    """Aligned residual: the loss is loss_0 (1 - eta lambda)^(2k), so both rules pass iff eta < 2 / lambda_max;
    the bracket must contain it, whatever K."""
    loss_grad, params, lam = _linear_problem(aligned=True)
    for steps in (1, 5):
        out = bisect_threshold(lambda lr: rule(gd_trial(loss_grad, params, lr, steps).losses), 0.1 / lam, 1.05)
        lo, hi = out["bracket"]
        assert out["status"] == "bracketed" and lo < 2.0 / lam <= hi and hi / lo <= 1.05


def test_quadratic_generic_residual_bracket_lies_above_two_over_lambda():
    """Any residual: every eta < 2 / lambda_max shrinks every eigen-component, so the failing end of the bracket
    cannot lie below 2 / lambda_max (the K-step rule may pass a little above it, never fail below)."""
    loss_grad, params, lam = _linear_problem(aligned=False, seed=3)
    out = bisect_threshold(lambda lr: falls_monotonically(gd_trial(loss_grad, params, lr, 40).losses), 1 / lam)
    assert out["bracket"][1] >= 2.0 / lam


@pytest.mark.parametrize("losses, mono, below", [
    ((3.0, 2.0, 1.0), True, True),
    ((3.0, 3.0, 1.0), False, True),              # a flat step is not a fall
    ((3.0, 4.0, 1.0), False, True),              # the catapult: rises, then ends below
    ((3.0, 2.0, 3.5), False, False),
    ((3.0, 2.0, float("nan")), False, False),
    ((3.0, float("inf"), 1.0), False, False),
    ((3.0,), False, False),                      # a single value says nothing
])
def test_rules_on_synthetic_loss_sequences(losses, mono, below):
    assert falls_monotonically(losses) is mono and ends_below_start(losses) is below


@settings(max_examples=60, deadline=None)
@given(threshold=st.floats(1e-6, 1e6), guess=st.floats(1e-6, 1e6), ratio=st.floats(1.01, 3.0))
def test_bisection_bracket_invariants(threshold, guess, ratio):
    """For a rule that passes iff lr < threshold: lo passes, hi fails, hi / lo <= ratio, value inside."""
    seen = []

    def passes(lr):
        seen.append(lr)
        return lr < threshold

    out = bisect_threshold(passes, guess, ratio, factor=4.0, max_expand=12)
    lo, hi = out["bracket"]
    assert out["evaluations"] == len(seen)
    reach = 4.0 ** 12 * (1 - 1e-9)                 # the expansion covers guess / 4^12 .. guess 4^12
    if threshold > guess * reach or threshold <= guess / reach:
        if out["status"] != "bracketed":           # out of reach: said so, with the end that was reached
            assert out["value"] is None and "undetermined" in out["status"]
            assert (hi is None and lo < threshold) or (lo is None and hi >= threshold)
            return
    assert out["status"] == "bracketed" and lo < threshold <= hi and hi / lo <= ratio * (1 + 1e-12)
    assert lo <= out["value"] <= hi


def test_bisection_reports_an_unbracketed_rule():
    out = bisect_threshold(lambda lr: True, 1.0, max_expand=3)
    assert out["value"] is None and out["bracket"] == [64.0, None] and "undetermined" in out["status"]


@pytest.mark.parametrize("norm", ["none", "mean-last", "bn", "bn-last", "ln"])
def test_gradient_matches_the_fim_dual_and_finite_differences(norm):
    """|grad|^2 = r^T Theta r / T^2 with Theta the dual of asymexp.bn.fim for the same network (the loss
    normalization that makes F = J^T J / T its Gauss-Newton Hessian; with mean-last and bn-last the dual of the
    outputs' batch function), and grad against central differences (step 1e-6: error O(1e-12) + rounding O(1e-10)
    relative to the gradient's scale, so 1e-6 of that scale is far outside it)."""
    rng = np.random.default_rng(1)
    T, d, M = 5, 3, 4
    net = fim_network(2, M, 2, d, "tanh", norm)
    params = net.draw(rng)
    x, y = rng.standard_normal((T, d)), rng.standard_normal((T, 2))
    loss, grads, where = loss_and_gradient(net, params, x, y)
    assert where is None
    g = flatten(grads)
    theta, _, fwd = network_theta(net, params, x)
    r = (output_values(net, fwd.outputs) - y).T.ravel()         # rows (k, t) -> k T + t, as in the dual
    assert np.isclose(g @ g, r @ theta @ r / T ** 2, rtol=1e-10)
    fd = central_gradient(net, params, x, y)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * np.abs(g).max())


def test_divergence_is_recorded_not_raised():
    rng = np.random.default_rng(2)
    net = fim_network(3, 8, 1, 8, "relu", "none")
    params = net.draw(rng)
    x, y = rng.standard_normal((8, 8)), rng.standard_normal((8, 1))
    t = gd_trial(lambda p: loss_and_gradient(net, p, x, y), params, 1e6, 30)
    assert t.diverged_step is not None and 1 <= t.diverged_step <= 30 and t.diverged_layer is not None
    assert len(t.losses) == t.diverged_step + 1


def test_cli_json_rows_and_figure(tmp_path, capsys):
    from asymexp.cli import main

    assert main(["lr-scan", "--layers", "1,2", "--width", "8", "--samples", "8", "--steps", "5",
                 "--norm", "none,mean-last", "--json", "--out", str(tmp_path)]) == 0
    cap = capsys.readouterr()
    doc = json.loads(cap.out)
    assert len(doc["rows"]) == 4 and "lr-scan: norm" in cap.err
    for r in doc["rows"]:
        for key in ("layers", "width", "norm", "lr_stable", "lr_stable_bracket", "predicted_lr_stable",
                    "lr_max", "lr_max_bracket"):
            assert key in r
        lo, hi = r["lr_stable_bracket"]
        assert lo < hi and lo <= r["lr_stable"] <= hi
        # a run that falls at every step also ends below its start: the lr_max search starts at lo and passes there
        assert r["lr_max_bracket"][0] >= lo and r["lr_max"] >= lo
    for name in ("lr_scan.png", "lr_scan.pdf", "lr_scan.json"):
        assert (tmp_path / name).is_file()


@pytest.mark.parametrize("argv, names", [
    (["--layers", "0", "--width", "8"], "layers 0"),
    (["--layers", "2,x", "--width", "8"], "'x'"),
    (["--layers", "2", "--width", "1"], "width = 1"),
    (["--layers", "2", "--width", "8", "--norm", "row-scale"], "norm 'row-scale'"),
    (["--layers", "2", "--width", "8", "--norm", "bn", "--samples", "1"], "samples = 1"),
    (["--layers", "2", "--width", "8", "--samples", "1"], "samples = 1"),
    (["--layers", "2", "--width", "8", "--steps", "0"], "steps = 0"),
    (["--layers", "2", "--width", "8", "--ratio", "1"], "ratio 1.0"),
    (["--layers", "2", "--width", "8", "--data", "mnist", "--outputs", "3"], "--outputs 3"),
    (["--layers", "2", "--width", "8", "--activation", "softplus"], "'softplus'"),
])
def test_bad_input_is_one_line_and_exit_2(argv, names, capsys):
    from asymexp.cli import main

    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["lr-scan"] + argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and names in err and "Traceback" not in err
