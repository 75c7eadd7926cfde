"""The Gram chain (asymexp.bn.gram): the sampled chain has the law of the definition, the linear chain's stationary
gap matches its closed form, the mean-field fixed points agree across methods, runs are reproducible whatever
the thread count and run count, and the CLI refuses bad input in one line.

Statistical basis: every comparison of two Monte Carlo estimates is a z-test at 4 combined standard errors
(a false failure has probability about 6e-5 per comparison under a normal approximation); the seeds are fixed.
The linear closed form is leading order in 1/d, so its comparison allows the neglected order, 1/d, on top.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from asymexp.cli import main
from asymexp.errors import AsymexpError
from asymexp.bn.gram import fixed_point, mean_field_trajectory, predicted_gap_rms, run_experiment, simulate
from asymexp.bn.gram.gram_chain import input_batch, input_gram, psd_sqrt, row_normalize
from asymexp.bn.gram.gram_experiment import measure

Z = 4.0


def _mean_se(x):
    x = np.asarray(x, dtype=float)
    return x.mean(), x.std(ddof=1) / math.sqrt(x.size)


@pytest.mark.parametrize("chain,activation", [("row-scale", "tanh"), ("pre-bn", "relu"), ("none", "relu")])
def test_sampled_rows_have_the_law_of_explicit_weights(chain, activation):
    """Mean and spread of G_3 (every entry) from d x d weights and from rows drawn as N(0, K) agree."""
    kw = dict(batch=3, width=48, depth=3, runs=400)
    a = simulate(chain, activation, seed=1, method="sampled", **kw)[:, -1].reshape(400, -1)
    b = simulate(chain, activation, seed=2, method="explicit", **kw)[:, -1].reshape(400, -1)
    for stat in (lambda g: g, lambda g: g * g):
        (ma, sa), (mb, sb) = _mean_se(stat(a)), _mean_se(stat(b))
        assert np.all(np.abs(ma - mb) <= Z * np.hypot(sa, sb))


def test_linear_stationary_gap_matches_the_closed_form():
    d, n = 256, 4
    grams = simulate("row-scale", "linear", n, d, 300, 8, seed=3)
    _, gap = measure(grams, np.broadcast_to(np.eye(n), (301, n, n)))
    v2, se = _mean_se((gap[:, 50:] ** 2).mean(axis=1))
    assert abs(v2 / predicted_gap_rms("row-scale", "linear", n, d) ** 2 - 1) <= Z * se / v2 + 1 / d


def test_centred_linear_gap_matches_the_closed_form():
    d, n = 256, 5
    G = fixed_point("row-center", "linear", n).gram
    assert np.allclose(G, n / (n - 1) * (np.eye(n) - 1 / n), rtol=0, atol=1e-15)
    grams = simulate("row-center", "linear", n, d, 300, 8, seed=4)
    _, gap = measure(grams, np.broadcast_to(G, (301, n, n)))
    v2, se = _mean_se((gap[:, 50:] ** 2).mean(axis=1))
    assert abs(v2 / predicted_gap_rms("row-center", "linear", n, d) ** 2 - 1) <= Z * se / v2 + 1 / d


def test_monte_carlo_fixed_point_of_an_odd_activation_is_the_identity():
    """For odd phi without centring, rho = 0 is a fixed point (r_i -> -r_i symmetry at K = I): G* = I."""
    fp = fixed_point("row-scale", "tanh", 4, samples=50_000, seed=5)
    assert fp.method.startswith("monte-carlo") and fp.error > 0
    assert np.linalg.norm(fp.gram - np.eye(4)) <= Z * fp.error


def test_quadrature_and_monte_carlo_fixed_points_agree_for_n2():
    quad = fixed_point("row-scale", "relu", 2)
    assert quad.method.startswith("quadrature") and quad.error < 1e-8
    from asymexp.bn.gram import gram_mean_field as mf

    rng = np.random.default_rng(6)
    Zs = rng.standard_normal((200_000, 2))
    relu = lambda x: np.maximum(x, 0.0)  # noqa: E731
    rho, _, B = mf._iterate(lambda r: mf._monte_carlo_moments(Zs, r, False, relu))
    parts = [mf._iterate(lambda r, g=g: mf._monte_carlo_moments(g, r, False, relu), rho)[2]
             for g in np.array_split(Zs, 10)]
    se = np.array(parts)[:, 1].std(ddof=1) / math.sqrt(10)
    assert abs(B[1] - quad.gram[0, 1]) <= Z * se


def test_relu_mean_field_without_bn_keeps_the_scale_and_correlates():
    traj, err = mean_field_trajectory("relu", 3, 50)
    assert np.allclose(np.diagonal(traj, axis1=1, axis2=2), 1.0, rtol=0, atol=1e-12) and err < 1e-10
    corr = traj[:, 0, 1]
    assert corr[0] == pytest.approx(0.5) and np.all(np.diff(corr) > 0) and corr[-1] < 1


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (5, 4), elements=st.floats(-5, 5)), st.booleans())
def test_row_normalize_gives_unit_mean_square_rows(P, center):
    norm = np.sqrt(((P - P.mean(axis=1, keepdims=True) if center else P) ** 2).mean(axis=1))
    out = row_normalize(P, center)
    ok = norm > 1e-6
    assert np.allclose((out[ok] ** 2).mean(axis=1), 1.0, rtol=0, atol=64 * 2.0 ** -52)
    if center:
        assert np.allclose(out[ok].mean(axis=1), 0.0, rtol=0, atol=64 * 2.0 ** -52 * np.abs(out).max())


def test_input_gram_is_exact_at_every_width():
    for d in (4, 33, 200):
        H = input_batch(d, 4, 0)
        assert np.allclose(H.T @ H / d, input_gram(4), rtol=0, atol=64 * d * 2.0 ** -52)
        assert np.allclose(psd_sqrt(input_gram(4)) @ psd_sqrt(input_gram(4)), input_gram(4), atol=1e-14)


def test_a_run_does_not_depend_on_how_many_runs_are_made():
    a = simulate("row-scale", "tanh", 4, 32, 20, 2, seed=7)
    b = simulate("row-scale", "tanh", 4, 32, 20, 5, seed=7)
    assert np.array_equal(a, b[:2])


def test_same_seed_same_numbers_whatever_the_thread_count():
    code = ("import sys, numpy as np; from asymexp.bn.gram import simulate; "
            "sys.stdout.write(simulate('row-scale', 'relu', 4, 300, 30, 3, seed=8).tobytes().hex())")
    outs = []
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        outs.append(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   timeout=300, check=True).stdout)
    assert outs[0] == outs[1] and len(outs[0]) > 0


def test_experiment_document_follows_the_contract():
    doc = run_experiment("row-scale", "linear", 4, [16, 32, 64], 40, 10, 4, seed=9)
    assert np.asarray(doc["fixed_point"]).shape == (4, 4)
    assert [r["width"] for r in doc["rows"]] == [16, 32, 64]
    for r in doc["rows"]:
        assert {"error_mean", "error_se", "gap_rms", "predicted_gap_rms"} <= set(r) and r["error_se"] > 0
    assert len(doc["depth_profile"]["layers"]) == 41 and np.asarray(doc["depth_profile"]["error"]).shape == (3, 41)
    assert {"exponent", "ci95", "predicted", "verdict"} <= set(doc["fit"]) and doc["fit"]["predicted"] == -0.5
    with pytest.raises(AsymexpError, match="burn-in 40"):
        run_experiment("row-scale", "linear", 4, [16], 40, 40, 4)


@pytest.mark.parametrize("argv,named", [
    (["--widths", "1,64"], "1"), (["--depth", "0"], "0"), (["--norm", "group"], "group"),
    (["--activation", "sigmoid", "--norm", "none"], "sigmoid"), (["--activation", "softsign"], "softsign"), (["--batch", "1"], "batch 1"), (["--runs", "1"], "1"),
])
def test_bad_input_is_one_line_and_exit_2(argv, named, capsys):
    try:
        rc = main(["gram", "--depth", "5", "--runs", "2", "--widths", "8"] + argv)
    except SystemExit as exc:
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err


def test_cli_json_and_figures(tmp_path, capsys):
    assert main(["gram", "--widths", "8,16,32", "--depth", "30", "--burn-in", "5", "--runs", "3", "--json",
                 "--out", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["fit"]["predicted"] == -0.5 and len(doc["rows"]) == 3
    assert {p.name for p in tmp_path.iterdir()} == {"gram.json", "gram_depth.png", "gram_depth.pdf",
                                                   "gram_width.png", "gram_width.pdf",
                                                   "manifest.json", ".asymexp.lock"}      # the run folder's claim


def test_depth_verdict_adjusts_for_several_widths():
    from asymexp.bn.gram.gram_experiment import depth_verdict

    def check(width, z):
        return {"quantity": "relative drift", "value": z * 0.01, "se": 0.01, "predicted": 0.0, "width": width,
                "verdict": ""}

    # 2.2 SE is outside a single 95% interval (1.96) but inside the 5-width Bonferroni one (z = 2.58)
    assert depth_verdict([check(w, 2.2 if w == 64 else 0.1) for w in (32, 64, 128, 256, 512)]).startswith("agrees")
    assert "d = 64" in depth_verdict([check(w, 3.0 if w == 64 else 0.1) for w in (32, 64, 128, 256, 512)])


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_log_scale_variance_without_bn_grows_like_beta_l_over_d(activation):
    """Without BN each input's log squared norm is a sum of i.i.d. per-layer terms with a known variance."""
    from asymexp.bn.gram.gram_experiment import log_scale_check

    d, depth = 64, 60
    grams = simulate("none", activation, 2, d, depth, 40, seed=10)
    check = log_scale_check(grams, mean_field_trajectory(activation, 2, depth)[0], activation, d)
    assert abs(check["beta"] - check["predicted"]) <= Z * check["beta_se"]


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, (6, 4), elements=st.floats(-5, 5)), st.booleans())
def test_the_chain_row_norm_is_the_shared_normalization_layer(H, center):
    """BN of the chain on H (d, n) = the shared kernel on the (batch, features) = (n, d) array H^T, eps = 0:
    scale-only without centring, batch norm with it."""
    from hypothesis import assume

    from asymexp.kernel_codes import Norm
    from asymexp.nn.normalization import norm_forward

    spread = (H - H.mean(axis=1, keepdims=True) if center else H) ** 2
    assume(np.all(spread.mean(axis=1) > 1e-3))
    kind = int(Norm.BATCH if center else Norm.SCALE_ONLY)
    Y = norm_forward(np.ascontiguousarray(H.T), np.ones(6), np.zeros(6), kind, 0.0)[0]
    assert np.allclose(row_normalize(H, center), Y.T, rtol=0, atol=64 * 4 * 2.0 ** -52 * np.abs(Y).max())


@pytest.mark.parametrize("old,new", [("bn", "row-scale"), ("bn-center", "row-center")])
def test_old_chain_names_run_the_same_chain_and_say_so_once(old, new, capsys):
    """The old names are accepted: the same numbers, the current name in the document, one line on stderr."""
    a = run_experiment(old, "linear", 4, [16, 32], 20, 5, 3, seed=1)
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and repr(old) in err and repr(new) in err
    b = run_experiment(new, "linear", 4, [16, 32], 20, 5, 3, seed=1)
    assert capsys.readouterr().err == "" and a["chain"] == b["chain"] == new
    assert json.dumps(a, default=lambda o: o.tolist()) == json.dumps(b, default=lambda o: o.tolist())


def test_cli_default_is_the_old_default_chain(capsys):
    assert main(["gram", "--widths", "8", "--depth", "6", "--runs", "2", "--json"]) == 0
    new = json.loads(capsys.readouterr().out)
    assert main(["gram", "--widths", "8", "--depth", "6", "--runs", "2", "--norm", "bn", "--json"]) == 0
    out = capsys.readouterr()
    assert new["chain"] == "row-scale" and json.loads(out.out) == new and "'row-scale'" in out.err
