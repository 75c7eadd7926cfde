"""Fits across widths: the variance exponent with its predicted corrections, the raw log-log slope, and the
variance constant r(N) = b0 + corrections (docs/theory/5-verified-formulas.md: "fit, never trust a raw slope").

All fits are weighted least squares with the Monte Carlo standard errors as known sigmas
(``absolute_sigma``); 95% intervals are estimate +- 1.96 sd from the covariance.

Which models the verdict uses is declared here, not chosen after looking at the prediction. The expansion
predicts the relative corrections of the variance (:func:`correction_terms`: eps^2, then N^-1 or eps^4, ...).
Candidates add them one at a time, slowest first. A candidate is acceptable when a chi2 goodness-of-fit test
at the 5% level does not reject it. :func:`select_model` names the first acceptable candidate; its numbers are
the reported estimate. :func:`model_interval` gives the judged interval: the union of the 95% intervals of all
acceptable candidates. If every candidate is rejected, or there are too few widths to fit the leading
correction with a degree of freedom left (:func:`widths_needed`), no verdict is given: the bare power law
(the raw slope) is never judged. Neither function looks at the distance to the prediction.
"""
from __future__ import annotations

import numpy as np

from asymexp.errors import AsymexpError
from asymexp.stats.interval_verdicts import AGREE, DISAGREE, UNDETERMINED, decide

Z95 = 1.959963984540054


def _arrays(*arrs):
    out = [np.asarray(a, dtype=np.float64).ravel() for a in arrs]
    n = out[0].size
    if any(a.size != n for a in out):
        raise AsymexpError("fit inputs have different lengths")
    if np.any(out[-1] <= 0) or not all(np.all(np.isfinite(a)) for a in out):
        raise AsymexpError("fit inputs must be finite with standard errors > 0 (more replicas?)")
    return out


def linear_fit(x, y, se) -> dict:
    """y = a + b x by weighted least squares. Returns {"a", "b", "cov" (2x2), "chi2", "dof"}."""
    x, y, se = _arrays(x, y, se)
    if x.size < 2:
        raise AsymexpError("a linear fit needs at least two widths")
    X = np.column_stack([np.ones_like(x), x]) / se[:, None]
    cov = np.linalg.inv(X.T @ X)
    coef = cov @ X.T @ (y / se)
    resid = (y - coef[0] - coef[1] * x) / se
    return {"a": float(coef[0]), "b": float(coef[1]), "cov": cov, "chi2": float(resid @ resid),
            "dof": int(x.size - 2)}


def ci(value: float, var: float) -> list[float]:
    half = Z95 * float(np.sqrt(max(var, 0.0)))
    return [float(value - half), float(value + half)]


def correction_terms(gamma: float, count: int = 3, odd: bool = False) -> list[tuple[float, str]]:
    """The relative corrections N^s of the variance that the expansion predicts, slowest first, as
    (s, name) pairs: Var = V N^{1-2gamma} (1 + sum_k b_k N^{s_k}).

    With a symmetric law of c (docs/theory/5-verified-formulas.md): even powers of eps = N^{gamma-1} (eps^2, eps^4,
    ...) and
    N^{-1} = eps^2 eta^2 (the kernel fluctuation at initialization met twice); odd powers of eps join them when
    ``odd`` (a skewed c). Terms of equal order are merged; gamma = 1 (eps = 1) leaves only N^{-1}.
    """
    step = (gamma - 1.0) if odd else 2.0 * (gamma - 1.0)
    terms: dict[float, str] = {}
    for k in range(1, count + 1):
        if round(k * step, 12) < 0:
            terms[round(k * step, 12)] = f"eps^{k if odd else 2 * k}"
    key = -1.0
    terms[key] = terms[key] + " = 1/N" if key in terms else "1/N"
    return sorted(terms.items(), key=lambda kv: -kv[0])[:count]


def _terms(corrections) -> list[tuple[float, str]]:
    """Accept (s, name) pairs or bare exponents s."""
    out = []
    for c in corrections:
        if isinstance(c, tuple):
            out.append((float(c[0]), str(c[1])))
        else:
            out.append((float(c), f"N^{float(c):g}"))
    return out


def p_value(chi2: float, dof: int) -> float | None:
    """Goodness of fit: P(chi2_dof >= chi2) for a correct model with correct SEs (None without dof)."""
    if dof <= 0:
        return None
    from scipy.stats import chi2 as chi2_law

    return float(chi2_law.sf(chi2, dof))


def ratio_fit(widths, r, se, corrections=()) -> dict:
    """r(N) = b0 + sum_k b_k N^{s_k} by weighted linear least squares.

    corrections: (s, name) pairs (see :func:`correction_terms`) or bare exponents. Returns {"b0", "ci95",
    "b" (list), "b_ci95", "chi2", "dof", "p_value", "model"}; "b1" is the first correction's coefficient."""
    terms = _terms(corrections)
    widths, r, se = _arrays(widths, r, se)
    k = 1 + len(terms)
    if widths.size < k:
        raise AsymexpError(f"fitting b0 and {len(terms)} correction(s) needs at least {k} widths, got {widths.size}")
    X = np.column_stack([np.ones_like(widths)] + [widths ** s for s, _ in terms])
    Xw = X / se[:, None]
    cov = np.linalg.inv(Xw.T @ Xw)
    coef = cov @ Xw.T @ (r / se)
    resid = (r - X @ coef) / se
    chi2, dof = float(resid @ resid), int(widths.size - k)
    out = {"b0": float(coef[0]), "ci95": ci(coef[0], cov[0, 0]), "b": [float(c) for c in coef[1:]],
           "b_ci95": [ci(coef[i], cov[i, i]) for i in range(1, k)], "chi2": chi2, "dof": dof,
           "p_value": p_value(chi2, dof), "corrections": [[s_, n_] for s_, n_ in terms],
           "model": "b0" + "".join(f" + b{i}*{n}" for i, (_, n) in enumerate(terms, 1))}
    if terms:
        out["b1"], out["b1_ci95"] = out["b"][0], out["b_ci95"][0]
    return out


def raw_slope(widths, var, se) -> dict:
    """Weighted log-log slope of var against N (sd of log var = se / var)."""
    widths, var, se = _arrays(widths, var, se)
    f = linear_fit(np.log(widths), np.log(var), se / var)
    return {"slope": f["b"], "ci95": ci(f["b"], f["cov"][1, 1]), "chi2": f["chi2"], "dof": f["dof"]}


def exponent_fit(widths, var, se, corrections=(), predicted: float | None = None) -> dict:
    """Var = V N^p (1 + sum_k b_k N^{s_k}) by weighted nonlinear least squares (scipy.optimize.curve_fit).

    corrections: (s, name) pairs (:func:`correction_terms`) or bare exponents s < 0; a bare float is one
    exponent (e.g. 2 gamma_L - 2 for eps^2). Corrections that would leave no degree of freedom are dropped from
    the end (the model actually fitted is named in "model"). Returns {"fit", "ci95", "b" (list), "chi2", "dof",
    "p_value", "model"} and "predicted" when given."""
    from scipy.optimize import curve_fit

    if isinstance(corrections, (int, float)):
        corrections = [corrections] if corrections < 0 else []
    terms = [t for t in _terms(corrections) if t[0] < 0]
    widths, var, se = _arrays(widths, var, se)
    terms = terms[:max(0, widths.size - 3)]
    start = raw_slope(widths, var, se)["slope"]
    logn = np.log(widths)
    powers = np.array([s for s, _ in terms])

    def model(ln, logv, p, *b):
        corr = 1.0 + sum(bk * np.exp(sk * ln) for bk, sk in zip(b, powers))
        return np.exp(logv + p * ln) * corr

    p0 = [float(np.log(var[0]) - start * logn[0]), start] + [0.0] * len(terms)
    try:
        coef, cov = curve_fit(model, logn, var, p0=p0, sigma=se, absolute_sigma=True, maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise AsymexpError(f"the variance-exponent fit did not converge: {exc}") from None
    resid = (var - model(logn, *coef)) / se
    chi2, dof = float(resid @ resid), int(widths.size - len(coef))
    out = {"fit": float(coef[1]), "ci95": ci(coef[1], cov[1, 1]), "b": [float(c) for c in coef[2:]],
           "chi2": chi2, "dof": dof, "p_value": p_value(chi2, dof), "corrections": [[s_, n_] for s_, n_ in terms],
           "model": "V*N^p" + (f"*(1 + {' + '.join(f'b{i}*{n}' for i, (_, n) in enumerate(terms, 1))})"
                               if terms else "")}
    if predicted is not None:
        out["predicted"] = float(predicted)
    return out


def exponent_candidates(widths, var, se, terms, predicted: float | None = None) -> list[dict]:
    """:func:`exponent_fit` with the first k of ``terms`` for every k >= 1 that leaves a degree of freedom.

    With predicted corrections, nothing less is fitted: the bare power law V N^p is the raw slope, which is
    never judged alone, so too few widths give no candidate (see :func:`widths_needed`). Only when the
    expansion predicts no correction at all is the bare model V N^p the candidate (it then needs 3 widths)."""
    n = np.asarray(widths).size
    if not terms:
        return [exponent_fit(widths, var, se, [], predicted)] if n >= 3 else []
    return [exponent_fit(widths, var, se, terms[:k], predicted) for k in range(1, len(terms) + 1) if n >= 3 + k]


def ratio_candidates(widths, r, se, terms) -> list[dict]:
    """:func:`ratio_fit` of b0 with the first k of ``terms`` for every k >= 1 that leaves a degree of freedom
    (b0 alone when no correction is predicted); none when the widths are too few (see :func:`widths_needed`)."""
    n = np.asarray(widths).size
    if not terms:
        return [ratio_fit(widths, r, se, [])] if n >= 2 else []
    return [ratio_fit(widths, r, se, terms[:k]) for k in range(1, len(terms) + 1) if n >= 2 + k]


def widths_needed(terms, have: int) -> dict:
    """How many widths a judged verdict needs. Every fit carries the leading predicted correction and keeps one
    degree of freedom for its chi2 test: the exponent fit V N^p (1 + b1 N^{s_1}) has 3 parameters, so it needs
    4 widths (the constant b0 + b1 N^{s_1} needs 3, fewer); each further predicted order adds one width
    (``all_candidates``: every order of ``terms``). Without predicted corrections V N^p needs 3.

    Returns {"have", "minimum", "all_candidates", "enough" (bool), "reason"}."""
    k = len(terms)
    minimum, full = (4, 3 + k) if k else (3, 3)
    if k:
        more = f"; {full} also fit the next predicted order(s) ({', '.join(n for _, n in terms[1:])})" if k > 1 else ""
        reason = (f"the variance exponent is fitted with the leading predicted correction {terms[0][1]}: "
                  f"V N^p (1 + b1 {terms[0][1]}) has 3 parameters and its chi2 goodness-of-fit test needs one "
                  f"width more, so at least {minimum} widths{more}")
    else:
        reason = "no correction is predicted: V N^p has 2 parameters and its chi2 test needs one width more, so 3"
    return {"have": int(have), "minimum": minimum, "all_candidates": full, "enough": int(have) >= minimum,
            "reason": reason}


P_FIT = 0.05


def select_model(candidates: list[dict], level: float = P_FIT) -> tuple[dict | None, str]:
    """The verdict model, chosen before any prediction is looked at: the first candidate (fewest corrections)
    whose chi2 goodness-of-fit p-value is at least ``level``. Candidates without a degree of freedom cannot be
    tested and are never chosen. Returns (chosen or None, reason)."""
    testable = [c for c in candidates if c.get("p_value") is not None]
    if not testable:
        if candidates:
            return None, "no candidate has a degree of freedom left for its chi2 test; nothing is judged untested"
        return None, "too few widths to fit the predicted corrections with a degree of freedom left"
    for c in testable:
        if c["p_value"] >= level:
            return c, f"fewest corrections with chi2 p-value >= {level} (p = {c['p_value']:.3g})"
    worst = ", ".join(f"{c['model']}: p = {c['p_value']:.2g}" for c in testable)
    return None, f"every predicted model is rejected by its chi2 test at level {level} ({worst})"


def model_interval(candidates: list[dict], chosen: dict | None, level: float = P_FIT) -> list[float] | None:
    """The judged 95% interval: the union of the intervals of every candidate that passes its chi2 test at
    ``level`` (model uncertainty: when the data cannot tell the predicted models apart, the verdict must not
    depend on which one is used). Falls back to the chosen model's own interval."""
    ok = [c["ci95"] for c in candidates if c.get("p_value") is not None and c["p_value"] >= level]
    if not ok:
        return None if chosen is None else list(chosen["ci95"])
    return [min(c[0] for c in ok), max(c[1] for c in ok)]


def judge(candidates: list[dict], level: float = P_FIT) -> tuple[dict | None, str]:
    """:func:`select_model` and :func:`model_interval` together: a copy of the chosen candidate with the judged
    interval added as "ci95_models" (None when every candidate is rejected), and the reason."""
    chosen, why = select_model(candidates, level)
    if chosen is None:
        return None, why
    return dict(chosen, ci95_models=model_interval(candidates, chosen, level)), why


# --- a constant judged against 1 (deep networks: docs/validation.md, "Deep constants") -------------------------

B0_TARGET = 0.02  # the b0 half-width at which a verdict is given (as asymexp.validation.shallow_validation)


def constant_widths_needed(terms, have: int) -> dict:
    """How many widths a judged b0 needs: b0 + b1 N^{s_1} has 2 parameters and its chi2 test one degree of
    freedom more, so 3; each further predicted order one more (``all_candidates``); b0 alone (no predicted
    correction) needs 2. Returns {"have", "minimum", "all_candidates", "enough", "reason"}."""
    k = len(terms)
    minimum, full = (3, 2 + k) if k else (2, 2)
    if k:
        reason = (f"r(N) is fitted as b0 + b1 {terms[0][1]}: 2 parameters, and its chi2 goodness-of-fit test needs "
                  f"one width more, so at least {minimum} widths"
                  + (f"; {full} also fit {', '.join(n for _, n in terms[1:])}" if k > 1 else ""))
    else:
        reason = "no correction is predicted: b0 alone and one width for its chi2 test, so 2"
    return {"have": int(have), "minimum": minimum, "all_candidates": full, "enough": int(have) >= minimum,
            "reason": reason}


def _continue_widths(widths, count: int) -> list[int]:
    """``widths`` continued by doubling until there are ``count`` of them (a suggestion for a report)."""
    out = [int(w) for w in widths] or [16]
    while len(out) < count:
        out.append(out[-1] * 2)
    return out


def judge_constant(widths, r, r_se, terms, theory_rel_error: float = 0.0, replicas=None,
                   target: float = B0_TARGET) -> dict:
    """Fit and judge b0 = lim r(N) against 1.

    Args:
        widths: (n,) outer widths N_L; r, r_se: (n,) the ratios and their Monte Carlo SEs; terms: (s, name)
            corrections (:func:`asymexp.validation.deep_constants.constant_terms`); theory_rel_error: relative error of the normalizer sum V_t (one
            number: it scales every r(N), hence b0, together, so it widens b0's interval by |b0| times it instead of
            entering the per-width SEs); replicas: per width (for the suggestion of what would settle it).
    Returns:
        {"b0", "ci95" (the reported model's), "ci95_models" (union over acceptable models, :func:`judge`),
        "ci95_judged" (that widened by the theory error), "model", "chi2",
        "dof", "p_value", "candidates", "selection_reason", "widths_needed", "verdict", "verdict_reason"};
        b0 and the intervals are None when nothing is judged.
    """
    N = np.asarray(widths, dtype=float)
    need = constant_widths_needed(terms, N.size)
    out = {"b0": None, "ci95": None, "ci95_models": None, "ci95_judged": None, "model": None, "chi2": None,
           "dof": None, "p_value": None, "candidates": [], "selection_reason": None, "widths_needed": need,
           "theory_rel_error": float(theory_rel_error), "target_half_width": target}
    if not need["enough"]:
        more = _continue_widths(N, need["all_candidates"])
        out["verdict"] = UNDETERMINED
        out["verdict_reason"] = (f"{N.size} width(s) are too few to judge b0: {need['reason']}. Add "
                                 f"{need['minimum'] - N.size} width(s) at least, e.g. --widths "
                                 f"{','.join(map(str, more))}")
        return out
    cands = ratio_candidates(N, r, r_se, terms)
    chosen, why = judge(cands)
    out["candidates"], out["selection_reason"] = cands, why
    if chosen is None:
        out["verdict"] = UNDETERMINED
        out["verdict_reason"] = (f"no predicted model describes r(N), so no interval is judged: {why}. Widths at "
                                 "larger N (where the neglected orders are smaller) would settle it")
        return out
    for key in ("b0", "ci95", "ci95_models", "model", "chi2", "dof", "p_value"):
        out[key] = chosen[key]
    lo, hi = chosen["ci95_models"]
    extra = abs(chosen["b0"]) * float(theory_rel_error)
    out["ci95_judged"] = judged = [lo - extra, hi + extra]
    half = (judged[1] - judged[0]) / 2
    text = (f"b0 {chosen['b0']:.4f} ({chosen['model']}, chi2 p = {chosen['p_value']:.3g}), "
            f"judged interval [{judged[0]:.4f}, {judged[1]:.4f}] (acceptable models, theory error "
            f"{float(theory_rel_error):.1e} relative) vs 1")
    verdict = decide(judged, 1.0, "b0", target_half_width=target)
    if verdict.word == DISAGREE:
        out["verdict"], out["verdict_reason"] = DISAGREE, "the judged interval excludes 1: " + text
    elif verdict.word == UNDETERMINED:
        own = (chosen["ci95"][1] - chosen["ci95"][0]) / 2
        factor = (own / target) ** 2
        reps = max(replicas) if replicas else None
        if own > target:
            settle = (f"the reported model's own half-width is {own:.4f}; with SE ~ R^(-1/2), about {factor:.1f}x "
                      "the replicas" + (f" ({int(np.ceil(factor * reps))} per width)" if reps else "")
                      + f" would bring it to {target}")
        else:
            settle = f"the reported model's own half-width {own:.4f} is within {target}"
        if half > 1.5 * own:
            settle += ("; the union is wider because the acceptable models disagree, which larger widths "
                       "(smaller corrections) settle, not replicas alone")
        out["verdict"] = UNDETERMINED
        out["verdict_reason"] = (f"the judged interval contains 1 but is wide (half-width {half:.4f} > {target}): "
                                 + text + "; " + settle)
    else:
        out["verdict"], out["verdict_reason"] = AGREE, text
    return out
