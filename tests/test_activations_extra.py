"""relu, identity (linear) and sin: values, derivatives, Numba forms, Gaussian kernels, and the refusal of the
expansion layers (docs/batchnorm.md, docs/theory/3-shallow-expansion.md)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymexp.activations import ACTIVATIONS, by_code, get, require_expandable
from asymexp.activations.gaussian import pair_kernel, self_kernel
from asymexp.errors import SpecError
from asymexp.kernel_codes import Act

EPS = np.finfo(np.float64).eps


def test_new_codes_and_alias():
    assert get("relu").code == Act.RELU and get("identity").code == Act.IDENTITY and get("sin").code == Act.SIN
    assert get("linear") is get("identity")
    assert {by_code(int(a.code)).name for a in ACTIVATIONS.values()} == set(ACTIVATIONS)
    assert not get("relu").smooth and get("relu").max_order == 1


@pytest.mark.parametrize("name", ["relu", "identity", "sin", "tanh", "sigmoid"])
def test_derivative_is_the_slope_of_the_value(name):
    """Central differences, step 1e-6: error <= h^2 max|sigma'''| / 6 + eps max|sigma| / h < 1e-9; points keep
    1e-3 away from relu's kink."""
    act = get(name)
    u = np.array([-2.3, -0.7, 0.31, 1.9])
    h = 1e-6
    fd = (act.value(u + h) - act.value(u - h)) / (2 * h)
    assert np.max(np.abs(fd - act.derivative(u))) < 1e-9


def test_derivative_from_value_where_it_exists():
    u = np.linspace(-3, 3, 13)
    for name in ("relu", "identity", "tanh", "sigmoid"):
        act = get(name)
        np.testing.assert_allclose(act.derivative_from_value(act.value(u)), act.derivative(u), rtol=0, atol=4 * EPS)
    with pytest.raises(SpecError, match="not a function"):
        get("sin").derivative_from_value(np.zeros(3))


def test_relu_has_no_second_derivative():
    with pytest.raises(SpecError, match="not smooth"):
        get("relu").derivatives(np.zeros(2), 2)


def test_expansion_layers_refuse_relu_and_the_others():
    from asymexp.spec import NetworkSpec

    with pytest.raises(SpecError, match="'relu' is not smooth"):
        NetworkSpec(gammas=(1,), activation="relu")
    with pytest.raises(SpecError, match="'sin' is outside"):
        require_expandable("sin")
    assert require_expandable("tanh").name == "tanh"


def test_numba_forms_match_numpy():
    """Every Numba form against the NumPy form of the same code (libm on both sides: a few ulp)."""
    from asymexp.activations.numba_forms import act_plain, act_vec, dact
    from asymexp.jit import kernel

    @kernel()
    def apply(z, kind, out):
        for i in range(z.size):
            out[0, i] = act_plain(z[i], kind)
            out[1, i] = act_vec(z[i], kind)
            out[2, i] = dact(z[i], kind)

    z = np.linspace(-4.0, 4.0, 33)
    for name in ("relu", "identity", "sin", "tanh", "sigmoid"):
        act = get(name)
        out = np.empty((3, z.size))
        apply(z, int(act.code), out)
        np.testing.assert_allclose(out[0], act.value(z), rtol=8 * EPS, atol=8 * EPS)
        np.testing.assert_allclose(out[1], act.value(z), rtol=8 * EPS, atol=8 * EPS)
        np.testing.assert_allclose(out[2], act.derivative(z), rtol=8 * EPS, atol=8 * EPS)


def _relu_kernel_by_scipy(q1, q2, c, derivative):
    """E over the quadrant u, v > 0 (where relu and its step are smooth) by nested adaptive quadrature:
    u = sqrt(q1) z1, v = sqrt(q2) (c z1 + s z2); v > 0 <=> z2 > -c z1 / s."""
    from scipy.integrate import dblquad

    s = math.sqrt(1 - c * c)

    def f(z2, z1):
        dens = math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi)
        if derivative:
            return dens
        return dens * math.sqrt(q1) * z1 * math.sqrt(q2) * (c * z1 + s * z2)

    val, err = dblquad(f, 0, 12, lambda z1: -c * z1 / s, lambda z1: max(12.0, 12.0 - c * z1 / s), epsabs=1e-12, epsrel=1e-12)
    return val, err


@settings(max_examples=25, deadline=None)
@given(q1=st.floats(0.2, 4.0), q2=st.floats(0.2, 4.0), c=st.floats(-0.95, 0.95), derivative=st.booleans())
def test_relu_closed_forms_against_adaptive_quadrature(q1, q2, c, derivative):
    """Closed arc-cosine forms against scipy's nested adaptive quadrature on the smooth quadrant. Both levels are
    asked for 1e-12; the Gaussian tail beyond 12 sd is < 1e-30; tolerance 1e-9 = 1000 x the request, for the
    inner integrals' errors, which dblquad's estimate does not include."""
    value, bound = pair_kernel("relu", q1, q2, c * math.sqrt(q1 * q2), derivative)
    ref, _ = _relu_kernel_by_scipy(q1, q2, c, derivative)
    assert abs(value - ref) <= 1e-9 + bound


@settings(max_examples=25, deadline=None)
@given(q1=st.floats(0.05, 3.0), q2=st.floats(0.05, 3.0), c=st.floats(-0.99, 0.99))
def test_quadrature_error_estimate_bounds_the_error(q1, q2, c):
    """sin and identity have closed Gaussian kernels: E sin u sin v = e^{-(q1+q2)/2} sinh(c12), E cos u cos v =
    e^{-(q1+q2)/2} cosh(c12), E u v = c12; the quadrature's reported error must bound the true one."""
    c12 = c * math.sqrt(q1 * q2)
    damp = math.exp(-(q1 + q2) / 2)
    for name, deriv, exact in (("sin", False, damp * math.sinh(c12)), ("sin", True, damp * math.cosh(c12)),
                               ("identity", False, c12), ("identity", True, 1.0)):
        value, err = pair_kernel(name, q1, q2, c12, deriv)
        assert abs(value - exact) <= err + 4 * EPS * max(1.0, abs(exact))


def test_self_kernels_of_relu():
    assert self_kernel("relu", 3.0)[0] == pytest.approx(1.5, abs=4 * EPS)
    assert self_kernel("relu", 3.0, True)[0] == pytest.approx(0.5, abs=4 * EPS)


def test_kernels_refuse_bad_variances():
    with pytest.raises(SpecError):
        pair_kernel("tanh", -1.0, 1.0, 0.0)
    with pytest.raises(SpecError, match="correlation"):
        pair_kernel("tanh", 1.0, 1.0, 2.0)


def test_derivative_from_value_keeps_float32():
    """The MNIST trainer runs sigma' in float32: a new branch must not promote the result to float64."""
    from asymexp.activations.numba_forms import dact_from_h
    from asymexp.jit import kernel

    @kernel()
    def slope(h, kind, one):
        return dact_from_h(h, kind, one)

    one = np.float32(1)
    for act in ACTIVATIONS.values():
        slope(np.float32(0.3), int(act.code), one)
    assert [str(s.return_type) for s in slope.nopython_signatures] == ["float32"]
