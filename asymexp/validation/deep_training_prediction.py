"""Parameter-free predictions of E g_t and Var g_t of a deep network (L >= 2) at t > 0, held against the Monte Carlo
estimates (docs/validation.md, "Deep prediction at t > 0"; the terms are those of
:mod:`asymexp.numeric.deep_conditional`, derived in docs/theory/4-deep-networks.md, "The last two layers, given the
inner ones"):

    E g   ~ M(Gbar) + 1/2 sum_k lam_k d^2 M[u_k, u_k] + (inner training),   M = D^h(eps_L) + c(eps_L)/N_L
    Var g ~ N_L^{1 - 2 gamma_L} (V^h(eps_L) + B^N(eps_L)/N_L + dV_inner) + sum_k lam_k (dM[u_k])^2

c(eps) and B^N(eps) are taken at the width's eps (:mod:`asymexp.numeric.variance_correction`), so no eps^2/N term
is left out. The omitted terms are estimated, not bounded: for the mean, the next order of each computed 1/N term
(its size over min_l N_l) plus abs(c)/N_L^2; for L >= 3 also the fluctuation of the kernel below layer L - 1, which
is not propagated, taken as large as the Gram curvature term; for the variance the one-hidden-layer block's
N_L^{1-2gamma_L} max(V, abs(B^N)) / N_L^2, the spread's next order and, for L >= 3, the spread itself. A cell is judged
where the omitted estimate plus the prediction's error is below its SE, from N_L = 64 on; the verdict is the
family-wise rule of :func:`asymexp.validation.prediction.judge`. Online SGD is not predicted.
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import SpecError
from asymexp.validation import prediction, prediction_cache

JUDGED_FROM = 64
THEORY = "docs/theory/4-deep-networks.md"
TERMS = {"mean": ["M(Gbar) = D^h(eps_L) + c(eps_L)/N_L of the last two layers at the mean Gram matrix of layer L-1 "
                  "(Euler map of the nodes for GD)",
                  "1/2 sum_k lam_k d^2 M[u_k, u_k]: the Gram matrix's fluctuation, second order",
                  "the inner weights W^(L-1) training: first-order response to their kernel, O(1/N_L)"],
         "var": ["N_L^(1-2gamma_L) (V^h(eps_L) + B^N(eps_L)/N_L) of the last two layers at the mean Gram matrix",
                 "sum_k lam_k (dM[u_k])^2: Var over the Gram matrix of the conditional mean",
                 "N_L^(1-2gamma_L) dV_inner: the inner weights' kernel in the propagator of the variance, O(1/N_L)"]}
OMITTED = {"mean": "the next order of each 1/N term (its size / min_l N_l) + |c|/N_L^2; L >= 3: the fluctuation of "
                   "the kernel below layer L-1 (size as the Gram curvature term)",
           "var": "N_L^(1-2gamma_L) max(V, |B^N|) / N_L^2 + (the spread + the inner term) / min_l N_l; L >= 3: the "
                  "spread"}


def not_applicable(dynamics: str) -> dict | None:
    """The not-applicable block, or None where a prediction is made."""
    if dynamics not in ("gd", "flow"):
        return {"applicable": False,
                "reason": (f"dynamics {dynamics}: the deep prediction at t > 0 is derived for full-batch GD and "
                           "gradient flow; online SGD's sampling noise is not (docs/theory/7-random-terms.md, "
                           "\"Online SGD\")"),
                "missing": ["SGD's noise terms through the last two layers"]}
    return None


def predict_training(problem, gammas, layer_widths: list[list[int]], t: float, rows: list[dict],
                     dynamics: str, progress=False) -> dict:
    """The ``prediction`` block of the deep validate document at t > 0 (the keys of the t = 0 block).

    Args:
        gammas: (L,) numeric; layer_widths: per outer width [N_1, ..., N_L]; rows: per width {"mean", "mean_se",
        "var", "var_se"} (P,); dynamics: "gd" or "flow" (the simulator's); progress: True (a line on stderr per
        width, with the elapsed time), False or a callable of one line.
    """
    from asymexp.numeric.deep_conditional import conditional_terms

    refused = not_applicable(dynamics)
    if refused:
        return refused
    try:
        th = conditional_terms(problem, [float(g) for g in gammas], layer_widths, t, dynamics,
                               prediction_cache.sink(progress))
    except SpecError as exc:
        return {"applicable": False, "reason": str(exc), "missing": ["the conditional terms for these laws"]}
    widths = [int(ws[-1]) for ws in layer_widths]
    n = np.array(widths, dtype=np.float64)[:, None]
    smallest = np.array([min(ws) for ws in layer_widths], dtype=np.float64)[:, None]
    deep3 = len(gammas) >= 3
    scale = th["scale"][:, None]
    omitted_mean = ((np.abs(th["c_over_n"]) + np.abs(th["gram_curvature"]) + np.abs(th["inner_training"])) / smallest
                    + np.abs(th["c_over_n"]) / n + (np.abs(th["gram_curvature"]) if deep3 else 0.0))
    big = np.maximum(np.abs(th["V_eps"]), np.abs(th["BN_over_n"]) * n)
    omitted_var = (scale * big / n ** 2 + (th["gram_spread"] + scale * np.abs(th["inner_training_var"])) / smallest
                   + (th["gram_spread"] if deep3 else 0.0))
    mean_m, mean_se, var_m, var_se = (np.array([r[k] for r in rows], dtype=np.float64)
                                      for k in ("mean", "mean_se", "var", "var_se"))
    z_mean = (mean_m - th["mean"]) / mean_se
    z_var = (var_m - th["var"]) / var_se
    wide = n >= JUDGED_FROM
    holds_mean = (omitted_mean + th["mean_error"] < mean_se) & wide
    holds_var = (omitted_var + th["var_error"] < var_se) & wide
    vm, rm = prediction.judge(z_mean, holds_mean, "mean")
    vv, rv = prediction.judge(z_var, holds_var, "variance")
    parts = {k: th[k].tolist() for k in ("D", "c_over_n", "gram_curvature", "inner_training", "V_eps", "BN_over_n",
                                         "gram_spread", "inner_training_var", "c_eps_over_n", "BN_eps_over_n")}
    return {
        "applicable": True, "theory": THEORY, "terms": {k: list(v) for k, v in TERMS.items()},
        "omitted": dict(OMITTED), "dynamics": dynamics,
        "mean": th["mean"].tolist(), "var": th["var"].tolist(),
        "mean_error": th["mean_error"].tolist(), "var_error": th["var_error"].tolist(),
        "z_mean": z_mean.tolist(), "z_var": z_var.tolist(),
        "omitted_mean": omitted_mean.tolist(), "omitted_var": omitted_var.tolist(), "parts": parts,
        "holds_mean": holds_mean.tolist(), "holds_var": holds_var.tolist(),
        "holds_from": {"mean": prediction.holds_from(widths, holds_mean),
                       "var": prediction.holds_from(widths, holds_var)},
        "judged_from": JUDGED_FROM, "verdict": {"mean": vm, "var": vv}, "verdict_reason": {"mean": rm, "var": rv},
    }


def estimate(problem, gammas, layer_widths: list[list[int]], t: float, dynamics: str):
    """What :func:`predict_training` will cost (:func:`asymexp.budget.prediction`, an order of magnitude), or None
    where nothing is predicted (t = 0 is the cheap recursion of docs/theory/8-initial-cumulants.md; SGD). The
    conditional rule has 4 ORDER^P nodes (and the lower order's for the error); each of up to P(P+1)/2 Gram
    directions maps a rule of DIRECTION_ORDER^P twice; GD's Euler map takes t N_L steps where the flow's
    integrator takes about 50 per unit time."""
    from asymexp import budget
    from asymexp.numeric import deep_conditional as dc

    if t <= 0 or not_applicable(dynamics) is not None:
        return None
    p = problem.points.shape[0]
    nodes = 4.0 * (dc.ORDER ** p + dc.ORDER_LOW ** p + p * (p + 1) * (dc.DIRECTION_ORDER ** p + dc.DIRECTION_ORDER_LOW ** p))
    steps = max(1.0, t * max(int(ws[-1]) for ws in layer_widths) / 50.0) if dynamics == "gd" else 1.0
    work = budget.prediction(nodes * steps, problem.x.shape[0], p, p, len(layer_widths), t)
    memory = budget.prediction(4.0 * dc.ORDER ** p, problem.x.shape[0], p, p, 1, t)      # one rule at a time
    return budget.Estimate("the deep prediction at t > 0", memory.bytes,
                           work.flops + _particle_flops(problem, gammas, layer_widths, t))


def _particle_flops(problem, gammas, layer_widths, t: float) -> float:
    """The particle runs of c(eps) and B^N(eps), one per width, on the conditional problem at the first width's Gram
    matrix (:func:`asymexp.numeric.variance_correction.cost_flops`; the node count does not depend on it)."""
    from asymexp.numeric import deep_conditional as dc
    from asymexp.numeric.variance_correction import cost_flops

    layers = dc.layers_below(problem, [float(g) for g in gammas], layer_widths[0], order=8)
    q = dc.conditional_problem(problem, layers.gram, layers.w_var)
    return cost_flops(q, t, dc.ETA_RULE, dc.ETA_RULE_LOW, dc.ETA_REPLICAS) * len(layer_widths)

