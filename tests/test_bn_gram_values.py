"""Numbers of the Gram chain's mean-field theory (asymexp/bn/gram/gram_mean_field.py, docs/batchnorm.md, "The
Gram chain") against values computed another way: the hand-derived noise of the linear chain, the entrywise
error of a Frobenius norm, and the spread of independently seeded Monte Carlo fixed points
(docs/architecture.md, "Testing")."""
import math

import numpy as np
from scipy import stats

from asymexp.bn.gram import gram_mean_field as mf
from asymexp.bn.gram.gram_chain import weight_variance
from asymexp.activations import get

ROUND = 1e-12


def test_linear_chain_gap_is_the_noise_over_one_minus_the_contraction_squared():
    """G_{l+1} - G* = c (G_l - G*) + xi / sqrt(d): the stationary E||G - G*||_F^2 is E||b b^T - G*||_F^2 / d over
    1 - c^2, and V^2 = that / n^2. The noise by hand: |b|^2 = n, so ||b b^T - I||^2 = n^2 - 2n + n (bn) and,
    with G* = n/(n-1) P and b in the plane of P, ||b b^T - G*||^2 = n^2 - 2 n^2/(n-1) + n^2/(n-1) (centred)."""
    d = 100
    for n in range(3, 9):
        for chain, noise in (("bn", n * n - n), ("bn-center", n * n - n * n / (n - 1)),
                             ("pre-bn", n * n - n * n / (n - 1))):
            c = mf.contraction(chain, "linear", n)
            v2 = noise / (d * (1 - c * c)) / n ** 2
            assert abs(mf.predicted_gap_rms(chain, "linear", n, d) ** 2 - v2) <= ROUND * v2
    assert mf.contraction("bn", "linear", 4) == 4 / 6 and mf.contraction("bn-center", "linear", 4) == 3 / 5


def test_mean_field_trajectory_error_is_the_frobenius_norm_of_the_entry_errors(monkeypatch):
    """Each layer's G = s_w^2 (kernel entries): with every diagonal kernel entry off by e1 and every off-diagonal
    one by e2, the layer's error is s_w^2 ||E||_F = s_w^2 sqrt(n e1^2 + n (n - 1) e2^2); the bound sums layers."""
    e1, e2 = 1e-6, 3e-6
    real = mf.pair_kernel

    def fixed_errors(act, q1, q2, c, *args, **kw):
        value, _ = real(act, q1, q2, c, *args, **kw)
        return value, (e1 if c == q1 else e2)

    monkeypatch.setattr(mf, "pair_kernel", fixed_errors)
    n, depth = 3, 4
    _, error = mf.mean_field_trajectory("tanh", n, depth)
    s_w2 = weight_variance("none", get("tanh"))
    expected = depth * s_w2 * math.sqrt(n * e1 ** 2 + n * (n - 1) * e2 ** 2)
    assert abs(error - expected) <= ROUND * expected


def test_monte_carlo_fixed_point_error_matches_the_spread_over_seeds():
    """pre-bn tanh, n = 3 (the tracked Gram's diagonal fluctuates): over R independent seeds the sum of the
    entrywise sample variances of G* estimates E error^2. Its ratio to the mean reported error^2 lies within the
    chi-square interval of the effective R - 1 degrees of freedom (the diagonal, n equal entries, dominates;
    99.9%, widened by a factor 2 either side for the noise of the reported errors themselves)."""
    runs = 12
    fps = [mf.fixed_point("pre-bn", "tanh", 3, samples=20_000, seed=s) for s in range(runs)]
    grams = np.array([fp.gram for fp in fps])
    spread2 = float(grams.var(axis=0, ddof=1).sum())
    reported2 = float(np.mean([fp.error ** 2 for fp in fps]))
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], runs - 1) / (runs - 1)
    assert lo / 2 <= spread2 / reported2 <= 2 * hi


def test_pre_bn_fixed_point_is_the_gram_of_phi_at_its_own_correlation():
    """pre-bn tracks phi(b): G* = A(K*) = E phi(b) phi(b)^T, and K*'s correlation rho* is the fixed point of
    rho -> rho(A(K)), so G*'s own correlation G*_01 / G*_00 is rho* (to the iteration's 1e-12 and the map's
    rounding). For bn the tracked Gram is B(K*) = E b b^T, whose diagonal is 1 exactly (|b|^2 = n)."""
    for act, n in (("relu", 3), ("tanh", 4)):
        fp = mf.fixed_point("pre-bn", act, n, samples=20_000, seed=1)
        assert abs(fp.gram[0, 1] / fp.gram[0, 0] - fp.correlation) <= 1e-9
        assert abs(fp.gram[0, 1] - fp.gram[1, 2]) <= ROUND                 # batch-symmetric
    bn = mf.fixed_point("bn", "relu", 3, samples=20_000, seed=1)
    assert np.all(np.abs(np.diag(bn.gram) - 1.0) <= ROUND)
