"""The activation and normalization registries against values computed another way (docs/architecture.md,
"Testing"): the NumPy derivatives against SymPy's derivatives evaluated in 40-digit mpmath arithmetic, the
normalization and its backward pass against a plain loop over the explicit Jacobian, the facts (parity, collapse,
derivative in the value, critical variance, strip of analyticity) against their defining property, the tables
against docs/batchnorm.md, and the verdict rule at its boundaries."""
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from asymexp import activations as A
from asymexp import norms as N
from asymexp.errors import SpecError
from asymexp.kernel_codes import Act, Norm
from asymexp.norms.numpy_norm import centre_scale, normalize, normalize_backward
from asymexp.stats.interval_verdicts import AGREE, DISAGREE, NO_PREDICTION, UNDETERMINED, decide

_x = sp.Symbol("x", real=True)
_SYMBOLIC = {
    "sigmoid": 1 / (1 + sp.exp(-_x)),
    "tanh": sp.tanh(_x),
    "identity": _x,
    "sin": sp.sin(_x),
    "gelu": _x * (1 + sp.erf(_x / sp.sqrt(2))) / 2,
}
U = np.array([-3.1, -1.7, -0.45, 0.0, 0.3, 1.2, 2.6])


def _reference(name, order):
    """[sigma^(k)(U) for k = 0..order] from SymPy's derivatives evaluated with 40 digits."""
    expr, out = _SYMBOLIC[name], []
    for k in range(order + 1):
        f = sp.lambdify(_x, sp.diff(expr, _x, k), modules="mpmath")
        with mpmath.workdps(40):
            out.append(np.array([float(f(mpmath.mpf(float(u)))) for u in U]))
    return out


@pytest.mark.parametrize("name", sorted(_SYMBOLIC))
def test_numpy_derivatives_equal_sympys_to_rounding(name):
    act = A.get(name)
    ref = _reference(name, act.max_order)
    for order in range(act.max_order + 1):
        got = act.derivatives(U, order)
        assert len(got) == order + 1
        for k in range(order + 1):
            # rounding: the Hermite recursion of gelu's order-12 derivative sums terms ~ 1e5 with eps 2e-16
            tol = 1e-13 * (1.0 + np.abs(ref[k]).max()) * (1 + k) ** 4
            np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=tol, err_msg=f"{name} order {k}")


def test_relu_derivatives_by_hand_with_the_kink_at_zero():
    act = A.get("relu")
    v, d = act.derivatives(np.array([-2.0, -0.0, 0.0, 1e-300, 3.5]), 1)
    assert v.tolist() == [0.0, 0.0, 0.0, 1e-300, 3.5] and d.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert len(act.derivatives(U, 0)) == 1


@pytest.mark.parametrize("name", A.NAMES)
def test_order_bounds_value_and_derivative(name):
    act = A.get(name)
    with pytest.raises(SpecError):
        act.derivatives(U, act.max_order + 1)
    with pytest.raises(SpecError):
        act.derivatives(U, -1)
    full = act.derivatives(U, act.max_order)
    np.testing.assert_array_equal(act.value(U), full[0])
    np.testing.assert_array_equal(act.derivative(U), full[1])
    np.testing.assert_array_equal(A.sigma_derivatives(name, U, 1)[1], full[1])
    assert A.sigma_at_zero(name) == act.at_zero == float(act.value(0.0))
    assert act.slope_at_zero == float(act.derivative(0.0))


def test_max_orders_by_hand():
    assert {a.name: a.max_order for a in A.ACTIVATIONS.values()} == {
        "sigmoid": 3, "tanh": 3, "relu": 1, "identity": 3, "sin": 3, "gelu": 12}


def _has_parity(f_minus, f_plus, sign):
    return np.allclose(f_minus, sign * f_plus, rtol=0, atol=1e-12 * (1 + np.abs(f_plus).max()))


@pytest.mark.parametrize("name", A.NAMES)
def test_parity_holds_exactly_from_first_and_nowhere_below(name):
    act = A.get(name)
    u = np.abs(U[U != 0]) + 0.1
    plus, minus = act.derivatives(u, act.max_order), act.derivatives(-u, act.max_order)
    for k in range(act.max_order + 1):
        p = act.parity.of(k)
        if p is None:
            assert not _has_parity(minus[k], plus[k], 1) and not _has_parity(minus[k], plus[k], -1), (name, k)
        else:
            assert p in (1, -1) and _has_parity(minus[k], plus[k], p), (name, k)


def test_parity_of_and_odd_product_by_hand():
    odd = A.get("tanh").parity                         # sigma odd: sigma^(k) has parity (-1)^(k+1)
    assert [odd.of(k) for k in range(4)] == [-1, 1, -1, 1]
    assert odd.odd_product([0]) and not odd.odd_product([1]) and not odd.odd_product([0, 0])
    assert odd.odd_product([0, 1, 1]) and odd.odd_product([0, 2, 2]) and not odd.odd_product([0, 2, 3])
    assert not odd.odd_product([])
    gelu = A.get("gelu").parity
    assert [gelu.of(k) for k in range(5)] == [None, None, 1, -1, 1]
    assert gelu.odd_product([3]) and gelu.odd_product([2, 3]) and not gelu.odd_product([3, 1])
    assert not gelu.odd_product([1, 3]) and not gelu.odd_product([2, 4])
    sig = A.get("sigmoid").parity
    assert [sig.of(k) for k in range(4)] == [None, 1, -1, 1] and not sig.odd_product([0])
    assert sig.odd_product([2]) and not sig.odd_product([1, 2, 0])
    assert A.get("relu").parity.of(0) is None and A.get("relu").parity.of(1) is None
    assert not A.get("relu").parity.odd_product([1]) and A.NO_PARITY.of(10 ** 6) is None


def test_collapse_follows_sigma_and_its_slope_at_zero():
    got = {a.name: a.collapse for a in A.ACTIVATIONS.values()}
    assert got == {"sigmoid": "constant", "tanh": "linear", "relu": None, "identity": "linear", "sin": "linear",
                   "gelu": "linear"}


@pytest.mark.parametrize("name", A.NAMES)
def test_derivative_from_value_and_its_polynomial(name):
    act = A.get(name)
    if act.needs_preactivation:
        assert name in ("sin", "gelu") and act.derivative_in_value is None
        with pytest.raises(SpecError):
            act.derivative_from_value(act.value(U))
        return
    u = np.concatenate([U, [0.0]])
    h, d = act.derivatives(u, 1)
    np.testing.assert_allclose(act.derivative_from_value(h), d, rtol=0, atol=4e-16)
    assert act.derivative_from_value(h).dtype == np.float64
    if act.derivative_in_value is not None:
        poly = sum(c * h ** i for i, c in enumerate(act.derivative_in_value))
        np.testing.assert_allclose(poly, d, rtol=0, atol=4e-16)
    else:
        assert name == "relu"


def test_critical_weight_variance_makes_the_slope_at_zero_marginal():
    # chi = s_w^2 E[sigma'(sqrt(q) Z)^2] -> s_w^2 sigma'(0)^2 as q -> 0 (smooth); relu: s_w^2 E[step^2] = s_w^2 / 2
    for name in ("tanh", "identity", "sin"):
        act = A.get(name)
        assert act.critical_weight_var * act.slope_at_zero ** 2 == 1.0
    assert A.get("relu").critical_weight_var * 0.5 == 1.0
    assert A.get("gelu").critical_weight_var is None and A.get("sigmoid").critical_weight_var is None


def test_strips_of_analyticity_end_at_the_nearest_pole():
    assert abs(1 + complex(math.e) ** complex(0, -A.get("sigmoid").strip_half_width)) < 1e-15
    assert abs(np.cosh(complex(0, A.get("tanh").strip_half_width))) < 1e-15
    assert A.get("sigmoid").strip_half_width == math.pi and A.get("tanh").strip_half_width == math.pi / 2
    assert [A.get(n).strip_half_width for n in ("identity", "sin", "gelu")] == [math.inf] * 3
    assert A.get("relu").strip_half_width is None


def test_registry_lists_codes_and_refusals():
    assert A.EXPANDABLE == ("sigmoid", "tanh", "gelu")
    assert A.TRAINER_ACTIVATIONS == ("sigmoid", "tanh", "relu", "gelu") and A.TRAINER_ONLY == ("relu",)
    assert [a.smooth for a in A.ACTIVATIONS.values()] == [True, True, False, True, True, True]
    assert [a.closed_gaussian for a in A.ACTIVATIONS.values()] == [False, False, True, True, False, False]
    assert A.get("linear") is A.get("identity") and A.get(A.get("tanh")) is A.get("tanh")
    for code in Act:
        assert A.by_code(int(code)).code == code
    with pytest.raises(SpecError):
        A.by_code(99)
    with pytest.raises(SpecError):
        A.get("swish")
    for name in A.EXPANDABLE:
        assert A.require_expandable(name).name == name
    with pytest.raises(SpecError, match="not smooth"):
        A.require_expandable("relu")
    for name in ("identity", "sin"):
        with pytest.raises(SpecError, match="outside"):
            A.require_expandable(name)


# ---- normalization arithmetic -------------------------------------------------------------------------------

FLAGS = [(True, True), (True, False), (False, True), (False, False)]


def _loop_normalize(x, axis, centres, scales, eps):
    """Plain loop over the lines along ``axis`` of a 2-D x: (xhat, inv) with 1-D lines."""
    x = np.moveaxis(x, axis, -1)
    xhat, inv = np.empty_like(x), np.empty(x.shape[0])
    for i, line in enumerate(x):
        n = len(line)
        m = sum(line) / n if centres else 0.0
        c = [v - m for v in line]
        sd = math.sqrt(sum(v * v for v in c) / n + eps) if scales else 1.0
        inv[i] = 1.0 / sd
        xhat[i] = [v / sd for v in c]
    return np.moveaxis(xhat, -1, axis), inv


def _loop_backward(g, x, axis, centres, scales, eps):
    """g^T J along each line, J the explicit Jacobian of the line's xhat:
    d xhat_i / d x_j = (delta_ij - [c]/n) / sd - [s] c_i sum_k c_k (delta_kj - [c]/n) / (n sd^3)."""
    g, x = np.moveaxis(g, axis, -1), np.moveaxis(x, axis, -1)
    out = np.empty_like(x)
    for r, line in enumerate(x):
        n = len(line)
        m = sum(line) / n if centres else 0.0
        c = [v - m for v in line]
        sd = math.sqrt(sum(v * v for v in c) / n + eps) if scales else 1.0
        for j in range(n):
            dc = [(1.0 if k == j else 0.0) - (1.0 / n if centres else 0.0) for k in range(n)]
            s = sum(ck * dk for ck, dk in zip(c, dc))
            out[r, j] = sum(g[r, i] * (dc[i] / sd - (c[i] * s / (n * sd ** 3) if scales else 0.0))
                            for i in range(n))
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("centres,scales", FLAGS)
@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("eps", [N.EPS, 0.3])
def test_normalize_and_its_backward_equal_plain_loops(centres, scales, axis, eps):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 4)) * 0.4 + 0.7
    g = rng.standard_normal((5, 4))
    xhat, inv = normalize(x, axis, centres, scales, eps)
    ref, ref_inv = _loop_normalize(x, axis, centres, scales, eps)
    np.testing.assert_allclose(xhat, ref, rtol=1e-13, atol=1e-14)
    c, sd = centre_scale(x, axis, centres, scales, eps)
    if scales:
        np.testing.assert_allclose(np.squeeze(inv), ref_inv, rtol=1e-13)
        np.testing.assert_allclose(np.squeeze(sd), 1.0 / ref_inv, rtol=1e-13)
        assert inv.shape[axis] == 1 and sd.shape[axis] == 1
    else:
        assert inv is None and sd is None
    np.testing.assert_allclose(c, ref if not scales else ref / np.expand_dims(ref_inv, axis), rtol=1e-13,
                               atol=1e-14)
    back = normalize_backward(g, xhat, inv, axis, centres, scales)
    np.testing.assert_allclose(back, _loop_backward(g, x, axis, centres, scales, eps), rtol=1e-12, atol=1e-12)


def test_backward_with_leading_broadcast_axes_and_an_axis_from_the_end():
    rng = np.random.default_rng(8)
    x, g = rng.standard_normal((6, 3)), rng.standard_normal((2, 6, 3))
    xhat, inv = normalize(x, 0)
    got = normalize_backward(g, xhat[None], inv[None], -2)
    for s in range(2):
        np.testing.assert_allclose(got[s], _loop_backward(g[s], x, 0, True, True, N.EPS), rtol=1e-12,
                                   atol=1e-12)


# ---- the normalization table (docs/batchnorm.md, "Normalization layers") ----------------------------------------

def test_kinds_by_hand():
    got = {k.name: (k.code, k.centres, k.scales, k.axis) for k in N.KINDS.values()}
    assert got == {"batch": (Norm.BATCH, True, True, "batch"), "mean-only": (Norm.MEAN_ONLY, True, False, "batch"),
                   "scale-only": (Norm.SCALE_ONLY, False, True, "batch"),
                   "layer": (Norm.LAYER, True, True, "features")}
    for code in Norm:
        assert N.kind_of_code(int(code)).code == code
    assert N.kind("layer") is N.KINDS["layer"]
    with pytest.raises(SpecError):
        N.kind("group")


def test_network_norms_tools_and_eps_by_hand():
    assert N.EPS == 1e-5
    assert N.names("mnist") == ("none", "bn", "mean-last", "ln")
    assert N.names("fim") == ("none", "bn", "mean-last", "bn-last", "bn-hidden", "ln")
    assert N.names("lr-scan") == ("none", "bn", "mean-last", "bn-last", "ln")
    assert N.names("one-step") == ("none", "bn", "mean-last")
    assert N.names("gram") == ("none", "row-scale", "row-center", "pre-bn")
    assert N.accepted("gram") == ("none", "row-scale", "row-center", "pre-bn", "bn", "bn-center")
    assert N.accepted("fim") == N.names("fim")
    assert {n: r.eps for n, r in N.NETWORK_NORMS.items()} == {
        "none": 1e-5, "bn": 1e-5, "mean-last": 1e-5, "bn-last": 1e-5, "bn-hidden": 1e-5, "ln": 1e-5,
        "row-scale": 0.0, "row-center": 0.0, "pre-bn": 0.0}
    rows = {n: (r.kind, r.layers) for n, r in N.NETWORK_NORMS.items()}
    assert rows == {"none": (None, None), "bn": ("batch", "hidden"), "mean-last": ("mean-only", "last"),
                    "bn-last": ("batch", "last"), "bn-hidden": ("batch", "hidden"), "ln": ("layer", "hidden"),
                    "row-scale": ("scale-only", "hidden"), "row-center": ("batch", "hidden"),
                    "pre-bn": ("batch", "hidden")}
    assert N.NETWORK_NORMS["none"].layer_kind is None and N.NETWORK_NORMS["ln"].layer_kind is N.KINDS["layer"]
    assert N.placements("bn", "mnist") == ("pre", "post") and N.placements("bn", "fim") == ("pre",)
    assert N.placements("none", "gram") == ("pre",)


def test_check_and_entry(capsys):
    assert N.entry("bn-hidden", "fim") is N.NETWORK_NORMS["bn"] and N.entry("bn") is N.NETWORK_NORMS["bn"]
    assert N.check("ln", "fim") == "ln"
    assert capsys.readouterr().err == ""
    assert N.check("bn", "gram") == "row-scale" and N.entry("bn-center", "gram").name == "row-center"
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "'row-scale'" in err[0] and "'row-center'" in err[1]
    for name, tool in (("ln", "one-step"), ("bn", "one-step-x"), ("bn-last", "gram")):
        with pytest.raises(SpecError):
            N.check(name, tool)
    with pytest.raises(SpecError):
        N.entry("nope")


# ---- the verdict rule at its boundaries (docs/validation.md) ----------------------------------------------------

def test_verdict_boundaries():
    assert decide([0.0, 1.0], 0.0).word == AGREE and decide([0.0, 1.0], 1.0).word == AGREE
    assert decide([0.0, 1.0], -1e-12).word == DISAGREE and decide([0.0, 1.0], 1.0 + 1e-12).word == DISAGREE
    assert decide([0.0, 1.0], 0.5, max_width=1.0).word == AGREE           # width equal to the limit: not wider
    assert decide([0.0, 1.0], 0.5, max_width=0.999).word == UNDETERMINED
    assert decide([0.0, 1.0], 0.5, target_half_width=0.5).word == AGREE   # half-width 0.5, not above 0.5
    assert decide([0.0, 1.0], 0.5, target_half_width=0.4999).word == UNDETERMINED
    assert decide([0.0, 1.0], 0.5, target_half_width=1.9).word == AGREE
    assert decide([0.0, 1.0], 3.0, target_half_width=0.1).word == DISAGREE
    assert decide([0.0, 4.0], 3.0, max_width=5.0, target_half_width=2.0).word == AGREE
    assert decide([0.0, 4.0], 3.0, max_width=3.0, settle="s").settle == "s"
    assert decide([0.0, 4.0], 3.0, max_width=5.0).settle is None
    assert decide(None, None).word == NO_PREDICTION
    v = decide([0.0, 1.0], 0.5, target_half_width=0.1, settle="more")
    assert (v.word, v.settle) == (UNDETERMINED, "more") and "half-width 0.5 > 0.1" in v.reason
    assert "half-width 0.5 > 0.1" in decide([1.0, 2.0], 1.5, target_half_width=0.1).reason     # (hi - lo) / 2
