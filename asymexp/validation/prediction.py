"""Parameter-free predictions of E g and Var g at every width, held against the Monte Carlo estimates
(docs/validation.md, "Predictions"; the terms are derived in docs/theory/7-random-terms.md).

    E g^N_t   ~ D_t(eps) + c_t / N                     first omitted: O(eps^2 / N), O(N^{-2})
    Var g^N_t ~ N^{1 - 2 gamma} (V_t(eps) + B^N_t / N)   first omitted: O(N^{1-2gamma} (eps^2/N + N^-2))

D_t(eps) is the deterministic flow at the width's eps (every Q_{a,0} at once); V_t(eps) = V + eps^2 B + eps^4 B4 + ...
is the variance of the flow's linear response at that eps (every Q_{a,1} at once,
:func:`asymexp.numeric.linear_response.variance_part`); c_t, B_t and B^N_t come from
:mod:`asymexp.numeric.random_terms`. The omitted orders are estimated, not bounded:

- eps^2 / N: its coefficient is the eps-slope of the exact second derivative of the node flow on a small Gauss
  rule (:func:`asymexp.numeric.finite_n.inverse_n_mean_term` at eps = 0.3 against eps = 0.02, over 0.3^2);
- N^{-2} and the variance's eps^2/N and N^{-2}: their coefficients are not derived and are taken as large
  as the largest known coefficient of the same series (abs(c); max(V, abs(B), abs(B^N))).

Full-batch GD (``dynamics`` "gd": round(t N) steps of 1/N) adds the step's terms, each computed
(:mod:`asymexp.numeric.gd_terms`; docs/theory/7-random-terms.md, "Full-batch GD"):

    E g^N_t   ~ D_t(eps) + (D^h_t - D_t)(eps) + c_t / N            first omitted: O(eps^2 / N), O(N^{-2})
    Var g^N_t ~ N^{1 - 2 gamma} (V_t(eps) + (V^h - V)_t(eps) + B^N_t / N)

with h = 1/N; the mean's omitted estimate adds |c^h - c| / N. Online SGD has no prediction: its sampling noise
adds terms that are not derived; the block then holds the GD prediction against the run as a measurement.

At gamma = 1 (eps = 1, the mean-field end) the same block holds with D_t(1) the mean-field limit, V_t(1) the
variance of its linear response and the 1/N mean term c_t(1) computed at eps = 1
(:mod:`asymexp.numeric.mean_field_terms`); nothing is expanded in eps, and the omitted terms are the N^{-2} ones.

The prediction is judged only where the estimate is below the Monte Carlo SE; elsewhere it is shown but not
judged. Over n judged cells (width, point), abs(z) > 3 happens by chance with probability about 0.0027 n, so the
verdict uses the Bonferroni limit Phi^{-1}(1 - 0.025 / n) (a family-wise 5% test, valid for correlated cells);
the cells above 3 SE are listed as well.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from asymexp import provenance
from asymexp.errors import SpecError
from asymexp.validation import prediction_cache, step_terms

#: abs(residual) / SE reported per cell (the issue's criterion); the verdict uses the Bonferroni limit over the cells.
Z_LIMIT = 3.0
#: Family-wise error rate of the verdict.
FAMILY_ALPHA = 0.05
#: eps of the slope estimate of the eps^2 / N term, and the Gauss nodes per dimension of its small rule.
SLOPE_EPS, SLOPE_NODES = 0.3, 3
_CACHE: dict = {}


#: Why online SGD gets no verdict (docs/theory/7-random-terms.md, "Online SGD").
SGD_REASON = ("dynamics sgd: online SGD's sampling noise adds an O(1/N) term to the mean and a variance of relative "
              "order eps^2 whose leading part W_t/N alone is derived (docs/theory/7-random-terms.md, \"Online SGD\"); "
              "'against_gd' holds full-batch GD's prediction against this run, 'with_noise' the variance with W_t/N "
              "added, as measurements, not verdicts")


def not_applicable(problem, gamma: Fraction, dynamics: str) -> str | None:
    """Why no prediction is made here (None when one is). Online SGD gets none (:data:`SGD_REASON`), but
    :func:`predict` measures it against full-batch GD's."""
    if dynamics not in ("flow", "gd", "sgd"):
        return f"dynamics {dynamics}: predictions are derived for gradient flow and full-batch GD"
    from asymexp.numeric.random_terms import check_problem
    try:
        check_problem(problem)
    except SpecError as exc:
        return str(exc)
    return None


def terms(problem, t: float):
    """The random terms at time t, computed once per problem, time and code version."""
    from asymexp.numeric.random_terms import random_terms

    key = (provenance.problem_key(problem), float(t), provenance.code_version())
    if key not in _CACHE:
        _CACHE[key] = random_terms(problem, [t])
    return _CACHE[key]


def remainder_rules(problem, t: float):
    """The rules of the variance's eps^4-and-higher remainder at time t, computed once per problem, time and code
    version (:func:`asymexp.numeric.linear_response.remainder_rules`)."""
    from asymexp.numeric.linear_response import remainder_rules as compute

    key = ("rules", provenance.problem_key(problem), float(t), provenance.code_version())
    if key not in _CACHE:
        _CACHE[key] = compute(problem, t)
    return _CACHE[key]


def bonferroni_limit(n: int) -> float:
    """The abs(z) that n standard normal cells exceed anywhere with probability at most FAMILY_ALPHA."""
    from scipy.stats import norm

    return float(norm.isf(FAMILY_ALPHA / (2.0 * max(n, 1))))


def judge(z: np.ndarray, holds: np.ndarray, what: str) -> tuple[str, str]:
    """(verdict, reason) over the judged cells (``holds``) of z (widths, P): agree when every judged abs(z) is
    within :func:`bonferroni_limit`, disagree otherwise, undetermined when no cell is judged (module docstring)."""
    if not holds.any():
        return "undetermined", (f"at no width is the first omitted term of the {what} below its Monte Carlo SE; "
                                "larger widths (or a smaller SE only where the omitted term is smaller still) "
                                "would settle it")
    worst = float(np.max(np.abs(z[holds])))
    n = int(holds.sum())
    limit = bonferroni_limit(n)
    above = int(np.sum(np.abs(z[holds]) > Z_LIMIT))
    text = (f"max |residual| {worst:.2f} SE over the {n} judged (width, point) cells (family-wise 5% limit "
            f"{limit:.2f}); {above} above {Z_LIMIT:g} SE, {0.0027 * n:.2f} expected by chance")
    return ("agree" if worst <= limit else "disagree"), text


def eps_slope(problem, t: float) -> np.ndarray:
    """abs(dc/d(eps^2)) (P,) estimated on a small Gauss rule (module docstring)."""
    from asymexp.numeric.finite_n import inverse_n_mean_term

    key = ("slope", provenance.problem_key(problem), float(t), provenance.code_version())
    if key not in _CACHE:
        hi, _ = inverse_n_mean_term(problem, [t], quad_order=SLOPE_NODES, eps=SLOPE_EPS)
        lo, _ = inverse_n_mean_term(problem, [t], quad_order=SLOPE_NODES, eps=0.02)
        _CACHE[key] = np.abs(hi[0] - lo[0]) / (SLOPE_EPS ** 2 - 0.02 ** 2)
    return _CACHE[key]


def mean_field_c(problem, rt) -> dict:
    """c_t and B^N_t at eps = 1 (gamma = 1) with their errors and brackets, as JSON-able lists keyed c_eps,
    c_eps_error, c_eps_bracket (:func:`asymexp.numeric.mean_field_terms.mean_term_at`) and BN_eps, BN_eps_error,
    BN_eps_bracket (:func:`asymexp.numeric.variance_correction.terms_at`)."""
    from asymexp.numeric.mean_field_terms import mean_term_at
    from asymexp.numeric.variance_correction import terms_at

    value, err, fine = mean_term_at(problem, float(rt.times[0]), 1.0, rt.c[0], rt.errors["c"][0])
    bn = terms_at(problem, float(rt.times[0]), 1.0)
    return {"c_eps": value.tolist(), "c_eps_error": err.tolist(), "c_eps_bracket": fine.tolist(),
            "BN_eps": (rt.BN[0] + bn["BN"]).tolist(), "BN_eps_error": (rt.errors["BN"][0] + bn["BN_error"]).tolist(),
            "BN_eps_bracket": bn["BN"].tolist()}


def holds_from(widths, holds: np.ndarray):
    """The smallest width from which the prediction is judged at every point of every larger width."""
    out = None
    for n, ok in zip(reversed(widths), reversed(holds.all(axis=1))):
        if not ok:
            break
        out = n
    return out


def _step_dynamics(dynamics: str) -> str:
    """The dynamics whose numbers are computed: SGD is measured against full-batch GD's."""
    return "gd" if dynamics == "sgd" else dynamics


def cache_key(problem, gamma: Fraction, t: float, widths, dynamics: str = "flow") -> str:
    """The digest of everything :func:`numbers` depends on: the problem's content, gamma, the time, the widths,
    the slope rule, the dynamics (GD only: flow keys are as before) and the code version
    (:mod:`asymexp.validation.prediction_cache`)."""
    extra = () if _step_dynamics(dynamics) == "flow" else ("gd",)
    return prediction_cache.key((provenance.problem_key(problem), str(gamma), float(t), tuple(int(n) for n in widths),
                                 SLOPE_EPS, SLOPE_NODES, provenance.code_version()) + extra)


def numbers(problem, gamma: Fraction, t: float, widths, say=None, dynamics: str = "flow") -> dict:
    """Every number of the prediction that does not depend on the Monte Carlo rows, as JSON-able lists: the random
    terms (P,), the slope of c (P,), and per width (E, P) D(eps), V(eps), their errors and the variance remainder;
    for full-batch GD also the step terms per width (:func:`gd_numbers`). Five stages (seven for GD), each told
    to ``say`` (:class:`prediction_cache.Stages`)."""
    from asymexp.numeric.linear_response import variance_part
    from asymexp.numeric.random_terms import deterministic_part

    gd = _step_dynamics(dynamics) == "gd"
    stages = prediction_cache.Stages(say, 7 if gd else 5)
    rt = stages.run("c, B, B_N, V: the random terms", terms, problem, t)
    if gamma == 1:
        slope = stages.run("c and B_N at eps = 1: the particle brackets", mean_field_c, problem, rt)
    else:
        slope = stages.run("the eps-slope of c", eps_slope, problem, t)
    rules = stages.run("the rules of the variance remainder", remainder_rules, problem, t)
    eps_all = [float(n) ** (float(gamma) - 1.0) for n in widths]
    eps_values = list(dict.fromkeys(eps_all))        # one flow per distinct eps (at gamma = 1 every eps is 1)
    at = [eps_values.index(e) for e in eps_all]
    det, det_err = stages.run(f"D(eps): the deterministic flow at {len(eps_values)} eps", deterministic_part,
                              problem, rt, eps_values)
    v_eps, v_eps_err, v_rem = stages.run(f"V(eps): the linear response at {len(eps_values)} eps", variance_part,
                                         problem, rt, eps_values, t, rules)
    det, det_err, v_eps, v_eps_err, v_rem = (a[at] for a in (det, det_err, v_eps, v_eps_err, v_rem))
    step = step_terms.gd_numbers(problem, rt, eps_all, widths, t, stages) if gd else {}
    stages.finish("done")
    first = {k: np.asarray(v)[0].tolist() for k, v in (("c", rt.c), ("B", rt.B), ("BN", rt.BN), ("V", rt.V))}
    if gamma == 1:
        first.update(slope)
        slope = np.zeros(len(first["c"]))
    return {**first, "c_error": rt.errors["c"][0].tolist(), "B_error": rt.errors["B"][0].tolist(),
            "BN_error": rt.errors["BN"][0].tolist(), "parts": {k: v[0].tolist() for k, v in rt.parts.items()},
            "kappa": float(rt.kappa), "w_nodes": int(rt.w_nodes), "tolerance_met": bool(rt.tolerance["met"]),
            "slope": np.asarray(slope).tolist(), "deterministic": det[:, 0].tolist(),
            "deterministic_error": det_err[:, 0].tolist(), "V_eps": v_eps.tolist(), "V_eps_error": v_eps_err.tolist(),
            "variance_remainder": v_rem.tolist(), **step}


def cached_numbers(problem, gamma: Fraction, t: float, widths, out=None, progress=None, dynamics: str = "flow") -> dict:
    """:func:`numbers`, read from the run folder ``out`` or the user cache when stored there under
    :func:`cache_key`, else computed (progress on ``progress``: True, False or a callable of one line) and stored."""
    digest_key = cache_key(problem, gamma, t, widths, dynamics)
    user = prediction_cache.user_folder()
    found = prediction_cache.load(digest_key, out, user)
    say = prediction_cache.sink(progress)
    if found is not None:
        if say is not None:
            say("asymexp validate: prediction: read from the cache (no recomputation)")
        if out is not None and prediction_cache.load(digest_key, out) is None:
            prediction_cache.store(digest_key, found, out)
        return found
    result = numbers(problem, gamma, t, widths, say, dynamics)
    prediction_cache.store(digest_key, result, out, user)
    return result


#: The design exponent at which the random terms' refinement stopped on tanh4.toml (25 * 1.25^2), the rule size
#: assumed by :func:`estimate` (the refinement's own stopping point is known only once it has run).
ESTIMATE_KAPPA = 39.0625


def estimate(problem, gamma: Fraction, t: float, widths, dynamics: str, folder=None):
    """What :func:`numbers` will cost (:func:`asymexp.budget.prediction` on the rule of design exponent
    ESTIMATE_KAPPA; at gamma = 1 one eps for every width, plus the particle brackets of c_t(1) and B^N_t(1),
    :func:`asymexp.numeric.mean_field_terms.bracket_cost` and :func:`asymexp.numeric.variance_correction.cost_flops`),
    or None where nothing will be computed (no prediction
    here, or one in the cache)."""
    from asymexp import budget
    from asymexp.numeric.quadrature import c_rule
    from asymexp.numeric.trapezoid_rule import w_node_count

    if not_applicable(problem, gamma, dynamics):
        return None
    if prediction_cache.load(cache_key(problem, gamma, t, widths, dynamics), folder, prediction_cache.user_folder()):
        return None
    w_nodes = w_node_count(problem.activation, problem.w_law, problem.points, ESTIMATE_KAPPA)
    nodes = w_nodes * len(c_rule(problem.c_law)[0])
    count = len(widths) * (2 if _step_dynamics(dynamics) == "gd" else 1)     # GD: the Euler map of every width
    if gamma != 1:
        return budget.prediction(nodes, problem.n_train, problem.points.shape[0], problem.dim, count, t)
    from asymexp.numeric.mean_field_terms import bracket_cost

    from asymexp.numeric.variance_correction import cost_flops

    flows = budget.prediction(nodes, problem.n_train, problem.points.shape[0], problem.dim, 1, t)   # one eps
    memory, flops = bracket_cost(problem, t)
    return budget.Estimate(flows.what, max(flows.bytes, memory), flows.flops + flops + cost_flops(problem, t))


def predict(problem, gamma: Fraction, t: float, widths, rows: list[dict], dynamics: str = "flow", folder=None,
            progress=None) -> dict:
    """The ``prediction`` block of the shallow validate document (docs/interfaces.md).

    Args:
        rows: per width {"mean", "mean_se", "var", "var_se"} (P,) from the Monte Carlo estimates.
        folder: the run folder, where the numbers are kept (:func:`cached_numbers`); progress: True (stderr),
            False/None (silent) or a callable of one line.
    Returns:
        {"applicable": False, "reason"} or the predictions, residuals in SE units, omitted-term sizes, the widths
        from which each prediction is judged and a verdict per quantity.
    """
    reason = not_applicable(problem, gamma, dynamics)
    if reason:
        return {"applicable": False, "reason": reason}
    if dynamics == "sgd":
        block = _predict(problem, gamma, t, widths, rows, "gd", folder, progress)
        return {"applicable": False, "reason": SGD_REASON, **step_terms.sgd_measurement(block, widths, rows)}
    return _predict(problem, gamma, t, widths, rows, dynamics, folder, progress)


def _predict(problem, gamma: Fraction, t: float, widths, rows: list[dict], dynamics: str, folder, progress) -> dict:
    """The block for gradient flow or full-batch GD (:func:`predict`)."""
    nums = {k: (v if k in ("parts", "kappa", "w_nodes", "tolerance_met") else np.asarray(v, dtype=np.float64))
            for k, v in cached_numbers(problem, gamma, t, widths, folder, progress, dynamics).items()}
    gd = dynamics == "gd"
    zero = np.zeros((len(widths), len(nums["c"])))
    shift, shift_err, d_v, d_v_err, d_c, d_c_err = (
        (nums[k] for k in ("gd_shift", "gd_shift_error", "gd_dV", "gd_dV_error", "gd_dc", "gd_dc_error")) if gd
        else (zero,) * 6)
    g = float(gamma)
    c, B, BN, V = nums["c"], nums["B"], nums["BN"], nums["V"]
    c_err, B_err = nums["c_error"], nums["B_error"]
    BN_err = nums["BN_error"]
    slope = nums["slope"]
    mean_field = gamma == 1
    # at gamma = 1 (eps = 1) the 1/N term is c_t(1), every eps-order of it (docs/theory/7-random-terms.md, "gamma = 1")
    c_n, c_n_err = (nums["c_eps"], nums["c_eps_error"]) if mean_field else (c, c_err)
    BN_n, BN_n_err = (nums["BN_eps"], nums["BN_eps_error"]) if mean_field else (BN, BN_err)
    out = {k: [] for k in ("mean", "var", "mean_error", "var_error", "z_mean", "z_var", "omitted_mean",
                           "omitted_var", "deterministic", "V_eps", "V_eps_error", "variance_remainder")}
    for i, (n, row, D, D_err, Ve, Ve_err, rem) in enumerate(zip(
            widths, rows, nums["deterministic"], nums["deterministic_error"], nums["V_eps"], nums["V_eps_error"],
            nums["variance_remainder"])):
        eps = float(n) ** (g - 1.0)
        scale = float(n) ** (1.0 - 2.0 * g)
        mean = D + shift[i] + c_n / n
        var = scale * (Ve + d_v[i] + BN_n / n)
        out["deterministic"].append(D.tolist())
        out["V_eps"].append(Ve.tolist())
        out["V_eps_error"].append(Ve_err.tolist())
        out["variance_remainder"].append(rem.tolist())
        out["mean"].append(mean.tolist())
        out["var"].append(var.tolist())
        out["mean_error"].append((D_err + shift_err[i] + c_n_err / n).tolist())
        out["var_error"].append((scale * (Ve_err + d_v_err[i] + BN_n_err / n)).tolist())
        with np.errstate(divide="ignore", invalid="ignore"):    # an SE of 0 (the antithetic mean at t = 0): no z
            out["z_mean"].append(((np.asarray(row["mean"]) - mean) / np.asarray(row["mean_se"])).tolist())
        out["z_var"].append(((np.asarray(row["var"]) - var) / np.asarray(row["var_se"])).tolist())
        out["omitted_mean"].append((slope * eps ** 2 / n + np.abs(c_n) / float(n) ** 2
                                    + (np.abs(d_c[i]) + d_c_err[i]) / n).tolist())
        big = np.maximum(np.maximum(V, np.abs(B)), np.abs(BN))
        # at gamma = 1 B^N is taken at eps = 1, so only the N^-2 order is left out
        order = float(n) ** -2 if mean_field else max(eps ** 2 / n, float(n) ** -2)
        out["omitted_var"].append((scale * big * order).tolist())
    mean_se = np.array([r["mean_se"] for r in rows])
    var_se = np.array([r["var_se"] for r in rows])
    holds_mean = np.array(out["omitted_mean"]) < mean_se
    holds_var = np.array(out["omitted_var"]) < var_se
    widths = [int(n) for n in widths]
    vm, rm = judge(np.array(out["z_mean"]), holds_mean, "mean")
    vv, rv = judge(np.array(out["z_var"]), holds_var, "variance")
    if gd:
        out.update({"gd_shift": shift.tolist(), "gd_shift_error": shift_err.tolist(), "gd_dV": d_v.tolist(),
                    "gd_dV_error": d_v_err.tolist(), "gd_dc": d_c.tolist(), "gd_dc_error": d_c_err.tolist()})
    out.update(_mean_field_text(nums) if mean_field else {
        "terms": {"mean": ["D(eps) = h + eps^2 Q2 + eps^4 Q4 + ... (deterministic flow)", "c/N"],
                  "var": ["N^(1-2gamma) V(eps) = N^(1-2gamma) (V + eps^2 B + eps^4 B4 + ...) (linear response "
                          "of the flow)", "N^(1-2gamma) B_N / N"]},
        "omitted": {"mean": "O(eps^2/N) + O(N^-2), size estimated as |dc/d eps^2| eps^2/N + |c|/N^2",
                    "var": "O(N^(1-2gamma) (eps^2/N + N^-2)), size estimated as N^(1-2gamma) "
                           "max(V, |B|, |B_N|) max(eps^2/N, N^-2)"}})
    out.update({
        "applicable": True,
        "c": c.tolist(), "c_error": c_err.tolist(), "c_eps_slope": slope.tolist(), "B_N": BN.tolist(),
        "B_N_error": BN_err.tolist(),
        "b_N": float(BN.sum() / V.sum()), "B": B.tolist(), "B_error": B_err.tolist(),
        "c_parts": nums["parts"],
        "b1": float(B.sum() / V.sum()), "holds_mean": holds_mean.tolist(), "holds_var": holds_var.tolist(),
        "holds_from": {"mean": holds_from(widths, holds_mean), "var": holds_from(widths, holds_var)},
        "verdict": {"mean": vm, "var": vv}, "verdict_reason": {"mean": rm, "var": rv},
        "rule": {"kappa": nums["kappa"], "w_nodes": nums["w_nodes"], "tolerance_met": nums["tolerance_met"]},
    })
    if gd:
        step_terms.gd_text(out)
        out["sgd_W"], out["sgd_W_error"] = nums["gd_sgd_W"].tolist(), nums["gd_sgd_W_error"].tolist()
    return out


def _mean_field_text(nums: dict) -> dict:
    """The terms, the omitted orders and c_t(1) of the gamma = 1 block (docs/theory/7-random-terms.md, "gamma = 1")."""
    return {
        "terms": {"mean": ["G_t(mu_0) at eps = 1: the mean-field limit (deterministic flow of the nodes)",
                           "c_t(1)/N = (1/2N) E D^2 G_t[nu, nu] at eps = 1 (c_0 from the random terms plus the "
                           "particle bracket c(1) - c(0))"],
                  "var": ["V_t(1)/N = Var DG_t[nu]/N at eps = 1 (linear response of the flow)",
                          "B_N(1)/N^2 (B_N from the random terms plus the particle bracket B_N(1) - B_N(0))"]},
        "omitted": {"mean": "O(N^-2), size estimated as |c_t(1)|/N^2",
                    "var": "O(N^-3), size estimated as max(V, |B|, |B_N|)/N^3 (relative N^-2)"},
        **{k: np.asarray(nums[k]).tolist() for k in ("c_eps", "c_eps_error", "c_eps_bracket", "BN_eps",
                                                      "BN_eps_error", "BN_eps_bracket")},
    }
