"""The Gram chain over several batch sizes at one width and depth: the gap V against n, next to the linear chain's
closed form and the bound of Daneshmand et al. (docs/batchnorm.md, "The Gram chain", "Batch size"; the document
``asymexp gram --batch N1,N2,... --json`` prints, docs/interfaces.md).

Per batch size n: the chain is simulated as in :func:`asymexp.bn.gram.gram_chain.simulate`, against the fixed
point G* (the one-integral BN kernel of :mod:`asymexp.bn.gram.gram_bn_kernel` for relu and the identity, else
:func:`asymexp.bn.gram.gram_mean_field.fixed_point`), and each run is averaged over the layers after the burn-in:
the mean gap E V, the RMS gap sqrt(E V^2) (SE by the delta method) and the error ||G - G*||_F.

The bound, in the toolkit's reading: Daneshmand et al. state E V_l <= 2 (1 - 2a/3)^l + 3n / (a sqrt d) for the
linear row-scale chain, a the constant of their assumption. Taking a where its depth factor is the linear chain's
contraction, 1 - 2a/3 = n / (n + 2) (a = 3 / (n + 2)), the stationary term is n (n + 2) / sqrt d: it grows like
n^2, while the closed form sqrt(E V^2) = sqrt((n - 1)(n + 2)^2 / (4 n (n + 1) d)) grows like sqrt(n).

The n-exponent: a weighted fit of gap_rms = V n^p (:func:`asymexp.stats.fits.exponent_fit`); the closed form is
not a pure power, so its own exponent is the same fit applied to its values with the same relative errors (the
effective exponent over the same n). When the pure power fails its chi2 test at 5% the CI is widened by the
Birge ratio sqrt(chi2 / dof) (the scatter about the line is then read as the model's own error).
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.bn.gram.gram_bn_kernel import HOMOGENEOUS
from asymexp.bn.gram.gram_bn_kernel import fixed_point as kernel_fixed_point
from asymexp.bn.gram.gram_chain import chain_name, check_sizes, simulate
from asymexp.bn.gram.gram_experiment import check_runs_burn_in, measure
from asymexp.bn.gram.gram_mean_field import fixed_point as mean_field_fixed_point
from asymexp.bn.gram.gram_mean_field import predicted_gap_rms
from asymexp.errors import AsymexpError
from asymexp.stats.fits import exponent_fit
from asymexp.stats.interval_verdicts import family_rule, family_z, judge, not_judged, summary, undetermined

BOUND_EXPONENT = 2.0
P_FIT = 0.05


def bound_gap(batch: int, width: int, layers) -> float:
    """The bound on E V averaged over ``layers`` (toolkit's reading, module docstring):
    mean over l of 2 (n / (n + 2))^l + n (n + 2) / sqrt(d)."""
    n, layers = batch, np.asarray(layers, dtype=float)
    return float(np.mean(2 * (n / (n + 2)) ** layers) + n * (n + 2) / math.sqrt(width))


def reference(chain: str, activation, batch: int, samples: int, seed: int) -> dict:
    """G* with its error and method: the one-integral kernel where it applies, else the mean-field module's."""
    name = getattr(activation, "name", activation)
    if name in HOMOGENEOUS or name == "identity":
        fp = kernel_fixed_point(chain, activation, batch)
        return {"gram": fp["gram"], "error": fp["error"], "method": fp["method"]}
    fp = mean_field_fixed_point(chain, activation, batch, samples=samples, seed=seed)
    return {"gram": fp.gram, "error": fp.error, "method": fp.method}


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def _row(chain, activation, n, width, depth, burn_in, runs, seed, samples) -> dict:
    ref = reference(chain, activation, n, samples, seed)
    grams = simulate(chain, activation, n, width, depth, runs, seed)
    error, gap = measure(grams, np.broadcast_to(ref["gram"], (depth + 1, n, n)))
    window = slice(burn_in + 1, depth + 1)
    gap_mean, gap_mean_se = _mean_se(gap[:, window].mean(axis=1))
    g2, g2_se = _mean_se((gap[:, window] ** 2).mean(axis=1))
    rms = math.sqrt(g2)
    rms_se = g2_se / (2 * rms) if rms > 0 else 0.0
    err_mean, err_se = _mean_se(error[:, window].mean(axis=1))
    closed = predicted_gap_rms(chain, activation, n, width)
    linear = getattr(activation, "name", activation) in ("linear", "identity")
    bound = bound_gap(n, width, np.arange(burn_in + 1, depth + 1)) if chain == "row-scale" and linear else None
    return {"batch": n, "gap_mean": gap_mean, "gap_mean_se": gap_mean_se, "gap_rms": rms, "gap_rms_se": rms_se,
            "error_mean": err_mean, "error_se": err_se, "closed_form": closed,
            "closed_form_ratio": None if closed is None else rms / closed,
            "closed_form_ratio_se": None if closed is None else rms_se / closed,
            "bound": bound, "fixed_point_off_diagonal": float(ref["gram"][0, 1]),
            "fixed_point_error": ref["error"], "fixed_point_method": ref["method"]}


def _fit(batches, values, se, predicted=None) -> dict:
    fit = exponent_fit(batches, values, se, [], predicted)
    ci, note = fit["ci95"], None
    if fit["p_value"] is not None and fit["p_value"] < P_FIT and fit["dof"] > 0:
        birge = math.sqrt(fit["chi2"] / fit["dof"])
        half = (ci[1] - ci[0]) / 2 * birge
        ci = [fit["fit"] - half, fit["fit"] + half]
        note = (f"the pure power fails its chi2 test (p = {fit['p_value']:.2g}); CI widened by the Birge ratio "
                f"{birge:.2f}")
    return {"exponent": fit["fit"], "ci95": ci, "chi2": fit["chi2"], "dof": fit["dof"], "p_value": fit["p_value"],
            "note": note}


def batch_fit(rows: list[dict]) -> dict:
    """The n-exponent of gap_rms with its CI, the closed form's effective exponent over the same n (linear
    chains) and the bound's 2."""
    batches = [r["batch"] for r in rows]
    rms = np.array([r["gap_rms"] for r in rows])
    se = np.array([r["gap_rms_se"] for r in rows])
    if len(rows) < 2:
        return {"exponent": None, "ci95": None, "closed_form_exponent": None, "bound_exponent": BOUND_EXPONENT,
                "note": "an n-exponent needs at least 2 batch sizes (3 for a chi2 test)"}
    fit = _fit(batches, rms, se)
    closed = None
    if all(r["closed_form"] is not None for r in rows):
        cf = np.array([r["closed_form"] for r in rows])
        closed = exponent_fit(batches, cf, se * cf / rms, [])["fit"]
    return dict(fit, closed_form_exponent=closed, bound_exponent=BOUND_EXPONENT)


def _below(quantity: str, measured, interval, limit: float, what: str) -> dict:
    """Agree when the whole interval lies below ``limit`` (an upper bound respected), disagree when it lies
    above, undetermined when it straddles it."""
    lo, hi = interval
    if hi < limit:
        word, why = "agree", f"{what} {measured:.4g} [{lo:.4g}, {hi:.4g}] lies below {limit:.4g}"
    elif lo > limit:
        word, why = "disagree", f"{what} {measured:.4g} [{lo:.4g}, {hi:.4g}] lies above {limit:.4g}"
    else:
        return undetermined(quantity, measured, limit, f"{what} [{lo:.4g}, {hi:.4g}] straddles {limit:.4g}",
                            "more --runs", ci95=[lo, hi])
    return {"quantity": quantity, "measured": measured, "ci95": [lo, hi], "predicted": limit,
            "judged": [lo, hi], "verdict": word, "why": why + " (an upper bound: below it is agreement)"}


def sweep_verdicts(rows: list[dict], fit: dict, width: int) -> dict:
    """The sweep's verdict entries: the n-exponent against the closed form's (linear chains) and below the
    bound's 2 (the linear row-scale chain, the theorem's; elsewhere stated, not judged); per n, gap_rms over the
    closed form against 1 (widened by n/d, the closed form being leading order in 1/d: the coefficient of the
    omitted term taken as n) and E V below the bound, each per-n family at the Bonferroni limit over the batch
    sizes."""
    entries, unjudged = [], []
    if fit["exponent"] is None:
        entries.append(undetermined("n-exponent of gap_rms", None, fit["closed_form_exponent"], fit["note"],
                                    "3 or more batch sizes"))
    else:
        note = fit.get("note")
        if fit["closed_form_exponent"] is not None:
            entries.append(judge("n-exponent of gap_rms against the closed form's", fit["exponent"],
                                 fit["closed_form_exponent"], ci95=fit["ci95"], settle="more --runs", note=note))
        else:
            unjudged.append(not_judged("n-exponent of gap_rms against a closed form", fit["exponent"],
                                       "the closed form is the linear row-scale and row-center chains'"))
        below = _below("n-exponent of gap_rms against the bound's 2", fit["exponent"], fit["ci95"], BOUND_EXPONENT,
                       "the n-exponent")
        if rows[0]["bound"] is not None:
            entries.append(below)
        else:
            unjudged.append(not_judged(below["quantity"], fit["exponent"],
                                       "the bound is the linear row-scale chain's theorem; " + below["why"]))
    z = family_z(len(rows))
    for r in rows:
        if r["closed_form"] is not None:
            entries.append(judge(f"gap_rms / closed form at n = {r['batch']}", r["closed_form_ratio"], 1.0,
                                 se=r["closed_form_ratio_se"], z=z, rule="interval", settle="more --runs",
                                 predicted_error=r["batch"] / width,
                                 note=f"{family_rule(len(rows))}; the closed form is leading order in 1/d: "
                                      f"widened by n/d"))
        if r["bound"] is not None:
            interval = [r["gap_mean"] - z * r["gap_mean_se"], r["gap_mean"] + z * r["gap_mean_se"]]
            entries.append(_below(f"E V within the bound at n = {r['batch']}", r["gap_mean"], interval, r["bound"],
                                  "E V"))
    if rows and rows[0]["bound"] is None:
        unjudged.append(not_judged("E V within the bound", None, "the bound is the linear row-scale chain's theorem"))
    return {"verdicts": entries, "not_judged": unjudged, **summary(entries)}


def batch_sweep(chain: str, activation, batches, width: int, depth: int, burn_in: int, runs: int, seed: int = 0,
                samples: int = 200_000) -> dict:
    """The ``asymexp gram --batch N1,N2,...`` document: one row per batch size (module docstring), the n-exponent
    fit and the verdicts."""
    chain = chain_name(chain)
    if chain == "none":
        raise AsymexpError("norm none is not allowed with several batch sizes (no attractor to measure the gap "
                           "from); allowed: row-scale, row-center, pre-bn")
    batches = sorted(int(n) for n in batches)
    for n in batches:
        check_sizes(chain, n, width, depth, runs)
    check_runs_burn_in(runs, burn_in, depth)
    rows = [_row(chain, activation, n, width, depth, burn_in, runs, seed, samples) for n in batches]
    fit = batch_fit(rows)
    verdicts = sweep_verdicts(rows, fit, width)
    return {"study": "gram batch sweep", "chain": chain, "activation": str(getattr(activation, "name", activation)),
            "width": width, "depth": depth, "burn_in": burn_in, "runs": runs, "seed": seed,
            "bound_reading": "E V <= 2 (1 - 2a/3)^l + 3n / (a sqrt d) with a = 3 / (n + 2) (toolkit's reading: "
                             "the depth factor equal to the linear chain's contraction n / (n + 2)); the theorem's "
                             "chain only: linear, row-scale",
            "rows": rows, "fit": fit, **verdicts}
