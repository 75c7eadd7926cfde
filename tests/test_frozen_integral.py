"""int_0^t exp(-alpha s lam) ds of :class:`asymexp.numeric.frozen.Eigen` (the time integral in h_t and in the
propagator, docs/theory/3-shallow-expansion.md) against its closed form (1 - e^{-alpha t lam}) / (alpha lam),
evaluated in 50-digit arithmetic (mpmath), over eigenvalues from 0 to far beyond 1/(alpha t).

Basis: in double precision the closed form is computed either as -expm1(-x) / (alpha lam) (relative error a few
ulps) or, for x = alpha t lam <= 1e-12, as t (1 - x/2), whose truncation error t x^2 / 6 is below 1e-24 t; so the
relative error is below 1e-14 everywhere. A wrong sign or factor in the small-x branch moves it by x ~ 1e-13 at
the smallest x drawn near the switch, a hundred times the tolerance."""
import mpmath
import numpy as np
from hypothesis import given, settings, strategies as st

from asymexp.numeric.frozen import Eigen


def _closed_form(lam: float, alpha: float, t: float) -> float:
    with mpmath.workdps(50):
        x = mpmath.mpf(alpha) * t * lam
        if x == 0:
            return float(t)
        return float(-mpmath.expm1(-x) / (mpmath.mpf(alpha) * lam))


@settings(max_examples=60, deadline=None)
@given(log_x=st.floats(-20.0, 2.0), alpha=st.floats(0.1, 4.0), t=st.floats(0.01, 10.0))
def test_time_integral_equals_the_closed_form(log_x, alpha, t):
    x = np.array([0.0, 10.0 ** log_x, 1e-13, 1e-12, 1.0000001e-12, 10.0 ** (log_x + 1)])
    lam = x / (alpha * t)
    got = Eigen(lam, np.eye(len(lam))).integral(alpha, t)
    want = np.array([_closed_form(float(v), alpha, t) for v in lam])
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)
