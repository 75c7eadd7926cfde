"""One Gram-chain experiment: simulate every width, measure the error against the mean-field reference, fit
the width exponent and judge the depth profile (docs/batchnorm.md, "The Gram chain"; the document is the one
``asymexp gram --json`` prints, docs/interfaces.md).

Measures, per run and layer l (n the batch, G^ref_l = G* with BN, the mean-field trajectory without)::

    error_l = ||G_l - G^ref_l||_F * n / tr G^ref_l      (= ||G_l - G*||_F for row-scale and row-center, tr G = n)
    gap_l   = ||G_l / tr G_l - G^ref_l / tr G^ref_l||_F (for the linear row-scale chain, G* = I: the
                                                         gap V = ||H^T H / ||H||_F^2 - I/n||_F)

A run's statistic is its average over the layers after the burn-in (burn_in < l <= depth); runs are
independent, so means carry the standard error across runs (layers within a run are correlated and are not
counted as samples). gap_rms = sqrt(mean gap^2), its SE by the delta method.
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.errors import AsymexpError
from asymexp.bn.gram.gram_chain import chain_name, check_sizes, simulate, weight_variance
from asymexp.bn.gram.gram_mean_field import (contraction, fixed_point, mean_field_trajectory,
                                          predicted_gap_rms)
from asymexp.stats.fits import Z95, exponent_candidates, exponent_fit, judge
from asymexp.bn.gram.gram_verdicts import PREDICTED_WIDTH_EXPONENT, depth_entries, study_verdicts, width_entry
from asymexp.stats.interval_verdicts import AGREE, DISAGREE, decide, sentence

CLOSED_FORM_TOLERANCE = 0.05            # the acceptance band of the linear chain's closed form
NO_BN_WIDTH_NOTE = ("no prediction for the post-burn-in error without BN: its scale is log-normal with variance "
                    "growing like l/d, so once l is comparable with d the mean error is heavy-tailed and not a "
                    "power of d; the d^-1/2 law is that of the log-scale spread at a fixed layer, checked by "
                    "depth_check (variance beta l/d)")


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def _slopes(x: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of Y (runs, k) against x (k,)."""
    xc = x - x.mean()
    return (Y - Y.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)


def _interval_verdict(ci: list[float], predicted: float, what: str) -> str:
    return decide(ci, predicted, what).sentence()


def measure(grams: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(error, gap), each (runs, depth + 1), of grams (runs, depth + 1, n, n) against reference (depth + 1, n, n)."""
    n = grams.shape[-1]
    tr_ref = np.trace(reference, axis1=-2, axis2=-1)
    error = np.linalg.norm(grams - reference, axis=(-2, -1)) * n / tr_ref
    tr = np.trace(grams, axis1=-2, axis2=-1)[..., None, None]
    gap = np.linalg.norm(grams / tr - reference / tr_ref[:, None, None], axis=(-2, -1))
    return error, gap


def depth_check(chain: str, error: np.ndarray, burn_in: int, width: int) -> dict:
    """With BN: the relative drift of the error across the post-burn-in window (predicted 0, flat); the
    relative drift of one run is its least-squares slope times the window length over the mean error."""
    if chain == "none":
        raise AsymexpError("the chain without BN is checked by log_scale_check")
    depth = error.shape[1] - 1
    layers = np.arange(burn_in + 1, depth + 1, dtype=float)
    if layers.size < 3:
        return {"quantity": "relative drift", "value": None, "ci95": None, "predicted": 0.0,
                "verdict": "undetermined: fewer than 3 layers after the burn-in (raise --depth)"}
    window = error[:, burn_in + 1:]
    drift = _slopes(layers, window) * (layers[-1] - layers[0]) / window.mean()
    value, se = _mean_se(drift)
    ci = [value - Z95 * se, value + Z95 * se]
    return {"quantity": "relative drift", "value": value, "se": se, "ci95": ci, "predicted": 0.0,
            "layers": [int(layers[0]), int(layers[-1])],
            "verdict": _interval_verdict(ci, 0.0, "relative drift of the error over the window")}


def per_layer_log_variance(activation, width: int) -> float | None:
    """Exact variance of the log of one layer's squared-norm ratio |h_{l+1}|^2 / |h_l|^2 without BN: the
    identity gives chi2_d / d (variance trigamma(d/2)); relu at s_w^2 = 2 gives (2/d) chi2_K, K ~ Bin(d, 1/2)
    (variance E trigamma(K/2) + Var digamma(K/2), K = 0 left out: probability 2^-d). None otherwise."""
    from scipy.special import polygamma
    from scipy.stats import binom

    name = getattr(activation, "name", activation)
    if name in ("identity", "linear"):
        return float(polygamma(1, width / 2))
    if name == "relu":
        k = np.arange(1, width + 1)
        p = binom.pmf(k, width, 0.5)
        p = p / p.sum()
        psi = polygamma(0, k / 2)
        return float(p @ polygamma(1, k / 2) + p @ psi ** 2 - (p @ psi) ** 2)
    return None


def log_scale_check(grams: np.ndarray, reference: np.ndarray, activation, width: int) -> dict:
    """Without BN: each input's log squared norm against mean field, y_l = log(G_l[i, i] / G_ref,l[i, i]), is a
    sum of independent per-layer terms (fresh weights; for the identity and relu the norm ratio's law does not
    depend on the direction), so Var y_l = beta l / d: the spread grows like sqrt(l / d).

    beta: d times the variance of the per-layer increments, pooled over layers and inputs; each run's mean
    squared deviation from the overall mean increment is one independent sample (SE across runs).
    accumulation: Var y_L / (L * increment variance) at the last layer L, predicted 1 (the increments add up
    uncorrelated), with the chi-square interval of a variance from R runs (y_L is a sum of L terms, close to
    Gaussian)."""
    y = np.log(np.diagonal(grams, axis1=-2, axis2=-1) / np.diagonal(reference, axis1=-2, axis2=-1))
    inc = np.diff(y, axis=1)
    runs, depth = inc.shape[0], inc.shape[1]
    per_run = ((inc - inc.mean(axis=(0, 1))) ** 2).mean(axis=(1, 2))
    v1, v1_se = _mean_se(per_run)
    profile = y[:, 1:].var(axis=0, ddof=1).mean(axis=-1)
    ratio = float(profile[-1] / (depth * v1))
    from scipy.stats import chi2

    ratio_ci = [ratio * (runs - 1) / chi2.ppf(0.975, runs - 1), ratio * (runs - 1) / chi2.ppf(0.025, runs - 1)]
    out = {"quantity": "log-scale beta", "width": width, "beta": width * v1, "beta_se": width * v1_se,
           "accumulation": ratio, "accumulation_ci95": ratio_ci, "variance_profile": profile}
    per_layer = per_layer_log_variance(activation, width)
    name = getattr(activation, "name", activation)
    if per_layer is None:
        return dict(out, value=None, se=None, ci95=None, predicted=None,
                    verdict=f"undetermined: no closed form of the per-layer variance for {name} (identity and "
                            f"relu have one)")
    predicted = width * per_layer
    ci = [width * (v1 - Z95 * v1_se), width * (v1 + Z95 * v1_se)]
    verdict = _interval_verdict(ci, predicted, "log-scale beta")
    verdict += ("; accumulation " + ("agrees (CI contains 1)" if ratio_ci[0] <= 1 <= ratio_ci[1]
                                     else "disagrees (CI excludes 1)"))
    return dict(out, value=width * v1, se=width * v1_se, ci95=ci, predicted=predicted, verdict=verdict)


def depth_verdict(checks: list[dict]) -> str:
    """One verdict over all widths, in words, from the entries of
    :func:`asymexp.bn.gram.gram_verdicts.depth_entries`: each width's check at the Bonferroni-adjusted level
    5% / (number of widths), so that a single chance excursion among several 95% intervals is not read as a
    drift."""
    from scipy.stats import norm

    usable = [c for c in checks if c["value"] is not None]
    if not usable:
        return "undetermined: " + checks[0]["verdict"].split(": ", 1)[-1]
    z = float(norm.ppf(1 - 0.025 / len(usable)))
    entries = depth_entries(checks)
    off = [c["width"] for c, e in zip(checks, entries) if e["verdict"] == DISAGREE]
    what = "flat in depth (relative drift 0)" if usable[0]["quantity"] == "relative drift" \
        else f"{usable[0]['quantity']} as predicted"
    if off:
        return f"disagrees: not {what} at d = {', '.join(map(str, off))} (Bonferroni-adjusted 95%, z = {z:.2f})"
    if any(e["verdict"] != AGREE for e in entries):
        return (f"undetermined: {what} at every judged width, but not every width could be judged "
                f"(Bonferroni-adjusted 95%, z = {z:.2f})")
    return f"agrees: {what} at every width (Bonferroni-adjusted 95%, z = {z:.2f})"


def width_fit(widths, error_mean, error_se) -> dict:
    """The width exponent of error_mean: candidates d^p and d^p (1 + b/d), the first that passes its chi2 test;
    ``verdict`` is the sentence of its entry (:func:`asymexp.bn.gram.gram_verdicts.width_entry`)."""
    return _width_fit(widths, error_mean, error_se)[0]


def _width_fit(widths, error_mean, error_se) -> tuple[dict, dict]:
    """(the fit, its verdict entry)."""
    none = {"exponent": None, "ci95": None, "predicted": PREDICTED_WIDTH_EXPONENT}
    if len(widths) < 2:
        entry = width_entry(none, "a width exponent needs at least 2 widths (3 for a chi2 test)")
        return dict(none, verdict=sentence(entry)), entry
    try:
        cands = [exponent_fit(widths, error_mean, error_se, [], PREDICTED_WIDTH_EXPONENT)]
        cands += exponent_candidates(widths, error_mean, error_se, [(-1.0, "1/d")], PREDICTED_WIDTH_EXPONENT)
    except AsymexpError as exc:
        entry = width_entry(none, str(exc))
        return dict(none, verdict=sentence(entry)), entry
    chosen, why = judge(cands)
    if chosen is None:
        entry = width_entry(none, why)
        return dict(none, verdict=sentence(entry),
                    candidates=[{k: c[k] for k in ("model", "fit", "ci95", "p_value")} for c in cands]), entry
    fit = dict(none, exponent=chosen["fit"], ci95=chosen["ci95_models"], model=chosen["model"],
               p_value=chosen["p_value"], model_choice=why)
    entry = width_entry(fit)
    return dict(fit, verdict=sentence(entry)), entry


def closed_form_check(gap_rms: float, gap_se: float, predicted: float | None) -> dict | None:
    """gap_rms / predicted with its 95% CI against the +-5% band (acceptance of the linear chain)."""
    if predicted is None:
        return None
    ratio, se = gap_rms / predicted, gap_se / predicted
    ci = [ratio - Z95 * se, ratio + Z95 * se]
    lo, hi = 1 - CLOSED_FORM_TOLERANCE, 1 + CLOSED_FORM_TOLERANCE
    if lo <= ci[0] and ci[1] <= hi:
        verdict = "within 5%"
    elif ci[1] < lo or ci[0] > hi:
        verdict = "outside 5%"
    else:
        verdict = "undetermined: the CI straddles the 5% band (more runs or depth would settle it)"
    return {"ratio": ratio, "ci95": ci, "verdict": verdict}


def check_runs_burn_in(runs: int, burn_in: int, depth: int) -> None:
    """Refuse (AsymexpError, one line) fewer than 2 runs (no SE across runs) or a burn-in outside [0, depth)."""
    if runs < 2:
        raise AsymexpError(f"runs {runs} is not allowed; a standard error across runs needs runs >= 2")
    if not 0 <= burn_in < depth:
        raise AsymexpError(f"burn-in {burn_in} is not allowed; 0 <= burn-in < depth ({depth}) is required")


def run_experiment(chain: str, activation, batch: int, widths, depth: int, burn_in: int, runs: int,
                   seed: int = 0, samples: int = 200_000) -> dict:
    """The ``asymexp gram`` document (docs/interfaces.md) for one chain and activation over ``widths``; ``chain``
    in the document is the chain's current name (an old one is named on stderr, once)."""
    chain = chain_name(chain)
    widths = sorted(int(w) for w in widths)
    for w in widths:
        check_sizes(chain, batch, w, depth, runs)
    check_runs_burn_in(runs, burn_in, depth)
    weight_variance(chain, activation)               # refuses an activation the chain cannot run, before any work
    if chain == "none":
        reference, ref_error = mean_field_trajectory(activation, batch, depth)
        fp = {"method": "mean-field trajectory without BN (no attractor): G at the last layer", "error": ref_error}
        fixed = reference[-1]
    else:
        point = fixed_point(chain, activation, batch, samples=samples, seed=seed)
        reference = np.broadcast_to(point.gram, (depth + 1, batch, batch))
        fp = {"method": point.method, "error": point.error, "correlation": point.correlation}
        fixed = point.gram
    rows, profile, profile_se, depth_checks = [], [], [], []
    for w in widths:
        grams = simulate(chain, activation, batch, w, depth, runs, seed)
        error, gap = measure(grams, reference)
        err_mean, err_se = _mean_se(error[:, burn_in + 1:].mean(axis=1))
        g2_mean, g2_se = _mean_se((gap[:, burn_in + 1:] ** 2).mean(axis=1))
        gap_rms = math.sqrt(g2_mean)
        gap_se = g2_se / (2 * gap_rms) if gap_rms > 0 else 0.0
        predicted = predicted_gap_rms(chain, activation, batch, w)
        rows.append({"width": w, "error_mean": err_mean, "error_se": err_se, "gap_rms": gap_rms,
                     "gap_rms_se": gap_se, "predicted_gap_rms": predicted,
                     "closed_form": closed_form_check(gap_rms, gap_se, predicted)})
        profile.append(error.mean(axis=0))
        profile_se.append(error.std(axis=0, ddof=1) / math.sqrt(runs))
        depth_checks.append(log_scale_check(grams, reference, activation, w) if chain == "none"
                            else dict(depth_check(chain, error, burn_in, w), width=w))
    fit, width_verdict = _width_fit(widths, [r["error_mean"] for r in rows], [r["error_se"] for r in rows])
    if chain == "none":
        fit, width_verdict = dict(fit, predicted=None, verdict=NO_BN_WIDTH_NOTE), None
    doc = {"chain": chain, "activation": str(getattr(activation, "name", activation)), "batch": batch,
            "depth": depth, "burn_in": burn_in, "runs": runs, "seed": seed,
            "fixed_point": fixed, "fixed_point_info": fp, "contraction": contraction(chain, activation, batch),
            "rows": rows,
            "depth_profile": {"layers": list(range(depth + 1)), "error": profile, "error_se": profile_se},
            "depth_check": depth_checks, "depth_verdict": depth_verdict(depth_checks), "fit": fit}
    return dict(doc, **study_verdicts(doc, width_verdict))
