"""Parameter-free predictions of E g and Var g of a deep network (L >= 2) at every width, at t = 0, held against the
Monte Carlo estimates (docs/validation.md, "Deep prediction at t = 0"; the same contract as the one-hidden-layer
block of :mod:`asymexp.validation.prediction`).

At t = 0, g = N_L^{-gamma_L} sum_i C^i sigma(Z^{L,i}) with C i.i.d., symmetric and independent of the hidden layers,
so, exactly at every width,

    E g_0 = 0,        Var g_0(x) = N_L^{1 - 2 gamma_L} Var(C) E[sigma(Z^L(x))^2]

with the expectation over the finite-width law of the hidden layers. Var(C) E sigma(Z^L)^2 is the recursion of
docs/theory/8-initial-cumulants.md (:func:`asymexp.numeric.initial_cumulants.initial_variance`): exact at the first
layer, through first order in every 1/N_l after it, with the closure's part of the O(N^-2) order. The omitted term
is the rest of the O(N^-2) order. It is estimated, not bounded, by the rule of the one-hidden-layer block (its
coefficient as large as the known 1/N one): |first order - limit chain| / min_l N_l; the closure difference and
the quadrature change are the prediction's error (zero closure difference at L = 2, where both closures agree).

A cell (width, point) is judged where the omitted term plus the error is below the cell's Monte Carlo SE, and only
from N_L = JUDGED_FROM on; the verdict is the family-wise Bonferroni rule of
:func:`asymexp.validation.prediction.judge`. With antithetic pairs (C, W), (-C, W) the measured mean is exactly 0
with SE 0, so E g_0 = 0 holds by construction and is not judged. At t > 0 the block is
:mod:`asymexp.validation.deep_training_prediction`'s (the last two layers given the inner ones,
docs/theory/4-deep-networks.md).
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import SpecError
from asymexp.validation import prediction

#: The smallest outer width N_L whose cells are judged (docs/validation.md, "Deep prediction at t = 0"); the
#: smaller widths are shown, not judged.
JUDGED_FROM = 64
THEORY = "docs/theory/8-initial-cumulants.md"
TERMS = {"mean": ["0 (C symmetric, independent of the hidden layers: exact at every width)"],
         "var": ["N_L^(1-2gamma_L) Var(C) E sigma(Z^L)^2 over the finite-width hidden layers: exact at layer 1, "
                 "through first order in every 1/N_l after it, plus the closure's part of the N^-2 order "
                 f"({THEORY})"]}
OMITTED = {"mean": "none (exact)",
           "var": "the rest of the O(N^-2) order, size estimated as N_L^(1-2gamma_L) |first order - limit chain| / "
                  "min_l N_l (coefficient as large as the 1/N one); judged where it plus the theory error (closure "
                  "difference and quadrature change) is below the SE"}


def not_applicable(problem, t: float) -> dict | None:
    """The not-applicable block (``applicable``, ``reason``, ``missing``), or None where a prediction is made."""
    c = problem.c_law
    if c.moment(1) != 0 or c.moment(3) != 0:
        return {"applicable": False,
                "reason": (f"C ~ {c} is not symmetric (E C = {c.moment(1)}, E C^3 = {c.moment(3)}): E g_0 = "
                           "N_L^(1-gamma_L) E C E sigma(Z^L) and the variance's (E C)^2 term are not computed "
                           f"({THEORY} derives a symmetric C)"),
                "missing": ["E sigma(Z^L) and Var(sum_i sigma(Z^(L,i))) over the finite-width hidden layers"]}
    return None


def _variance_terms(problem, gammas, layer_widths: list[list[int]]):
    """Per width (W, P): the predicted Var G (closure), its first order, the limit chain and the error."""
    from asymexp.numeric.initial_cumulants import initial_variance

    out = [initial_variance(problem.spec(list(gammas), list(ws)), problem.points) for ws in layer_widths]
    return tuple(np.array([getattr(v, k) for v in out]) for k in ("value", "first_order", "limit", "error"))


def predict_deep(problem, gammas, layer_widths: list[list[int]], t: float, rows: list[dict],
                 dynamics: str = "gd", progress=False) -> dict:
    """The ``prediction`` block of the deep validate document (docs/interfaces.md, "asymexp validate").

    Args:
        gammas: (L,) numeric gammas. layer_widths: per outer width [N_1, ..., N_L] (the last is N = N_L).
        rows: per width {"mean", "mean_se", "var", "var_se"} (P,) from the Monte Carlo estimates (the variance at
            t = 0 by Rao-Blackwell, :func:`asymexp.stats.estimators.rao_blackwell_t0`).
        dynamics, progress: at t > 0, the simulator's dynamics and where the prediction's progress goes (True:
            stderr; False: nowhere; or a callable of one line).
    Returns:
        {"applicable": False, "reason", "missing"} or the predictions per width and point with their errors, the
        omitted-term sizes, z = (measured - predicted) / SE, the judged cells, the widths from which each
        prediction is judged and a verdict per quantity.
    """
    refused = not_applicable(problem, t)
    if refused:
        return refused
    if t > 0:
        from asymexp.validation.deep_training_prediction import predict_training

        return predict_training(problem, gammas, layer_widths, t, rows, dynamics, progress)
    try:
        value, first, limit, error = _variance_terms(problem, gammas, layer_widths)
    except SpecError as exc:
        return {"applicable": False, "reason": str(exc), "missing": [f"the recursion of {THEORY} for these laws"]}
    widths = [int(ws[-1]) for ws in layer_widths]
    n = np.array(widths, dtype=np.float64)[:, None]
    scale = n ** (1.0 - 2.0 * float(gammas[-1]))
    smallest = np.array([min(ws) for ws in layer_widths], dtype=np.float64)[:, None]
    var, var_error = scale * value, scale * error
    omitted_var = scale * np.abs(first - limit) / smallest
    mean_m, mean_se = (np.array([r[k] for r in rows], dtype=np.float64) for k in ("mean", "mean_se"))
    var_m, var_se = (np.array([r[k] for r in rows], dtype=np.float64) for k in ("var", "var_se"))
    with np.errstate(divide="ignore", invalid="ignore"):     # SE 0 (the antithetic mean at t = 0): no z
        z_mean = mean_m / mean_se
    z_var = (var_m - var) / var_se
    wide = n >= JUDGED_FROM
    holds_mean = (mean_se > 0) & wide
    holds_var = (omitted_var + var_error < var_se) & wide
    vm, rm = prediction.judge(z_mean, holds_mean, "mean")
    vv, rv = prediction.judge(z_var, holds_var, "variance")
    if not np.any(mean_se > 0):
        rm = ("the antithetic pairs (C, W), (-C, W) make the measured mean exactly 0 (SE 0): E g_0 = 0 holds by "
              "construction and is not tested here; --no-antithetic tests it")
    return {
        "applicable": True, "theory": THEORY, "terms": {k: list(v) for k, v in TERMS.items()},
        "omitted": dict(OMITTED),
        "mean": np.zeros_like(var).tolist(), "var": var.tolist(),
        "mean_error": np.zeros_like(var).tolist(), "var_error": var_error.tolist(),
        "z_mean": z_mean.tolist(), "z_var": z_var.tolist(),
        "omitted_mean": np.zeros_like(var).tolist(), "omitted_var": omitted_var.tolist(),
        "var_first_order": (scale * first).tolist(), "var_limit_chain": (scale * limit).tolist(),
        "holds_mean": holds_mean.tolist(), "holds_var": holds_var.tolist(),
        "holds_from": {"mean": prediction.holds_from(widths, holds_mean),
                       "var": prediction.holds_from(widths, holds_var)},
        "judged_from": JUDGED_FROM, "c_variance": float(problem.c_law.moment(2)),
        "verdict": {"mean": vm, "var": vv}, "verdict_reason": {"mean": rm, "var": rv},
    }
