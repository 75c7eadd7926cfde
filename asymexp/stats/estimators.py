"""Monte Carlo estimators of the mean and variance of g^N_t with standard errors (docs/theory/5-verified-formulas.md).

Every estimator here is written as ``value = base + mean_k u_k`` over independent samples u_k (replicas, or
antithetic pairs), so its standard error is std(u) / sqrt(n), and sums over points (the trace estimator used by
the fits) get correct errors from the per-sample sums. Shapes: g (R, P) outputs of R replicas at P points.

- plain: u = (g - mean g)^2 n / (n - 1)  (the SE is the fourth-moment formula).
- antithetic pairs (C, W), (-C, W): with O = (g+ - g-)/2 and E = (g+ + g-)/2, Var g = E[O^2] + Var E because E[O] = 0
  and Cov(O, E) = 0 for a symmetric law of C.
- control variate: c = L_t g_0 is odd in C with E[c^2] known exactly (N^{1-2gamma} V_t), so
  E[O^2] = E[c^2] + E[O^2 - c^2]; O^2 - c^2 is small when g_t - h_t is close to its frozen-kernel response.
- Rao-Blackwell at t = 0: Var(g_0 | inner weights) = N_L^{-2gamma_L} Var(C) sum_i H^{L,i}(x)^2 for mean-zero C;
  at t > 0 for deep nets the control c = L_t g_0 with E[c^2] estimated by its conditional value
  N_L^{-2gamma_L} Var(C) (L_t Gram L_t^T)_xx given the inner weights (unbiased, low variance).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.errors import AsymexpError


@dataclass(frozen=True)
class Estimate:
    """value = base + mean(u, axis 0); u (n, P) independent samples, base (P,)."""

    u: np.ndarray
    base: np.ndarray

    @property
    def value(self) -> np.ndarray:
        return self.base + self.u.mean(axis=0)

    @property
    def se(self) -> np.ndarray:
        return self.u.std(axis=0, ddof=1) / np.sqrt(self.u.shape[0])

    def total(self, weights=None) -> tuple[float, float]:
        """(value, se) of sum_x weights_x * estimate_x (default weights 1)."""
        w = np.ones(self.base.shape) if weights is None else np.asarray(weights, float)
        s = self.u @ w
        return float(self.base @ w + s.mean()), float(s.std(ddof=1) / np.sqrt(s.size))


def _check(g, antithetic):
    g = np.asarray(g, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] < (4 if antithetic else 2):
        raise AsymexpError(f"estimators need outputs of shape (R, P) with R >= {4 if antithetic else 2}; "
                           f"got {g.shape}")
    if antithetic and g.shape[0] % 2:
        raise AsymexpError(f"antithetic outputs need an even number of replicas; got {g.shape[0]}")
    return g


def split_pairs(g):
    """(odd part O, even part E), each (R/2, P), from antithetic replicas in pairs (rows 2p, 2p+1)."""
    return 0.5 * (g[0::2] - g[1::2]), 0.5 * (g[0::2] + g[1::2])


def mean_estimate(g, antithetic: bool, control=None) -> Estimate:
    """Mean of g (R, P); with antithetic pairs the sample is the pair average (the odd part cancels).

    control: (R, P) a mean-zero control subtracted per sample (e.g. the response of h_t to the kernel
    fluctuation A_N - A at initialization, which is even in C: pairs share it)."""
    g = _check(g, antithetic)
    sample = split_pairs(g)[1] if antithetic else g
    if control is not None:
        c = np.asarray(control, dtype=np.float64)
        sample = sample - (c[0::2] if antithetic else c)
    return Estimate(sample, np.zeros(g.shape[1]))


def variance_estimate(g, antithetic: bool, control=None, control_second_moment=None) -> Estimate:
    """Var g at each point.

    Args:
        g: (R, P) outputs.
        antithetic: rows 2p, 2p+1 are antithetic pairs.
        control: (R, P) odd control c (e.g. L_t g_0) or None; needs antithetic pairs.
        control_second_moment: (P,) exact E[c^2], or (R, P) per-replica unbiased estimates of it (e.g. the
            conditional E[c^2 | inner weights], shared by a pair).
    """
    g = _check(g, antithetic)
    if not antithetic:
        if control is not None:
            raise AsymexpError("the control variate needs antithetic pairs (--antithetic)")
        n = g.shape[0]
        return Estimate((g - g.mean(axis=0)) ** 2 * n / (n - 1), np.zeros(g.shape[1]))
    odd, even = split_pairs(g)
    n = odd.shape[0]
    spread = (even - even.mean(axis=0)) ** 2 * n / (n - 1)
    if control is None:
        return Estimate(odd ** 2 + spread, np.zeros(g.shape[1]))
    c = np.asarray(control, dtype=np.float64)[0::2]
    second = np.asarray(control_second_moment, dtype=np.float64)
    if second.ndim == 2:
        return Estimate(odd ** 2 - c ** 2 + spread + second[0::2], np.zeros(g.shape[1]))
    return Estimate(odd ** 2 - c ** 2 + spread, second)


def rao_blackwell_t0(hidden_sq, width: int, gamma_last: float, c_variance: float, antithetic: bool) -> Estimate:
    """Var g_0 from the exact conditional variance given the inner weights (C mean zero, i.i.d.).

    hidden_sq (R, P) = sum_i H^{L,i}(x)^2; pairs share inner weights, so only one member per pair is used."""
    h = np.asarray(hidden_sq, dtype=np.float64)
    if antithetic:
        h = h[0::2]
    return Estimate(float(width) ** (-2.0 * gamma_last) * c_variance * h, np.zeros(h.shape[1]))
