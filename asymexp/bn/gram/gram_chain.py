"""The Gram chain of a batch through a deep random network, at finite width, vectorized over independent runs
(docs/batchnorm.md, "The Gram chain").

A batch of n inputs is a (d, n) array H_0 (rows: units, columns: samples; d >= n), the same for every run, with
Gram exactly :func:`input_gram`. Each layer draws fresh weights W_l (d, d) with i.i.d. N(0, s_w^2 / d) entries;
the Gram of layer l is G_l = H_l^T H_l / d, (n, n). The chains (``chain``, the ``gram`` norms of
:mod:`asymexp.norms`):

    row-scale   H_{l+1} = BN(W_l phi(H_l))          BN: each row divided by its RMS over the batch
    row-center  H_{l+1} = BN_c(W_l phi(H_l))        BN_c: each row centred over the batch, then divided by its RMS
    pre-bn      H_{l+1} = phi(BN_c(W_l H_l))        (the usual Linear-BN-activation block)
    none        H_{l+1} = phi(W_l H_l)              critical init: s_w^2 = 2 for relu, 1 otherwise

``bn`` and ``bn-center``, the old names of row-scale and row-center, are accepted with one line on stderr
(:func:`chain_name`). With BN, s_w^2 = 1 (BN is scale-invariant) and every row of a BN output has mean square 1
over the batch, so tr G_l = n exactly for row-scale and row-center.

Sampling (``method="sampled"``, the default): given X = phi(H_l) (or H_l), the rows of W_l X are i.i.d.
N(0, K) with K = s_w^2 X^T X / d, independent of everything earlier; so W_l X has the law of Z K^{1/2} with Z
(d, n) standard normal, exactly (no approximation). That costs O(d n^2) per layer instead of O(d^2 n) and d n
normal draws instead of d^2. ``method="explicit"`` multiplies by drawn d x d matrices (the definition; the
reference the tests and the benchmark compare with).

Random numbers: run r of width d draws from the generator of ``SeedSequence([seed, d]).spawn(runs)[r]`` (the
input batch from ``SeedSequence([seed, d, 0])``), so a run's numbers do not depend on how many runs are made;
the products are BLAS gemm calls, whose threads split the output entries, never a sum: same seed, same numbers
whatever the thread count (tests/test_gram.py checks it).
"""
from __future__ import annotations

import numpy as np

from asymexp.activations import ACTIVATIONS as _REGISTRY
from asymexp.activations import get as get_activation
from asymexp.errors import AsymexpError
from asymexp.norms import check, entry, names
from asymexp.norms.numpy_norm import centre_scale

CHAINS = names("gram")
METHODS = ("sampled", "explicit")
INPUT_CORRELATION = 0.5


def chain_name(chain: str) -> str:
    """The current name of ``chain`` (an old one with one line on stderr); SpecError if it is unknown."""
    return check(chain, "gram")


def centres(chain: str) -> bool:
    """Whether the chain's BN subtracts the batch mean of each row (row-center and pre-bn)."""
    kind = entry(chain, "gram").layer_kind
    return kind is not None and kind.centres


#: The chain's activations: every registered one, the identity under the chain's name "linear". Without
#: normalization (``none``) the chain runs at the critical weight variance, so only those that have one
#: (:data:`CRITICAL`).
ACTIVATIONS = tuple("linear" if a.name == "identity" else a.name for a in _REGISTRY.values())
CRITICAL = tuple("linear" if a.name == "identity" else a.name for a in _REGISTRY.values()
                 if a.critical_weight_var is not None)


def weight_variance(chain: str, activation) -> float:
    """s_w^2: 1 with BN (scale-invariant), the critical value without (the registry's ``critical_weight_var``:
    2 for relu, 1 for the identity, tanh and sin)."""
    if entry(chain, "gram").kind is not None:
        return 1.0
    act = get_activation(activation)
    if act.critical_weight_var is None:
        raise AsymexpError(f"activation {act.name!r} has no critical weight variance, which the chain without "
                           f"normalization runs at; with --norm none allowed: {', '.join(CRITICAL)}")
    return act.critical_weight_var


def row_normalize(P: np.ndarray, center: bool, eps: float = 0.0) -> np.ndarray:
    """BN of the chain on P (..., d, n): each row (optionally centred) divided by its RMS over the n columns
    (sqrt(mean square + eps); the chain's BN is exact, eps = 0). A row that is exactly zero stays zero (it has no
    direction; probability zero for Gaussian rows). This is the normalization of :mod:`asymexp.norms.numpy_norm`
    (scale-only, or batch norm when centred) over the batch axis of the (batch, features) array P^T, and the shared
    layer :mod:`asymexp.nn.normalization` computes the same (tests/test_gram.py checks it)."""
    c, rms = centre_scale(P, -1, center, True, eps)
    return c / np.where(rms > 0, rms, 1.0)


def gram(H: np.ndarray) -> np.ndarray:
    """G = H^T H / d for H (..., d, n): (..., n, n)."""
    return np.matmul(np.swapaxes(H, -1, -2), H) / H.shape[-2]


def psd_sqrt(K: np.ndarray) -> np.ndarray:
    """The symmetric square root of positive semi-definite K (..., n, n); rounding-negative eigenvalues -> 0."""
    w, V = np.linalg.eigh(K)
    return np.einsum("...ik,...k,...jk->...ij", V, np.sqrt(np.clip(w, 0.0, None)), V)


def input_gram(batch: int) -> np.ndarray:
    """G_0 (batch, batch): unit diagonal, correlation :data:`INPUT_CORRELATION` between any two inputs."""
    return (1 - INPUT_CORRELATION) * np.eye(batch) + INPUT_CORRELATION * np.ones((batch, batch))


def input_batch(width: int, batch: int, seed: int, start: np.ndarray | None = None) -> np.ndarray:
    """H_0 (width, batch) = sqrt(width) Q G_0^{1/2}, Q a random (width, batch) matrix with orthonormal columns,
    so that H_0^T H_0 / width = G_0 exactly at every width (the mean-field reference of the chain without BN is
    then one computation for all widths). The same for every run. G_0: ``start`` (batch, batch), positive
    semi-definite, or :func:`input_gram` when None."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, width, 0]))
    Q, _ = np.linalg.qr(rng.standard_normal((width, batch)))
    return np.sqrt(width) * Q @ psd_sqrt(input_gram(batch) if start is None else np.asarray(start, float))


def check_sizes(chain: str, batch: int, width: int, depth: int, runs: int, method: str = "sampled") -> None:
    """AsymexpError naming the first value that is not allowed."""
    chain = chain_name(chain)
    if method not in METHODS:
        raise AsymexpError(f"method {method!r} is unknown; allowed: {', '.join(METHODS)}")
    if batch < 2 and chain != "none":
        raise AsymexpError(f"batch {batch} is not allowed with norm {chain}: BN over a batch needs a batch of at "
                           f"least 2")
    if batch < 1:
        raise AsymexpError(f"batch {batch} is not allowed; an integer >= 1 is required")
    if width < max(2, batch):
        raise AsymexpError(f"width {width} is not allowed; widths >= 2 and >= the batch ({batch}) are required")
    if depth < 1:
        raise AsymexpError(f"depth {depth} is not allowed; an integer >= 1 is required")
    if runs < 1:
        raise AsymexpError(f"runs {runs} is not allowed; an integer >= 1 is required")


def simulate(chain: str, activation, batch: int, width: int, depth: int, runs: int, seed: int = 0,
             method: str = "sampled", start: np.ndarray | None = None) -> np.ndarray:
    """The Grams G_0..G_depth of ``runs`` independent networks: (runs, depth + 1, batch, batch); ``start``: the
    input Gram G_0 (:func:`input_batch`; default :func:`input_gram`)."""
    chain = chain_name(chain)
    check_sizes(chain, batch, width, depth, runs, method)
    phi = get_activation(activation).value
    s_w2 = weight_variance(chain, activation)
    center, eps = centres(chain), entry(chain).eps
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, width]).spawn(runs)]
    H = np.broadcast_to(input_batch(width, batch, seed, start), (runs, width, batch)).copy()
    grams = np.empty((runs, depth + 1, batch, batch))
    grams[:, 0] = gram(H)
    for layer in range(1, depth + 1):
        X = phi(H) if chain in ("row-scale", "row-center") else H
        if method == "sampled":
            Z = np.stack([g.standard_normal((width, batch)) for g in streams])
            P = Z @ psd_sqrt(s_w2 * gram(X))
        else:
            W = np.stack([g.standard_normal((width, width)) for g in streams]) * np.sqrt(s_w2 / width)
            P = W @ X
        if chain == "none":
            H = phi(P)
        elif chain == "pre-bn":
            H = phi(row_normalize(P, center, eps))
        else:
            H = row_normalize(P, center, eps)
        grams[:, layer] = gram(H)
    return grams
