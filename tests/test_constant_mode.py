"""The constant mode of the sigmoid frozen kernel (asymexp/bn/constant_mode.py, docs/batchnorm.md).

Statistical basis: everything here is deterministic quadrature. Each comparison allows the sum of the two sides'
own error estimates (coarse against fine rule) plus a rounding allowance of 1e-12 (sums of <= 1e4 terms of size
<= 1 in float64). Eigen-statements are theorems (Weyl, Cauchy interlacing, the sin-theta bound of a Rayleigh
quotient) checked up to that rounding."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import integrate

from asymexp.errors import SpecError
from asymexp.inputs.datasets import load
from asymexp.bn.constant_mode import (centring_projector, first_layer_kernels, karakida_prediction,
                                           mnist_frozen_kernel, rank_one_bound, spectrum_report)
from asymexp.numeric.pairwise import pair_moments
from asymexp.spec import NetworkSpec

ROUND = 1e-12


def assert_karakida_spectrum(spec, x, rounding: float = ROUND) -> None:
    """The frozen kernel of ``spec`` on x is Karakida's isotropic matrix: its top eigenvalue the outlier
    (K1 + (P-1) K2) / P and the rest the bulk (K1 - K2) / P, within the errors of both sides plus ``rounding``."""
    A, err, err_spec = mnist_frozen_kernel(spec, x)
    pred = karakida_prediction(spec, x)
    rep = spectrum_report(A, err_spec)
    tol = pred["error"] + rep["eigenvalue_error"] + err + rounding
    assert abs(rep["top"] - pred["outlier"]) <= tol
    assert np.all(np.abs(rep["eigenvalues"][1:] - pred["bulk"]) <= tol)


def _sig(y):
    return 0.5 * (1.0 + np.tanh(0.5 * y))


def _phi(z):
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def test_first_layer_matches_adaptive_quadrature_on_a_saturated_pair():
    # MNIST-sized variances (|x|^2 ~ 700): the sigmoid is a step on the Gaussian's scale
    g = np.array([[700.0, 300.0], [300.0, 500.0]])
    k, kd = first_layer_kernels(g)
    k8, kd8 = first_layer_kernels(g, points=8)
    a = math.sqrt(g[0, 0])
    rho, b = g[0, 1] / a, math.sqrt(g[1, 1] - (g[0, 1] / a) ** 2)
    ref, ref_err = integrate.dblquad(lambda z2, z1: _sig(a * z1) * _sig(rho * z1 + b * z2) * _phi(z1) * _phi(z2),
                                     -9, 9, -9, 9, epsabs=1e-12, epsrel=1e-12)
    assert abs(k[0, 1] - ref) <= ref_err + abs(k[0, 1] - k8[0, 1]) + ROUND
    refd, refd_err = integrate.dblquad(
        lambda z2, z1: _sig(a * z1) * (1 - _sig(a * z1)) * _sig(rho * z1 + b * z2) * (1 - _sig(rho * z1 + b * z2))
        * _phi(z1) * _phi(z2), -1.5, 1.5, -9, 9, epsabs=1e-14, epsrel=1e-10)
    # |z1| > 1.5 leaves sigma'(a z1) < e^{-a 1.5} ~ 1e-17: below the rounding allowance
    assert abs(kd[0, 1] - refd) <= refd_err + abs(kd[0, 1] - kd8[0, 1]) + ROUND
    diag, diag_err = integrate.quad(lambda z: _sig(a * z) ** 2 * _phi(z), -9, 9, points=[0.0], epsabs=1e-14, limit=200)
    assert abs(k[0, 0] - diag) <= diag_err + abs(k[0, 0] - k8[0, 0]) + ROUND


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 5), st.floats(0.3, 2.0))
def test_first_layer_matches_gauss_hermite_where_it_converges(seed, p, scale):
    # |x| ~ scale <= 2, so the pre-activations have standard deviations of order 1 to 3: a smooth integrand, where
    # Gauss-Hermite is accurate; its error is estimated by 96 against 64 nodes
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(p, p + 2)) * scale / math.sqrt(p + 2)
    g = x @ x.T
    k, kd = first_layer_kernels(g)
    k8, kd8 = first_layer_kernels(g, points=8)
    gk, gkd, _ = pair_moments("sigmoid", np.zeros(p), g, 96)
    gk2, gkd2, _ = pair_moments("sigmoid", np.zeros(p), g, 64)
    assert np.all(np.abs(k - gk) <= np.abs(k - k8) + np.abs(gk - gk2) + ROUND)
    assert np.all(np.abs(kd - gkd) <= np.abs(kd - kd8) + np.abs(gkd - gkd2) + ROUND)


@pytest.fixture(scope="module")
def mnist_kernel():
    x = load("mnist").arrays("float64")[0][:16]
    spec = NetworkSpec.from_strings(gammas="1/2,1/2,1/2", preset="paper-mnist")
    A, err, err_spec = mnist_frozen_kernel(spec, x)
    return spec, x, A, err, err_spec


def test_paper_mnist_top_eigenvector_is_the_constant_vector(mnist_kernel):
    _, _, A, _, err_spec = mnist_kernel
    rep = spectrum_report(A, err_spec)
    bound = rep["rank_one"]
    # theorem (rank-one perturbation of c 11^T, see rank_one_bound): overlap >= sqrt(1 - sine_bound^2)
    assert bound["overlap_bound"] is not None
    assert rep["overlap"] >= bound["overlap_bound"] - ROUND - rep["overlap_error"]
    # the claim under test ("eigenvector close to (1, ..., 1)", docs/theory/4-deep-networks.md): the bound itself,
    # computed without any eigenvector, guarantees an overlap of at least 0.99
    assert bound["overlap_bound"] >= 0.99


def test_mean_subtraction_removes_the_outlier(mnist_kernel):
    _, _, A, _, err_spec = mnist_kernel
    rep = spectrum_report(A, err_spec)
    p = rep["P"]
    lam1, lam2, top_c = rep["top"], rep["second"], rep["top_centred"]
    sine = rep["rank_one"]["sine_bound"]
    tol = ROUND + 2 * rep["eigenvalue_error"]
    # interlacing: lambda_2(A) <= lambda_1(P A P) <= lambda_1(A); the compression onto 1-perp sees v_1 only through
    # sin(theta): lambda_1(P A P) <= lambda_2 + (lambda_1 - lambda_2) sin^2(theta)
    assert lam2 - tol <= top_c <= lam2 + (lam1 - lam2) * sine ** 2 + tol
    # and P A P = P R P: below lambda_max(R)
    assert top_c <= rep["rank_one"]["lambda_max_rest"] / p + tol
    assert np.all(rep["eigenvalues_centred"] >= -tol)
    assert abs(rep["eigenvalues_centred"][-1]) <= tol  # the constant direction itself


def _plain_kernel(x, c2, orders):
    """A = K_3 + E[C^2] Kd_3 K_2 for three sigmoid layers, gamma = 1/2, N(0,1) weights: plain loops over pairs,
    2-d Gauss-Hermite of ``orders`` nodes per dimension."""
    z, w = np.polynomial.hermite_e.hermegauss(orders)
    w = w / w.sum()

    def layer(cov):
        p = cov.shape[0]
        k, kd = np.zeros((p, p)), np.zeros((p, p))
        for i in range(p):
            for j in range(p):
                a = math.sqrt(cov[i, i])
                r = cov[i, j] / a
                b = math.sqrt(max(cov[j, j] - r * r, 0.0))
                for zi, wi in zip(z, w):
                    u = a * zi
                    v = r * zi + b * z
                    k[i, j] += wi * np.sum(w * _sig(u) * _sig(v))
                    kd[i, j] += wi * np.sum(w * _sig(u) * (1 - _sig(u)) * _sig(v) * (1 - _sig(v)))
        return k, kd

    k1, _ = layer(x @ x.T)
    k2, _ = layer(k1)
    k3, kd3 = layer(k2)
    return k3 + c2 * kd3 * k2


def test_against_a_plain_numpy_transcription():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 6)) * 0.5      # small norms, where Gauss-Hermite converges
    spec = NetworkSpec.from_strings(gammas="1/2,1/2,1/2", preset="paper-mnist").replace(input_dim=6)
    A, err, _ = mnist_frozen_kernel(spec, x)
    plain = _plain_kernel(x, 1.0 / 3.0, 64)
    plain_err = np.max(np.abs(plain - _plain_kernel(x, 1.0 / 3.0, 48)))
    assert np.max(np.abs(A - plain)) <= err + plain_err + ROUND
    rep = spectrum_report(A)
    lam, vec = np.linalg.eigh(plain / 4)
    q = np.eye(4) - 0.25
    assert abs(rep["top"] - lam[-1]) <= (err + plain_err) + ROUND
    assert abs(rep["top_centred"] - np.linalg.eigvalsh(q @ plain @ q / 4)[-1]) <= (err + plain_err) + ROUND
    assert np.allclose(centring_projector(4), q)


def test_karakida_prediction_is_exact_for_isotropic_inputs():
    # equal norms and equal pairwise overlaps: A = K1 I + K2 (11^T - I) exactly, so its eigenvalues are
    # (K1 + (P-1) K2) / P once and (K1 - K2) / P; the order-parameter recursion must give the same K1, K2
    p, d = 5, 7
    x = np.zeros((p, d))
    x[:, :p] = 1.2 * np.eye(p)
    x[:, p] = 0.8
    spec = NetworkSpec.from_strings(gammas="1/2,1/2,1/2", preset="paper-mnist").replace(input_dim=d)
    assert_karakida_spectrum(spec, x)


def test_rank_one_bound_on_an_exact_rank_one_matrix():
    a = np.full((6, 6), 0.3)
    out = rank_one_bound(a)
    assert out["sine_bound"] <= ROUND and abs(out["overlap_bound"] - 1.0) <= ROUND
    assert abs(out["constant_part"] - 1.8) <= ROUND


def test_bad_input_is_refused(mnist_kernel):
    spec, x, _, _, _ = mnist_kernel
    with pytest.raises(SpecError, match="sigmoid"):
        mnist_frozen_kernel(spec.replace(activation="tanh"), x[:3])
    with pytest.raises(SpecError, match="parallel"):
        mnist_frozen_kernel(spec, np.vstack([x[:2], x[:1]]))
    with pytest.raises(SpecError, match="P >= 2"):
        mnist_frozen_kernel(spec, x[:1])
    assert karakida_prediction(NetworkSpec.from_strings(gammas="1,1,1", widths="100,100,100",
                                                        preset="paper-mnist"), x[:3]) is None
