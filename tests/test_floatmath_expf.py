"""The float32 exp of glibc's algorithm (asymexp.floatmath.expf_fma) and the trainer's float32 sigmoid row built on
it: table, accuracy against float64 exp, thresholds. Its bit-identity with glibc's own expf is a property of the
platform's libm, measured exhaustively on one machine (docs/mnist.md), not asserted here."""
import mpmath
import numpy as np
from hypothesis import given, settings, strategies as st
from numba import njit

from asymexp.activations.numba_forms import act, sigmoid_row_f32
from asymexp.floatmath import _EXP2F_TAB, expf_fma
from asymexp.kernel_codes import Act


def test_table_holds_the_correctly_rounded_powers_of_two():
    mpmath.mp.prec = 120
    for j, entry in enumerate(_EXP2F_TAB):
        exact = np.float64(float(mpmath.mpf(2) ** (mpmath.mpf(j) / 32)))   # float() rounds to nearest
        assert entry + (j << 47) == int(exact.view(np.int64)), j


@njit
def _expf_all(x):
    out = np.empty(x.shape[0], dtype=np.float32)
    for i in range(x.shape[0]):
        out[i] = np.float32(expf_fma(x[i]))
    return out


def _ulp_error(x):
    """|expf_fma(x) - exp(x)| in float32 ulps of the result, exp(x) from float64 (0.5 float64 ulp: far below)."""
    got = _expf_all(x).astype(np.float64)
    ref = np.exp(x.astype(np.float64))
    ulp = np.spacing(np.abs(got).astype(np.float32)).astype(np.float64)
    return np.abs(got - ref) / ulp


def test_within_one_ulp_on_a_dense_sample():
    # seeded: 400k uniform points on [-87, 87] and 200k on [-1, 1]; glibc documents < 1 ulp (about 0.502)
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-87, 87, 400_000), rng.uniform(-1, 1, 200_000), [0.0, -0.0, 1.0, -46.0, 40.0]])
    err = _ulp_error(x.astype(np.float32))
    assert err.max() < 1.0
    assert np.mean(err <= 0.5) > 0.99   # correctly rounded almost everywhere


@settings(max_examples=200, deadline=None)
@given(st.floats(-87.0, 87.0, width=32))
def test_within_one_ulp_for_any_float32(x):
    assert _ulp_error(np.array([x], dtype=np.float32))[0] < 1.0


@njit
def _act_rows(z):
    out = z.copy()
    one = np.float32(1.0)
    for i in range(z.shape[0]):
        out[i] = act(z[i], Act.SIGMOID, one, -46.0)
    return out


def test_sigmoid_row_keeps_acts_thresholds_and_values():
    rng = np.random.default_rng(3)
    z = np.concatenate([rng.normal(0, 8, 100_000), [40.0, 40.0001, -46.0, -46.0001, 0.0, 60.0, -60.0]])
    z = z.astype(np.float32)
    row = z.copy()
    sigmoid_row_f32(row)
    ref = _act_rows(z)
    assert np.all(row[z > 40] == 1) and np.all(row[z < -46] == 0)
    # the same formula; only the exp may differ from the platform's libm, by under 1 ulp of exp(-z), which
    # moves 1 / (1 + e) by at most 1 float32 ulp of the result
    diff = np.abs(row.astype(np.float64) - ref.astype(np.float64))
    assert np.all(diff <= np.spacing(ref))
    nan = np.array([np.nan], dtype=np.float32)
    sigmoid_row_f32(nan)
    assert np.isnan(nan[0])
