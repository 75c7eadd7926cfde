"""The shallow hierarchy: vanishing terms (parity, odd moments) and their numeric confirmation.

The numeric checks use an exactly symmetric discrete measure (antithetic pairs w, -w and a discrete law of c
with exact moments), so a term that the parity argument kills is zero to rounding (~1e-16 relative), and a
term that survives is O(1): no Monte Carlo error enters, the tolerance is a rounding bound.
"""
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy

from asymexp.spec import NetworkSpec
from asymexp.symbolic import ALPHA, hierarchy, integral_definitions, source_contractions
from asymexp.symbolic.parity import Symmetries, term_statuses

SKEWED = {1: Fraction(0), 2: Fraction(2), 3: Fraction(2), 4: Fraction(6)}  # c in {-1, 2} w.p. 2/3, 1/3


def _skewed(p):
    return SKEWED.get(p, Fraction(1))


def _status(sym, K=2):
    return {s.order: s for s in term_statuses(K, sym)}


def test_q1_vanishes_for_default_spec_with_reason():
    for act in ("sigmoid", "tanh"):
        eqs = {e.name: e for e in hierarchy(NetworkSpec.from_strings("0.8", activation=act), 2)}
        q1, q2 = eqs["Q_{1,0}"], eqs["Q_{2,0}"]
        assert q1.vanishes and "odd moments" in q1.reason and "w -> -w" in q1.reason
        assert not q2.vanishes
        assert len(q2.surviving) < len(q2.contractions)      # the Q1 terms drop out
        assert all("Q1" not in c.operands and "IQ1" not in c.operands for c in q2.surviving)


def test_q1_vanishing_by_parity_alone_and_not_for_generic_activation():
    for act in ("tanh", "sigmoid"):
        st = _status(Symmetries(_skewed, "skewed", True, act))
        assert st[1].vanishes and "w -> -w" in st[1].reason and "odd moments" not in st[1].reason
    generic = _status(Symmetries(_skewed, "skewed", True, "generic"))
    assert not generic[1].vanishes and not generic[2].vanishes
    # w law not symmetric: parity unavailable, skewed c: Q1 survives even for tanh
    assert not _status(Symmetries(_skewed, "skewed", False, "tanh"))[1].vanishes


def test_symmetric_c_kills_odd_orders():
    sym = Symmetries.from_spec(NetworkSpec.from_strings("0.8"))
    st = _status(sym, 3)
    assert [st[k].vanishes for k in (1, 2, 3)] == [True, False, True]


def test_nonzero_mean_c_keeps_q1_for_sigmoid():
    spec = NetworkSpec.from_strings("0.8", preset="paper-mnist")
    assert not {e.name: e for e in hierarchy(spec, 1)}["Q_{1,0}"].vanishes


# --- numeric confirmation ------------------------------------------------------------------------------------
def _activation(name):
    t = np.tanh
    if name == "tanh":
        return [t, lambda u: 1 - t(u) ** 2, lambda u: -2 * t(u) * (1 - t(u) ** 2),
                lambda u: (1 - t(u) ** 2) * (6 * t(u) ** 2 - 2)]
    # tanh + u^2/4: sigma' = sech^2 + u/2 is not even
    return [lambda u: t(u) + u**2 / 4, lambda u: 1 - t(u) ** 2 + u / 2,
            lambda u: -2 * t(u) * (1 - t(u) ** 2) + 0.5, lambda u: (1 - t(u) ** 2) * (6 * t(u) ** 2 - 2)]


def _derivative_arrays(X, W, c, wq, act, M):
    """f = c sigma(w.x), theta = (c, w): D^n f = c sigma^(n) v^n + sigma^(n-1) sum_pos (e_c at pos, v elsewhere)."""
    sig = _activation(act)
    S, (P, d) = W.shape[0], X.shape
    D = d + 1
    U = W @ X.T                                       # (S, P)
    v = np.concatenate([np.zeros((P, 1)), X], axis=1)  # (P, D)
    e = np.zeros(D)
    e[0] = 1.0
    arrays = {"wq": wq, "muM": np.full(M, 1.0 / M), "fP": c[:, None] * sig[0](U)}
    for n, name in ((1, "gfP"), (2, "HfP"), (3, "D3fP")):
        vv = v
        for _ in range(n - 1):
            vv = np.einsum("p...,pi->p...i", vv, v)
        out = c[:, None, *([None] * n)] * sig[n](U)[(...,) + (None,) * n] * vv[None]
        for pos in range(n):
            parts = [v] * n
            parts[pos] = np.broadcast_to(e, (P, D))
            t = parts[0]
            for q in parts[1:]:
                t = np.einsum("p...,pi->p...i", t, q)
            out = out + sig[n - 1](U)[(...,) + (None,) * n] * t[None]
        arrays[name] = out
        arrays[name.replace("P", "M")] = out[:, :M]
    arrays["fM"] = arrays["fP"][:, :M]
    return arrays


def _symmetric_measure(seed, c_values, c_probs, S=40, d=3, antithetic=True):
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((S, d))
    W = np.concatenate([W0, -W0]) if antithetic else W0   # antithetic: w -> -w exactly
    Wc = np.repeat(W, len(c_values), axis=0)
    c = np.tile(np.asarray(c_values, float), len(W))
    wq = np.tile(np.asarray(c_probs, float), len(W)) / len(W)
    return Wc, c, wq


def _time_arrays(rng, M):
    return {"r": rng.standard_normal(M), "R": rng.standard_normal(M), "C": rng.standard_normal((M, M)),
            "Q1": np.zeros(M), "IQ1": np.zeros(M)}


@pytest.mark.parametrize("act,vanishes", [("tanh", True), ("generic", False)])
def test_q1_source_numeric_parity(act, vanishes):
    rng = np.random.default_rng(7)
    M = 3
    X = np.concatenate([rng.standard_normal((M + 1, 2)), np.ones((M + 1, 1))], axis=1)
    W, c, wq = _symmetric_measure(1, [-1.0, 2.0], [2 / 3, 1 / 3])
    arrays = _derivative_arrays(X, W, c, wq, act, M) | _time_arrays(rng, M)
    terms = [t.evaluate(arrays, 1.0) for t in source_contractions(1)]
    total = np.sum(terms, axis=0)
    # the size the source would have without the w -> -w symmetry of the measure
    W1, c1, wq1 = _symmetric_measure(1, [-1.0, 2.0], [2 / 3, 1 / 3], antithetic=False)
    lopsided = _derivative_arrays(X, W1, c1, wq1, act, M) | _time_arrays(np.random.default_rng(7), M)
    scale = max(np.abs(t.evaluate(lopsided, 1.0)).max() for t in source_contractions(1))
    assert scale > 1e-3
    if vanishes:
        assert np.abs(total).max() <= 1e-12 * scale
    else:
        assert np.abs(total).max() > 1e-2 * scale


def test_q2_source_numeric_nonzero_for_symmetric_c():
    rng = np.random.default_rng(8)
    M = 3
    X = np.concatenate([rng.standard_normal((M + 1, 2)), np.ones((M + 1, 1))], axis=1)
    W, c, wq = _symmetric_measure(2, [-0.5, 0.5], [0.5, 0.5])
    arrays = _derivative_arrays(X, W, c, wq, "tanh", M) | _time_arrays(rng, M)
    spec = NetworkSpec.from_strings("0.8", activation="tanh")
    full = np.sum([t.evaluate(arrays, 1.0) for t in source_contractions(2)], axis=0)
    kept = np.sum([t.evaluate(arrays, 1.0) for t in source_contractions(2, spec)], axis=0)
    assert np.abs(full).max() > 1e-3
    np.testing.assert_allclose(kept, full, rtol=1e-10, atol=1e-14)   # dropped terms are exactly zero here


def test_derivative_arrays_match_finite_differences():
    """The test's own tensors are right: D^n f against central differences (h = 1e-4, error O(h^2) ~ 1e-8)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2, 2))
    theta = np.array([0.7, 0.3, -0.4])
    sig = _activation("generic")

    def f(th):
        return th[0] * sig[0](X @ th[1:])

    a = _derivative_arrays(X, theta[None, 1:], theta[:1], np.ones(1), "generic", 2)
    h = 1e-4
    grad = np.array([(f(theta + h * np.eye(3)[i]) - f(theta - h * np.eye(3)[i])) / (2 * h) for i in range(3)]).T
    np.testing.assert_allclose(a["gfP"][0], grad, atol=1e-7)
    hess = np.array([[(f(theta + h * (np.eye(3)[i] + np.eye(3)[j])) - f(theta + h * (np.eye(3)[i] - np.eye(3)[j]))
                       - f(theta - h * (np.eye(3)[i] - np.eye(3)[j])) + f(theta - h * (np.eye(3)[i] + np.eye(3)[j])))
                      / (4 * h * h) for j in range(3)] for i in range(3)]).transpose(2, 0, 1)
    np.testing.assert_allclose(a["HfP"][0], hess, atol=1e-5)


def test_hierarchy_to_order_three_and_expressions():
    eqs = hierarchy(NetworkSpec.from_strings("0.9"), 3)
    assert [e.name for e in eqs] == ["h", "Q_{0,1}", "Q_{1,0}", "Q_{2,0}", "Q_{3,0}"]
    q3 = eqs[-1]
    assert len(q3.contractions) > 9
    assert q3.source_expression.free_symbols >= {ALPHA}
    assert {"Q2", "IQ2"} <= {op for c in q3.contractions for op in c.operands} | {
        d.name for d in integral_definitions(3)}
    assert math.isclose(float(sum(c.coefficient.subs(ALPHA, 1) for c in eqs[2].contractions)), 2.0)
    assert isinstance(eqs[2].source_expression, sympy.Expr)


# --- the whole hierarchy against the exact finite-eps dynamics -----------------------------------------------
def _sigma_derivatives(n_max):
    """sigma(u) = tanh(u) + u^2/4 (no parity, so no term vanishes) and its derivatives, via SymPy."""
    u = sympy.Symbol("u")
    expr = sympy.tanh(u) + u**2 / 4
    return [sympy.lambdify(u, sympy.diff(expr, u, k), "numpy") for k in range(n_max + 1)]


def _tensors(X, W, c, sig, n_max, M):
    """D^n f(theta_s, x_p) for f = c sigma(w.x), n = 0..n_max, as {'fP', 'gfP', 'HfP', 'D3fP', 'D4fP', ...} + M."""
    P, d = X.shape
    D = d + 1
    U = W @ X.T
    v = np.concatenate([np.zeros((P, 1)), X], axis=1)
    e = np.broadcast_to(np.eye(D)[0], (P, D))
    out = {}
    for n in range(n_max + 1):
        name = {0: "fP", 1: "gfP", 2: "HfP"}.get(n, f"D{n}fP")
        if n == 0:
            out[name] = c[:, None] * sig[0](U)
        else:
            def outer(parts):
                t = parts[0]
                for q in parts[1:]:
                    t = np.einsum("p...,pi->p...i", t, q)
                return t
            expand = (...,) + (None,) * n
            total = c[(slice(None),) + (None,) * (n + 1)] * sig[n](U)[expand] * outer([v] * n)[None]
            for pos in range(n):
                parts = [v] * n
                parts[pos] = e
                total = total + sig[n - 1](U)[expand] * outer(parts)[None]
            out[name] = total
        out[name[:-1] + "M"] = out[name][:, :M]
    return out


def _hierarchy_at(t_end, K, arrays, y, alpha, M, P):
    """Solve h, Q_1..Q_K and every time integral of integral_definitions(K) from the contractions."""
    from scipy.integrate import solve_ivp

    from asymexp.symbolic import kernel_contractions

    A = kernel_contractions()["A"].evaluate(arrays, 1.0)          # (P, M)
    mu = arrays["muM"]
    defs = integral_definitions(K)
    shapes = {"r": (M,), **{f"Q{k}": (M,) for k in range(1, K + 1)}}
    for it in defs:
        shapes[it.name] = sum((shapes[f] for f in it.factors), ())
    layout, off = {}, 0
    for name, shape in [("h", (P,))] + [(f"Q{k}_all", (P,)) for k in range(1, K + 1)] + [
            (it.name, shapes[it.name]) for it in defs]:
        size = int(np.prod(shape))
        layout[name] = (off, shape)
        off += size
    sources = {k: source_contractions(k) for k in range(1, K + 1)}

    def unpack(z):
        return {n: z[o:o + int(np.prod(s))].reshape(s) for n, (o, s) in layout.items()}

    def rhs(_t, z):
        s = unpack(z)
        cur = dict(arrays)
        cur["r"] = y - s["h"][:M]
        for k in range(1, K + 1):
            cur[f"Q{k}"] = s[f"Q{k}_all"][:M]
        for it in defs:
            cur[it.name] = s[it.name]
        dz = np.empty_like(z)
        o, _ = layout["h"]
        dz[o:o + P] = alpha * A @ (mu * cur["r"])
        for k in range(1, K + 1):
            o, _ = layout[f"Q{k}_all"]
            dz[o:o + P] = -alpha * A @ (mu * cur[f"Q{k}"]) + sum(c.evaluate(cur, alpha, optimize=False) for c in sources[k])
        for it in defs:
            val = cur[it.factors[0]]
            for f in it.factors[1:]:
                val = np.multiply.outer(val, cur[f])
            o, shape = layout[it.name]
            dz[o:o + val.size] = val.ravel()
        return dz

    sol = solve_ivp(rhs, (0, t_end), np.zeros(off), method="DOP853", rtol=1e-12, atol=1e-14)
    s = unpack(sol.y[:, -1])
    return s["h"], [s[f"Q{k}_all"] for k in range(1, K + 1)]


def _exact_g(t_end, eps, theta0, X, wq, sig, y, alpha, M):
    """The finite-eps deterministic dynamics: d theta_s/dt = eps alpha mean_m (y_m - g(x_m)) grad f(theta_s, x_m),
    g(x) = eps^{-1} sum_s wq_s [f(theta_s, x) - f(theta_s(0), x)]."""
    from scipy.integrate import solve_ivp

    f0 = theta0[:, 0:1] * sig[0](theta0[:, 1:] @ X.T)

    def g_of(theta):
        return (theta[:, 0:1] * sig[0](theta[:, 1:] @ X.T) - f0).T @ wq / eps

    def rhs(_t, z):
        theta = z.reshape(theta0.shape)
        g = g_of(theta)
        res = (y - g[:M]) / M
        U = theta[:, 1:] @ X[:M].T                                # (S, M)
        dc = sig[0](U) @ res
        dw = (theta[:, 0:1] * sig[1](U) * res[None]) @ X[:M]
        return (eps * alpha * np.concatenate([dc[:, None], dw], axis=1)).ravel()

    sol = solve_ivp(rhs, (0, t_end), theta0.ravel(), method="DOP853", rtol=1e-13, atol=1e-15)
    return g_of(sol.y[:, -1].reshape(theta0.shape))


def test_hierarchy_reproduces_exact_dynamics_to_order_three():
    """g_eps - (h + eps Q1 + eps^2 Q2 + eps^3 Q3) = O(eps^4): halving eps divides the residual by 2^4 = 16.

    Deterministic (a fixed 6-particle measure, a non-symmetric activation so that no term vanishes). The
    residual ratio is 16 (1 + O(eps)); with eps = 0.04 -> 0.02 the O(eps) correction is a few per cent, so
    the window [12, 20] is wide enough for it and narrow enough to fail for a wrong or missing order (ratio 8).
    """
    rng = np.random.default_rng(11)
    M, P, K, alpha = 2, 3, 3, 1.0
    X = np.concatenate([rng.standard_normal((P, 1)), np.ones((P, 1))], axis=1)
    theta0 = rng.standard_normal((6, 3))
    wq = rng.random(6)
    wq /= wq.sum()
    y = np.array([0.8, -0.5])
    sig = _sigma_derivatives(K + 1)
    arrays = _tensors(X, theta0[:, 1:], theta0[:, 0], sig, K + 1, M) | {"wq": wq, "muM": np.full(M, 1.0 / M)}
    h, Q = _hierarchy_at(1.0, K, arrays, y, alpha, M, P)
    residuals = {}
    for eps in (0.04, 0.02):
        g = _exact_g(1.0, eps, theta0, X, wq, sig, y, alpha, M)
        partial = h.copy()
        ratios = []
        for k, q in enumerate(Q, start=1):
            partial = partial + eps**k * q
            ratios.append(np.abs(g - partial).max())
        residuals[eps] = ratios
    for k in range(1, K + 1):
        ratio = residuals[0.04][k - 1] / residuals[0.02][k - 1]
        assert 0.75 * 2 ** (k + 1) <= ratio <= 1.25 * 2 ** (k + 1), (k, ratio, residuals)
