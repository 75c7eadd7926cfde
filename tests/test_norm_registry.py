"""The normalization registry (asymexp.norms): one table, one membership check, one eps; the NumPy arithmetic
(asymexp.norms.numpy_norm) against the Numba kernels (asymexp.nn.normalization) for every registered kind, and
its backward pass against finite differences.

Numerical basis. NumPy and Numba compute the same chained reductions (mean, mean square) in different orders
(pairwise against sequential); a length-n float64 sum has forward error <= n u sum|terms| (u = 2^-53, Higham).
With S = max|x| / sd (sd = sqrt(var + eps), the scale the normalization divides by), the centred values carry an
error <= 2 n u max|x| per side, the mean square a relative error <= 2 n u S^2 + 2 n u, and xhat = c / sd
therefore <= 2 n u S (1 + S |xhat|) per side; the backward formula adds two more means of |g| (1 + |xhat|^2)
terms. The tolerances are those bounds for both sides (factor 2) times 4 for the extra roundings of the
subtractions and products (a handful per entry). Finite differences: the central difference D(h) has truncation
error ~ c h^2, estimated by Richardson's |D(h) - D(2h)| / 3, plus rounding <= u sum|L terms| / h; we allow 10
times their sum.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from asymexp.errors import SpecError
from asymexp.kernel_codes import Norm
from asymexp.norms import (EPS, KINDS, NETWORK_NORMS, RENAMED, TOOLS, accepted, check, entry, kind, names,
                           placements)
from asymexp.norms.numpy_norm import centre_scale, normalize, normalize_backward

U = 2.0 ** -53
AXIS = {"batch": 0, "features": 1}


@st.composite
def cases(draw):
    B, F = draw(st.integers(2, 7)), draw(st.integers(2, 6))
    X = draw(arrays(np.float64, (B, F), elements=st.floats(-4, 4)))
    G = draw(arrays(np.float64, (B, F), elements=st.floats(-2, 2)))
    return X, G, draw(st.sampled_from(list(KINDS))), draw(st.sampled_from([0.0, EPS, 0.1]))


def _spread(X, k):
    c, _ = centre_scale(X, AXIS[k.axis], k.centres, False)
    return (c * c).mean(axis=AXIS[k.axis])


@settings(max_examples=200, deadline=None)
@given(cases())
def test_numpy_and_numba_agree_for_every_kind(case):
    from asymexp.nn import normalization as kern

    X, G, name, eps = case
    k = KINDS[name]
    assume(np.all(_spread(X, k) > 0.05))          # away from a zero variance (where xhat is 0/0)
    axis, n = AXIS[k.axis], X.shape[AXIS[k.axis]]
    F = X.shape[1]
    Y, Xhat, _, inv = kern.norm_forward(X, np.ones(F), np.zeros(F), int(k.code), eps)
    xhat, inv_np = normalize(X, axis, k.centres, k.scales, eps)
    sd = np.sqrt(_spread(X, k) + eps) if k.scales else np.ones(X.shape[1 - axis])
    S = np.max(np.abs(X)) / sd.min()
    tol = 4 * 2 * 2 * n * U * S * (1 + S * np.abs(xhat).max())
    assert np.abs(Xhat - xhat).max() <= tol and np.abs(Y - xhat).max() <= tol
    dX, _, _ = kern.norm_backward(G, Xhat, inv, np.ones(F), int(k.code))
    dx = normalize_backward(G, xhat, inv_np, axis, k.centres, k.scales)
    g = np.abs(G).max()
    tol_b = 4 * 2 * (n * U * g * (1 + np.abs(xhat).max() ** 2) + g * tol * (1 + np.abs(xhat).max())) / sd.min()
    assert np.abs(dX - dx).max() <= tol_b


@settings(max_examples=100, deadline=None)
@given(cases(), st.integers(0, 2 ** 16))
def test_numpy_backward_is_the_gradient_of_the_batch_function(case, seed):
    """<dL/dx, v> against central differences of L(x) = sum G xhat(x), along a random direction v."""
    X, G, name, eps = case
    k = KINDS[name]
    assume(np.all(_spread(X, k) > 0.05))
    axis = AXIS[k.axis]
    xhat, inv = normalize(X, axis, k.centres, k.scales, eps)
    grad = normalize_backward(G, xhat, inv, axis, k.centres, k.scales)
    v = np.random.default_rng(seed).standard_normal(X.shape)

    def loss(x):
        return float(np.sum(G * normalize(x, axis, k.centres, k.scales, eps)[0]))

    def central(h):
        return (loss(X + h * v) - loss(X - h * v)) / (2 * h)

    h = 1e-4
    d1, d2 = central(h), central(2 * h)
    size = float(np.sum(np.abs(G * normalize(X, axis, k.centres, k.scales, eps)[0]))) + 1.0
    tol = 10 * (abs(d1 - d2) / 3 + 8 * X.size * U * size / h)
    assert abs(d1 - float(np.sum(grad * v))) <= tol


def test_a_wrong_backward_fails_the_gradient_check():
    """Dropping the xhat mean(g xhat) term (the scaling's share) is caught by the same check."""
    rng = np.random.default_rng(1)
    X, G, v = rng.standard_normal((5, 3)), rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    xhat, inv = normalize(X, 0)
    wrong = normalize_backward(G, xhat, inv, 0, scales=False) * inv
    h = 1e-4
    fd = (np.sum(G * normalize(X + h * v, 0)[0]) - np.sum(G * normalize(X - h * v, 0)[0])) / (2 * h)
    assert abs(fd - np.sum(wrong * v)) > 1e-3 * abs(fd) + 1e-6
    assert abs(fd - np.sum(normalize_backward(G, xhat, inv, 0) * v)) <= 1e-6 * (1 + abs(fd))


def test_the_table_covers_every_numba_code_once():
    assert sorted(int(k.code) for k in KINDS.values()) == [int(c) for c in Norm]
    for k in KINDS.values():
        assert k.axis in AXIS and (k.centres or k.scales)


def test_bn_is_batch_norm_of_the_hidden_layers_wherever_it_is_offered():
    for tool in TOOLS:
        if "bn" in names(tool):
            row = entry("bn", tool)
            assert (row.kind, row.layers, placements("bn", tool)[0]) == ("batch", "hidden", "pre")
    assert entry("bn-hidden", "fim") is entry("bn", "fim")
    assert "bn" not in names("gram") and entry("row-scale", "gram").kind == "scale-only"
    assert entry("row-center", "gram").kind == entry("pre-bn", "gram").kind == "batch"


def test_one_eps():
    from asymexp.bn import model
    from asymexp.nn.norm_layer import NormLayer

    assert NormLayer().eps == model.EPS == EPS == 1e-5
    assert {r.eps for r in NETWORK_NORMS.values() if "gram" not in r.tools} == {EPS}
    assert {r.eps for r in NETWORK_NORMS.values() if r.kind and "gram" in r.tools} == {0.0}


@pytest.mark.parametrize("module,tool", [("asymexp.mnist.norm_net", "mnist"),
                                         ("asymexp.bn.lrscan.full_batch", "lr-scan"),
                                         ("asymexp.bn.onestep.onestep_study", "one-step"),
                                         ("asymexp.bn.gram.gram_chain", "gram")])
def test_every_tool_list_is_the_table_s(module, tool):
    mod = importlib.import_module(module)
    assert tuple(getattr(mod, "CHAINS" if tool == "gram" else "NORMS")) == names(tool)


def test_unknown_norm_is_one_spec_error_naming_the_tool_and_what_is_allowed():
    with pytest.raises(SpecError, match=r"^norm 'group' is unknown for fim; allowed: none, bn, mean-last, "
                                        r"bn-last, bn-hidden, ln$"):
        check("group", "fim")
    with pytest.raises(SpecError, match="norm 'bn-hidden' is unknown for lr-scan; allowed: none, bn, mean-last, "
                                        "bn-last, ln$"):
        check("bn-hidden", "lr-scan")
    with pytest.raises(SpecError, match="normalization 'group' is unknown; allowed: batch, mean-only"):
        kind("group")
    from asymexp.bn.fim.experiment import FimStudy
    from asymexp.bn.lrscan.scan import LrScan
    from asymexp.bn.onestep.onestep_study import OneStepStudy

    for make, tool in ((lambda: FimStudy(layers=1, widths=(8,), samples=4, norms=("ln", "x")), "fim"),
                       (lambda: LrScan(layers=(1,), width=8, norms=("x",)), "lr-scan"),
                       (lambda: OneStepStudy(layers=1, width=8, norms=("x",)), "one-step")):
        with pytest.raises(SpecError, match=f"norm 'x' is unknown for {tool}; allowed: "):
            make()


def test_old_gram_names_are_accepted_with_one_line_on_stderr(capsys):
    for (tool, old), new in RENAMED.items():
        assert old in accepted(tool) and old not in names(tool)
        assert check(old, tool) == new
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and repr(new) in err
        assert check(new, tool) == new and capsys.readouterr().err == ""


def test_gram_row_norm_is_the_shared_numpy_normalization():
    rng = np.random.default_rng(2)
    P = rng.standard_normal((3, 7, 4))
    from asymexp.bn.gram.gram_chain import row_normalize

    for centres in (False, True):
        xhat, _ = normalize(np.swapaxes(P, -1, -2), -2, centres, True, 0.0)
        assert np.abs(row_normalize(P, centres) - np.swapaxes(xhat, -1, -2)).max() <= 16 * 4 * U * 4
