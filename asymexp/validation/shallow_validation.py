"""Validation of the shallow expansion against finite-width networks (docs/theory/3-shallow-expansion.md to
5-verified-formulas.md).

For each width N: the Monte Carlo mean and variance of g^N_t at the training points and probes with standard
errors (antithetic pairs and the frozen-kernel control variate by default), then

- the variance exponent fitted with the predicted corrections, Var = V N^p (1 + b1 eps^2 + ...), next to the raw
  slope, and the constant r(N) = Var N^{2gamma-1} / V_t fitted as b0 + b1 eps^2 + ... (trace over points); the
  number of corrections is chosen by the declared goodness-of-fit rule of :mod:`asymexp.stats.fits`;
- the mean residuals E g - h and E g - h - eps Q1 - eps^2 Q2;
- a verdict: "disagree" when a 95% interval excludes the prediction, "agree" when both intervals contain it and
  are narrower than the targets, "undetermined" otherwise (too few replicas to tell).

At gamma = 1/2 and 1 there is no expansion to fit: the report states what the ends do (no decay of the variance;
the mean-field mean) with the measured numbers.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from asymexp.errors import AsymexpError
from asymexp import budget, provenance
from asymexp.spec import parse_gammas
from asymexp.symbolic.rules import rules_for
from asymexp.stats import estimators as est
from asymexp.stats import fits
from asymexp.validation import flow_step, prediction
from asymexp.validation.tasks import chunk_tasks, execute, group_results, run_estimate

B0_TARGET = 0.02
P_TARGET = 0.05


_CACHE: dict = {}


def theory_for(problem, gamma: Fraction, t: float, quad_order: int | None = None):
    """(frozen kernel, ShallowTheory, note): one frozen kernel (:class:`asymexp.numeric.frozen.FrozenKernel`, A and S
    of the theory layer) serves h, Q1, Q2, V_t and the control variate. Cached per problem, gamma, time, quadrature
    order and code version. quad_order: nodes per dimension for the theory layer."""
    from asymexp.numeric import shallow_theory
    from asymexp.numeric.frozen import FrozenKernel

    key = (provenance.problem_key(problem), gamma, float(t), quad_order, provenance.code_version())
    if key in _CACHE:
        return _CACHE[key]
    th = shallow_theory(problem, gamma, [t], order=2, quad_order=quad_order)
    fk = FrozenKernel(th.A, th.S, np.asarray(problem.y, dtype=np.float64), float(problem.alpha), th.kernel_error)
    note = "h, Q1, Q2, V_t and the control variate from one frozen kernel (asymexp.numeric.shallow_theory)"
    _CACHE[key] = (fk, th, note)
    return fk, th, note


def analyse_width(data: dict, width: int, var_exponent: float, t: float, L: np.ndarray, V: np.ndarray, antithetic: bool,
                  control: bool, phi=None, A=None) -> dict:
    """Mean and variance estimates at one width from stacked chunk outputs {"g0", "gt", "ntk0"} (R, P).

    With ``control``: the variance uses the control L_t g_0 (odd in C) and the mean the response of h_t to the
    kernel fluctuation A_N - A at initialization, sum_{j,m} phi[:, j, m] (A_N - A)[j, m] (even in C, mean zero).
    ``var_exponent``: Var g ~ width^var_exponent V_t (1 - 2 gamma, from the spec's rules)."""
    gt, g0 = data["gt"], data["g0"]
    mean_control = None
    if control and phi is not None and "ntk0" in data:
        P, M = phi.shape[1], phi.shape[2]
        dA = data["ntk0"].reshape(-1, P, M) - A[None, :, :M]
        mean_control = np.einsum("pjm,rjm->rp", phi, dA)
    mean = est.mean_estimate(gt, antithetic, mean_control)
    if t == 0 and antithetic:
        control = False
    if control:
        var = est.variance_estimate(gt, True, g0 @ L.T, width ** var_exponent * V)
    else:
        var = est.variance_estimate(gt, antithetic)
    total, total_se = var.total()
    scale = width ** (-var_exponent) / V.sum()
    return {"mean": mean.value, "mean_se": mean.se, "var": var.value, "var_se": var.se, "var_total": total,
            "var_total_se": total_se, "ratio": total * scale, "ratio_se": total_se * scale,
            "replicas": int(gt.shape[0])}


def _norm(v):
    return float(np.sqrt(np.mean(np.square(v))))


def mean_residuals(rows, widths, gamma, h, Q1, Q2, c_inv=None) -> dict:
    """E g - h and E g - h - eps Q1 - eps^2 Q2 per width (RMS over points), their SEs, and the ratio at the
    largest width. With ``c_inv`` (P,), the 1/N coefficient of the gradient-flow mean (asymexp.numeric.finite_n),
    the residual after also subtracting c/N is reported under ``inverse_n`` (the model of the acceptance runs in
    docs/validation.md
    is the one without it)."""
    out = {"widths": list(widths), "model": "h + eps*Q1 + eps^2*Q2", "raw": [], "corrected": [], "se": [],
           "raw_points": [], "corrected_points": []}
    for row, n in zip(rows, widths):
        eps = n ** (gamma - 1)
        d0 = row["mean"] - h
        d2 = d0 - (eps * Q1 if Q1 is not None else 0) - (eps ** 2 * Q2 if Q2 is not None else 0)
        out["raw"].append(_norm(d0))
        out["corrected"].append(_norm(d2))
        out["se"].append(_norm(row["mean_se"]))
        out["raw_points"].append(d0.tolist())
        out["corrected_points"].append(d2.tolist())
    if Q2 is None:
        out["model"] = "h (Q1, Q2 unavailable)"
    last = -1
    out["ratio_at_largest"] = out["raw"][last] / out["corrected"][last] if out["corrected"][last] > 0 else None
    # the corrected residual is indistinguishable from zero when it is within 3 Monte Carlo SEs (RMS)
    out["corrected_within_3se"] = bool(out["corrected"][last] <= 3 * out["se"][last])
    if c_inv is not None:
        with_c = [np.asarray(d) - c_inv / n for d, n in zip(out["corrected_points"], widths)]
        rms = [_norm(v) for v in with_c]
        out["inverse_n"] = {"model": out["model"] + " + c/N", "c": np.asarray(c_inv).tolist(), "corrected": rms,
                            "ratio_at_largest": out["raw"][last] / rms[last] if rms[last] > 0 else None,
                            "corrected_within_3se": bool(rms[last] <= 3 * out["se"][last]),
                            "note": "c from asymexp.numeric.random_terms (gradient flow, docs/theory/7-random-terms.md); "
                                    "the deterministic part beyond eps^2 Q2 is in the prediction block"}
    return out


def inverse_n_coefficient(problem, t: float):
    """c_t (P,) of E g = ... + c/N under gradient flow (asymexp.numeric.random_terms), or None where it is not
    derived (a skewed law of c, a non-normal law of w)."""
    from asymexp.numeric.random_terms import check_problem

    try:
        check_problem(problem)
    except AsymexpError:
        return None
    return prediction.terms(problem, t).c[0]


def summarize(problem, gamma: Fraction, t: float, widths, per_width: list[dict], antithetic: bool, control: bool,
              dynamics: str, flow_dt=None, quad_order: int | None = None, out=None, progress=False) -> dict:
    """The ``asymexp validate`` document (docs/interfaces.md) from stacked outputs per width; ``out`` and
    ``progress``: where the prediction is kept and how its progress is told (:func:`prediction.predict`)."""
    g = float(gamma)
    fk, th, note = theory_for(problem, gamma, t, quad_order)
    L, V, h = fk.propagator(t), fk.V(t), fk.h(t)
    Q1 = Q2 = None
    if th is not None:
        h = th.h[0]
        Q1 = th.Q1[0] if th.Q1 is not None else None
        Q2 = th.Q2[0] if th.Q2 is not None else None
    phi = fk.kernel_response(t, problem.y, problem.alpha) if control else None
    predicted = float(rules_for(problem.spec([gamma], [1])).variance_exponent["N1"])
    rows = [analyse_width(d, n, predicted, t, L, V, antithetic, control, phi, fk.A) for d, n in zip(per_width, widths)]
    widths = [int(n) for n in widths]
    N = np.array(widths, dtype=float)
    tot = np.array([r["var_total"] for r in rows])
    tot_se = np.array([r["var_total_se"] for r in rows])
    ratio = np.array([r["ratio"] for r in rows])
    ratio_se = np.array([r["ratio_se"] for r in rows])
    step = None
    if dynamics == "flow":
        flow_dt, chosen = flow_step.resolve(problem, t, flow_dt, quad_order, fk.A)
        # |y - g_0| over the training points (2-norm) for a replica within 3 sd at the smallest width
        scale = float(np.sqrt(problem.n_train) * (np.max(np.abs(problem.y))
                                                  + 3 * np.sqrt(np.max(fk.V(0.0)) * min(widths) ** (1 - 2 * g))))
        step = flow_step.step_report(flow_step.problem_rates(problem, quad_order, fk.A), t, flow_dt, chosen, scale)
    doc = {
        "problem": problem.path, "gamma": str(gamma), "time": t, "dynamics": dynamics,
        "flow_dt": flow_dt if dynamics == "flow" else None, "flow_step": step, "antithetic": antithetic,
        "control_variate": control,
        "widths": widths, "replicas": [r["replicas"] for r in rows],
        "points": problem.points.tolist(),
        "mean": [r["mean"].tolist() for r in rows], "mean_se": [r["mean_se"].tolist() for r in rows],
        "var": [r["var"].tolist() for r in rows], "var_se": [r["var_se"].tolist() for r in rows],
        "theory": {"h": h.tolist(), "V": V.tolist(), "Q1": None if Q1 is None else Q1.tolist(),
                   "Q2": None if Q2 is None else Q2.tolist(), "kernel_error": fk.error, "note": note,
                   "V_theory_layer": None if th is None else th.V[0].tolist()},
        "ratio": ratio.tolist(), "ratio_se": ratio_se.tolist(),
    }
    raw = fits.raw_slope(N, tot, tot_se) if len(widths) >= 2 else None
    if th is not None:
        doc["prediction"] = prediction.predict(problem, gamma, t, widths, rows, dynamics, out, progress)
    if th is not None and doc["prediction"]["applicable"]:
        c_inv = np.asarray(doc["prediction"]["c"])       # the same c_t, read back with the prediction's cache
    else:
        c_inv = inverse_n_coefficient(problem, t) if dynamics == "flow" and th is not None else None
    doc["mean_residual"] = mean_residuals(rows, widths, g, h, Q1, Q2, c_inv)
    if gamma in (Fraction(1, 2), Fraction(1)):
        doc.update(_ends(gamma, raw, ratio, ratio_se, doc["mean_residual"]))
        return doc
    odd = not problem.c_law.is_symmetric
    doc["var_slope"], doc["var_ratio"], doc["model_selection"] = fit_models(N, tot, tot_se, ratio, ratio_se, g,
                                                                            predicted, raw, odd)
    doc["widths_needed"] = doc["model_selection"]["widths_needed"]
    doc["verdict"], doc["verdict_reason"] = verdict(doc["var_slope"], doc["var_ratio"], predicted,
                                                    doc["model_selection"])
    return doc


MAX_CORRECTIONS = 2  # the eps^2 model and the next predicted order


def fit_models(N, tot, tot_se, ratio, ratio_se, gamma: float, predicted: float, raw: dict | None,
               odd: bool = False) -> tuple[dict, dict | None, dict]:
    """Candidate fits with 1..MAX_CORRECTIONS predicted corrections (:func:`fits.correction_terms`) for the
    exponent (Var = V N^p (1 + ...)) and the constant (r = b0 + ...), each chosen and judged by :func:`fits.judge`.

    Returns (exponent fit, constant fit, {"exponent": {"candidates", "reason"}, "constant": {...},
    "widths_needed": :func:`fits.widths_needed`}). The exponent entry always holds the raw slope; its "fit" and
    intervals are None when no candidate can be judged (too few widths, or every candidate rejected); the
    constant fit is then None."""
    n = len(N)
    terms = fits.correction_terms(gamma, MAX_CORRECTIONS, odd)
    need = fits.widths_needed(terms, n)
    if not need["enough"]:
        need["suggestion"] = _more_widths(N, need["all_candidates"])
    slope_cands = fits.exponent_candidates(N, tot, tot_se, terms, predicted)
    ratio_cands = fits.ratio_candidates(N, ratio, ratio_se, terms)
    slope, slope_why = fits.judge(slope_cands)
    ratio_fit, ratio_why = fits.judge(ratio_cands)
    if not need["enough"]:
        slope_why = f"{n} widths: {need['reason']}"
    if slope is None:
        slope = {"fit": None, "ci95": None, "ci95_models": None, "b": [], "predicted": float(predicted),
                 "model": "none judged (" + ("too few widths" if not need["enough"] else "every model rejected")
                 + ")"}
    if raw is not None:
        slope["raw"], slope["raw_ci95"] = raw["slope"], raw["ci95"]
    selection = {"rule": f"acceptable: chi2 goodness-of-fit p-value >= {fits.P_FIT}; estimate: the acceptable "
                         "model with the fewest corrections; judged interval: the union of the acceptable models' "
                         "95% intervals; chosen without reference to the prediction; the bare power law (raw "
                         "slope) is never judged",
                 "corrections": [name for _, name in terms], "widths_needed": need,
                 "exponent": {"reason": slope_why, "candidates": slope_cands},
                 "constant": {"reason": ratio_why, "candidates": ratio_cands}}
    return slope, ratio_fit, selection


def _more_widths(widths, count: int) -> list[int]:
    """``widths`` continued by doubling until there are ``count`` of them (a suggestion for the report)."""
    out = [int(w) for w in widths] or [16]
    while len(out) < count:
        out.append(out[-1] * 2)
    return out


def _contains(ci, value):
    return ci[0] <= value <= ci[1]


def verdict(slope: dict | None, ratio: dict | None, predicted: float, selection: dict | None = None
            ) -> tuple[str, str]:
    """agree / disagree / undetermined from the judged intervals of the exponent and of b0 ("ci95_models": the
    union over the acceptable models, :func:`fits.model_interval`; a bare "ci95" where that is absent)."""
    need = (selection or {}).get("widths_needed")
    if need is not None and not need["enough"]:
        return "undetermined", (f"{need['have']} width(s) are too few to judge: {need['reason']}. Run at least "
                                f"{need['minimum']} widths ({need['all_candidates']} to fit every predicted "
                                f"order), e.g. --widths {','.join(map(str, need.get('suggestion') or []))}")
    if slope is None or ratio is None or slope.get("fit") is None:
        why = "fewer than two widths: nothing to fit"
        if selection is not None and selection["exponent"]["candidates"]:
            why = ("no predicted model describes the data, so no interval is judged: exponent: "
                   f"{selection['exponent']['reason']}; constant: {selection['constant']['reason']}")
        return "undetermined", why
    p_ci, b_ci = slope.get("ci95_models") or slope["ci95"], ratio.get("ci95_models") or ratio["ci95"]
    p_in, b_in = _contains(p_ci, predicted), _contains(b_ci, 1.0)
    p_half = (p_ci[1] - p_ci[0]) / 2
    b_half = (b_ci[1] - b_ci[0]) / 2
    text = (f"exponent {slope['fit']:.4f}, judged interval [{p_ci[0]:.4f}, {p_ci[1]:.4f}] vs {predicted:.4f} "
            f"(estimate from {slope.get('model', 'model not named')}); b0 {ratio['b0']:.4f}, judged interval "
            f"[{b_ci[0]:.4f}, {b_ci[1]:.4f}] vs 1 (estimate from {ratio.get('model', 'model not named')})")
    if not (p_in and b_in):
        return "disagree", "a 95% interval excludes the prediction: " + text
    wide = [f"{name} half-width {half:.4f} > {target}"
            for name, half, target in (("b0", b_half, B0_TARGET), ("exponent", p_half, P_TARGET)) if half > target]
    if wide:
        return "undetermined", (f"intervals contain the predictions but are too wide to judge ({'; '.join(wide)}); "
                                "more replicas or more (and wider) widths narrow them: " + text)
    return "agree", text


def _ends(gamma, raw, ratio, ratio_se, mean_res) -> dict:
    if gamma == Fraction(1, 2):
        text = ("gamma = 1/2 (Xavier/NTK end): eta = 1, the initial fluctuation is O(1) and the limit is random "
                "(Gaussian); the variance does not decay (predicted slope 0) and Var -> V_t (r(N) -> 1); the mean "
                "error is O(1/N). No expansion is fitted.")
        predicted = 0.0
    else:
        text = ("gamma = 1 (mean-field end): eps = 1, parameters move O(1) and the mean tends to the mean-field "
                "limit, not to h; the fluctuations are O(N^{-1/2}) (predicted slope -1) with a constant that is "
                "not V_t. No expansion is fitted.")
        predicted = -1.0
    doc = {"end": text,
           "var_slope": None if raw is None else {"fit": None, "ci95": None, "predicted": predicted,
                                                  "model": "none (end of the gamma range)", "raw": raw["slope"],
                                                  "raw_ci95": raw["ci95"]},
           "var_ratio": {"b0": None, "ci95": None, "model": "none (end of the gamma range)",
                         "per_width": ratio.tolist(), "per_width_se": ratio_se.tolist()}}
    if raw is None:
        doc["verdict"], doc["verdict_reason"] = "undetermined", text
    elif _contains(raw["ci95"], predicted):
        doc["verdict"], doc["verdict_reason"] = "agree", (f"raw slope {raw['slope']:.4f} CI {raw['ci95']} contains "
                                                          f"{predicted}; " + text)
    else:
        doc["verdict"], doc["verdict_reason"] = "disagree", (f"raw slope {raw['slope']:.4f} CI {raw['ci95']} "
                                                             f"excludes {predicted}; " + text)
    return doc


def validate_shallow(problem, gamma, widths, replicas: int, t: float = 1.0, seed: int = 0, dynamics: str = "flow",
                     antithetic: bool = True, control: bool | None = None, flow_dt=None, chunk: int = 256,
                     out=None, workers=None, scheduler=None, progress=True, quad_order: int | None = None,
                     long_run_ok: bool = False) -> dict:
    """The shallow validation document (see :mod:`asymexp.validation.shallow_validation`); quad_order: nodes per
    dimension of the theory layer's quadrature (default: its most accurate). flow_dt: the RK4 step (default:
    :func:`asymexp.validation.flow_step.choose_step`). Memory and work are estimated first
    (:func:`asymexp.budget.check`): too much memory is refused, and more than a day's work unless
    ``long_run_ok``."""
    (gamma,) = parse_gammas([gamma], numeric=True)
    if control is None:
        control = antithetic and problem.c_law.is_symmetric
    if control and not (antithetic and problem.c_law.is_symmetric):
        raise AsymexpError("the control variate needs antithetic pairs and a symmetric law of c")
    given_dt = flow_dt
    jobs = [([n], replicas) for n in widths]
    budget.check_memory(run_estimate(problem, jobs, t, dynamics, 1.0, chunk, f"validate gamma = {gamma}"))
    if dynamics == "flow":
        flow_dt, _ = flow_step.resolve(problem, t, flow_dt, quad_order)     # the kernel only: no time-t theory yet
    budget.check(with_prediction(run_estimate(problem, jobs, t, dynamics, flow_dt, chunk, f"validate gamma = {gamma}"),
                                 prediction.estimate(problem, gamma, t, widths, dynamics, out)), long_run_ok)
    tasks = chunk_tasks(problem, [gamma], [[n] for n in widths], replicas, t, seed, dynamics, antithetic, flow_dt,
                        chunk)
    results = execute(tasks, out, workers, scheduler, progress)
    grouped = group_results(tasks, results)
    per_width = [grouped[((str(gamma),), (int(n),))] for n in widths]
    return summarize(problem, gamma, t, widths, per_width, antithetic, control, dynamics, given_dt, quad_order, out,
                     progress)


def with_prediction(run: budget.Estimate, pred: budget.Estimate | None) -> budget.Estimate:
    """The simulation's estimate with the prediction's (:func:`prediction.estimate`) added: work summed, memory
    the larger (the two do not overlap in time)."""
    if pred is None:
        return run
    return budget.Estimate(f"{run.what} with its prediction", max(run.bytes, pred.bytes), run.flops + pred.flops)
