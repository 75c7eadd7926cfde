"""The machine-usable sources agree with a direct NumPy transcription of docs/theory/5-verified-formulas.md.

No statistics: the arrays are random but the comparison is an algebraic identity, so the tolerance is a few
hundred ulps of the magnitudes involved (float64 rounding of einsum sums), not a Monte Carlo error.
"""
import numpy as np
import pytest
import sympy

from asymexp.errors import AsymexpError
from asymexp.symbolic import (ALPHA, Contraction, integral_definitions, kernel_contractions,
                              source_contractions)


def _symmetric(rng, shape):
    """A random array symmetric in its trailing theta indices (derivative tensors are)."""
    a = rng.standard_normal(shape)
    k = len(shape) - 2
    axes = list(range(2, 2 + k))
    import itertools

    total = np.zeros(shape)
    perms = list(itertools.permutations(axes))
    for perm in perms:
        total += np.transpose(a, [0, 1] + list(perm))
    return total / len(perms)


def _arrays(seed, S=5, M=3, probes=2, D=4):
    rng = np.random.default_rng(seed)
    P = M + probes
    wq = rng.random(S)
    wq /= wq.sum()
    gfP = rng.standard_normal((S, P, D))
    HfP = _symmetric(rng, (S, P, D, D))
    D3fP = _symmetric(rng, (S, P, D, D, D))
    mu = rng.random(M)
    mu /= mu.sum()
    arrays = {"wq": wq, "muM": mu, "gfP": gfP, "HfP": HfP, "D3fP": D3fP, "gfM": gfP[:, :M], "HfM": HfP[:, :M],
              "D3fM": D3fP[:, :M], "fP": rng.standard_normal((S, P))}
    arrays["fM"] = arrays["fP"][:, :M]
    for name, shape in (("r", (M,)), ("R", (M,)), ("C", (M, M)), ("Q1", (M,)), ("IQ1", (M,))):
        arrays[name] = rng.standard_normal(shape)
    return arrays


def _section5(a, alpha):
    """docs/theory/5-verified-formulas.md, transcribed line by line (S1 and S2 are the sources of Q1 and Q2)."""
    wq, mu, r, R, C, Q1, IQ1 = (a[k] for k in ("wq", "muM", "r", "R", "C", "Q1", "IQ1"))
    gP, HP, TP, gM, HM, TM = (a[k] for k in ("gfP", "HfP", "D3fP", "gfM", "HfM", "D3fM"))
    d1 = alpha * np.einsum("n,n,sni->si", mu, R, gM)
    B1 = (np.einsum("s,spi,smij,sj->pm", wq, gP, HM, d1) + np.einsum("s,si,spij,smj->pm", wq, d1, HP, gM))
    S1 = alpha * B1 @ (mu * r)
    d2 = (alpha**2 * np.einsum("m,n,mn,smij,snj->si", mu, mu, C, HM, gM)
          - alpha * np.einsum("m,m,smi->si", mu, IQ1, gM))
    HPd1 = np.einsum("spij,sj->spi", HP, d1)
    HMd1 = np.einsum("smij,sj->smi", HM, d1)
    B2 = (np.einsum("s,spi,smi->pm", wq, HPd1, HMd1)
          + np.einsum("s,smi,spij,sj->pm", wq, gM, HP, d2)
          + np.einsum("s,spi,smij,sj->pm", wq, gP, HM, d2)
          + 0.5 * np.einsum("s,smi,spijk,sj,sk->pm", wq, gM, TP, d1, d1)
          + 0.5 * np.einsum("s,spi,smijk,sj,sk->pm", wq, gP, TM, d1, d1))
    S2 = alpha * B2 @ (mu * r) - alpha * B1 @ (mu * Q1)
    return S1, S2


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("alpha", [1.0, 0.37])
def test_sources_match_section5(seed, alpha):
    a = _arrays(seed)
    S1, S2 = _section5(a, alpha)
    for K, expected in ((1, S1), (2, S2)):
        got = sum(c.evaluate(a, alpha) for c in source_contractions(K))
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * scale)


def test_wrong_transcription_is_detected():
    """The comparison can fail: dropping the D3f terms of B2 changes S2."""
    a = _arrays(3)
    _, S2 = _section5(a, 1.0)
    partial = sum(c.evaluate(a, 1.0) for c in source_contractions(2) if "D3fP" not in c.operands
                  and "D3fM" not in c.operands)
    assert np.abs(partial - S2).max() > 1e-3


def test_contract_shape():
    """Coefficients are in alpha only; operands come from the documented names; the output index is p."""
    allowed = {"wq", "muM", "gfP", "HfP", "D3fP", "gfM", "HfM", "D3fM", "r", "R", "C", "Q1", "IQ1"}
    for K in (1, 2):
        for c in source_contractions(K):
            assert isinstance(c, Contraction)
            assert c.coefficient.free_symbols <= {ALPHA}
            assert c.subscripts.endswith("->p")
            assert set(c.operands) <= allowed
            assert len(c.subscripts.split("->")[0].split(",")) == len(c.operands)
    names = {d.name for d in integral_definitions(2)}
    assert names == {"R", "C", "IQ1"}


def test_higher_orders_use_documented_integrals():
    """Every operand of S_3, S_4 is a fixed name, Q{k}/IQ{k} with k < K, D{n}f, or a listed integral."""
    import re

    for K in (3, 4):
        defs = {d.name: d for d in integral_definitions(K)}
        for c in source_contractions(K):
            for op in c.operands:
                ok = (op in {"wq", "muM", "r"} or op in defs or re.fullmatch(r"(gf|Hf|D\d+f)[PM]", op)
                      or (re.fullmatch(r"Q(\d+)", op) and int(op[1:]) < K))
                assert ok, op
        for d in defs.values():  # each factor is defined before it is used
            for f in d.factors:
                assert f == "r" or re.fullmatch(r"Q\d+", f) or f in defs


def test_kernels():
    a = _arrays(4)
    k = kernel_contractions()
    np.testing.assert_allclose(k["A"].evaluate(a, 1.0), np.einsum("s,spi,smi->pm", a["wq"], a["gfP"], a["gfM"]))
    S = k["S"].evaluate(a, 1.0)
    assert S.shape == (5, 5)
    np.testing.assert_allclose(S, S.T)
    assert k["A"].coefficient == sympy.Integer(1)


@pytest.mark.parametrize("bad", [0, -1, 6, 1.5, "2", True])
def test_bad_order(bad):
    with pytest.raises(AsymexpError, match="order"):
        source_contractions(bad)
