"""GELU's theory values checked independently: the frozen kernel A and the initial covariance S of the shallow
problem gelu4.toml estimated by plain Monte Carlo over (c, w) with GELU written from scipy's erf (not the
registry's forms), then h_t and V_t from a matrix exponential of the linearized flow (docs/theory/3-shallow-expansion.md):

    dh/dt = (alpha / M) A[:, train] (y - h[train]),   h_0 = E f = 0 (c symmetric),
    V_t = diag(L_t S L_t^T),   L_t = expm(G t),  G[:, train] = -(alpha / M) A[:, train].

Statistical basis: 16 independent batches of 25,000 draws (seeded); the batch estimates' standard error of h_t
and V_t sets the tolerance, 4.5 SE (a two-sided 4.5 SE excursion has probability 7e-6 per value, under 1e-4 for
the 10 values) plus the theory's own error estimate."""
import numpy as np
import pytest
from scipy.linalg import expm
from scipy.special import erf

from asymexp import theory

BATCHES, DRAWS, T = 16, 25_000, 1.0


def _gelu(z):
    return z * 0.5 * (1.0 + erf(z / np.sqrt(2.0)))


def _dgelu(z):
    return 0.5 * (1.0 + erf(z / np.sqrt(2.0))) + z * np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)


def _h_and_v(A, S, y, alpha, t):
    P, M = A.shape[0], y.shape[0]
    G = np.zeros((P, P))
    G[:, :M] = -(alpha / M) * A[:, :M]
    b = (alpha / M) * A[:, :M] @ y
    aug = np.zeros((P + 1, P + 1))           # d/dt [h; 1] = [[G, b], [0, 0]] [h; 1]
    aug[:P, :P], aug[:P, P] = G, b
    h = expm(aug * t)[:P, P]
    L = expm(G * t)
    return h, np.einsum("ij,jk,ik->i", L, S, L)


@pytest.fixture(scope="module")
def monte_carlo():
    th = theory("gelu4.toml", gamma=0.75, times=T)
    X = np.asarray(th.points, dtype=np.float64)
    y = np.array([0.5, -0.2, 0.3, 0.8])       # gelu4.toml's targets
    rng = np.random.default_rng(20261207)
    hs, vs = [], []
    for _ in range(BATCHES):
        W = rng.standard_normal((DRAWS, X.shape[1]))
        c = rng.uniform(-1.0, 1.0, DRAWS)
        Z = W @ X.T
        H, D = _gelu(Z), _dgelu(Z)
        c2 = (c * c)[:, None, None]
        A = np.mean(H[:, :, None] * H[:, None, :] + c2 * D[:, :, None] * D[:, None, :] * (X @ X.T), axis=0)
        S = np.mean(c2 * H[:, :, None] * H[:, None, :], axis=0)
        h, v = _h_and_v(A, S, y, 1.0, T)
        hs.append(h)
        vs.append(v)
    return th, np.array(hs), np.array(vs)


def _close(value, error, samples):
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
    return np.abs(np.asarray(value).ravel() - mean) <= 4.5 * se + np.asarray(error).ravel()


def test_gelu_leading_term_matches_a_monte_carlo_kernel(monte_carlo):
    th, hs, _ = monte_carlo
    assert _close(th.h, th.errors["h"], hs).all(), (np.ravel(th.h), hs.mean(axis=0))


def test_gelu_variance_matches_a_monte_carlo_kernel(monte_carlo):
    th, _, vs = monte_carlo
    assert _close(th.V, th.errors["V"], vs).all(), (np.ravel(th.V), vs.mean(axis=0))

