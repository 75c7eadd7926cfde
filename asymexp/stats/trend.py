"""Ordered-alternative tests for a grid's verdicts (docs/mnist.md, "How a trend is tested").

:func:`jonckheere` tests k ordered groups of measurements (e.g. the seeds' test accuracies at gamma_L = 1/2,
7/10, 1) for a monotone trend, in both directions. The statistic is

    J = sum_{a < b} #{(x, y) : x in group a, y in group b, x < y} + 1/2 #{ties},

the count of ordered pairs that rise. Under the null (every arrangement of the pooled values over the groups
equally likely) its distribution is computed exactly by enumerating the distinct assignments of the pooled values
to the groups when there are at most :data:`EXACT_LIMIT` of them (9 values in 3 groups of 3: 1,680), else from a
seeded Monte Carlo permutation sample of :data:`MC_PERMUTATIONS` (the p-value's Monte Carlo SE is returned).
The one-sided p-values P(J >= j_obs) ("rise") and P(J <= j_obs) ("fall") are exact for the permutation test,
ties included. With three seeds per group the smallest one-sided p-value is 1/1680 = 0.0006.

:func:`holm` adjusts a family of p-values (Holm's step-down, which controls the family-wise error rate for any
dependence between the tests).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

EXACT_LIMIT = 200_000
MC_PERMUTATIONS = 20_000
MC_SEED = 20261207


def _statistic(groups: list[np.ndarray]) -> float:
    j = 0.0
    for a, b in itertools.combinations(range(len(groups)), 2):
        x, y = groups[a][:, None], groups[b][None, :]
        j += float((x < y).sum()) + 0.5 * float((x == y).sum())
    return j


def _assignments(sizes: list[int]):
    """Every way to split positions 0..n-1 into groups of ``sizes`` (as a list of index tuples)."""
    n = sum(sizes)

    def rec(left: tuple, k: int):
        if k == len(sizes) - 1:
            yield [left]
            return
        for chosen in itertools.combinations(left, sizes[k]):
            rest = tuple(i for i in left if i not in chosen)
            for tail in rec(rest, k + 1):
                yield [chosen, *tail]

    yield from rec(tuple(range(n)), 0)


def jonckheere(groups) -> dict:
    """Jonckheere-Terpstra test of ``groups`` (a sequence of 1-D arrays, in the hypothesized order).

    Returns ``{"statistic": J, "mean": E0[J], "p_rise": P0(J >= J_obs), "p_fall": P0(J <= J_obs), "method":
    "exact" | "monte carlo", "mc_se": SE of the p-values (0 when exact), "assignments": how many were counted}``.
    Groups need at least one value each and at least two groups."""
    groups = [np.asarray(g, dtype=float).ravel() for g in groups]
    if len(groups) < 2 or any(g.size == 0 for g in groups):
        raise ValueError("jonckheere needs at least two groups, each with at least one value")
    sizes = [g.size for g in groups]
    pooled = np.concatenate(groups)
    observed = _statistic(groups)
    count = math.factorial(sum(sizes)) // math.prod(math.factorial(s) for s in sizes)
    eps = 1e-9 * max(1.0, observed)
    if count <= EXACT_LIMIT:
        stats = np.array([_statistic([pooled[list(ix)] for ix in split]) for split in _assignments(sizes)])
        method, se = "exact", 0.0
    else:
        rng = np.random.default_rng(MC_SEED)
        cuts = np.cumsum(sizes)[:-1]
        stats = np.array([_statistic(np.split(rng.permutation(pooled), cuts)) for _ in range(MC_PERMUTATIONS)])
        method = "monte carlo"
    p_rise = float(np.mean(stats >= observed - eps))
    p_fall = float(np.mean(stats <= observed + eps))
    if method != "exact":
        se = math.sqrt(max(p_rise * (1 - p_rise), p_fall * (1 - p_fall)) / stats.size)
    mean = 0.5 * sum(a * b for a, b in itertools.combinations(sizes, 2))
    return {"statistic": observed, "mean": mean, "p_rise": p_rise, "p_fall": p_fall, "method": method,
            "mc_se": se, "assignments": int(stats.size)}


def holm(p_values) -> list[float]:
    """Holm's step-down adjusted p-values of a family (same order as given; each capped at 1)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()
