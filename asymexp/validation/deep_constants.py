"""The variance constant and the mean of deep networks (L >= 2) against the frozen-kernel theory
(docs/validation.md, "Deep constants"; docs/theory/4-deep-networks.md, "The variance constant and the deep mean").

- :func:`limit_theory`: h_t and V_t (P,) of the deep frozen kernel in the sequential limit, with error estimates;
- :func:`constant_check`: r(N) = sum_x Var g_t N_L^{2 gamma_L - 1} / sum_x V_t per width, b0 = lim r(N) fitted
  with the predicted corrections (:func:`constant_terms`) and judged against 1 by
  :func:`asymexp.stats.fits.judge_constant`, or "not applicable" where V_t is no normalizer;
- :func:`deep_mean_check`: E g_t - h_t per width with its SE, judged in SE units, and its fitted decay.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from asymexp.activations import get as get_activation
from asymexp.stats import fits
from asymexp.validation.deep_terms import deep_correction_terms, spec_rules

CONSTANT_CORRECTIONS = 2  # the candidates carry the leading predicted correction, then the next one


def limit_theory(problem, gammas, t: float) -> dict:
    """h_t and V_t of the deep frozen kernel in the sequential limit (docs/theory/4-deep-networks.md), from
    :func:`asymexp.numeric.deep_theory.deep_theory` with ``widths=None``.

    Returns {"h", "V", "h_error", "V_error" (each (P,), points ordered training then probes), "regime", "note"}:
    Var g_t = N_L^{1 - 2 gamma_L} V_t (1 + o(1)) where the outer layer dominates, and E g_t -> h_t. The errors are
    the theory layer's per-entry estimates (quadrature at 3/4 and 9/16 of the nodes)."""
    from asymexp.numeric.deep_theory import deep_theory

    th = deep_theory(problem, list(gammas), None, [float(t)])
    return {"h": np.asarray(th["h"][0]), "V": np.asarray(th["V"][0]), "h_error": np.asarray(th["errors"]["h"][0]),
            "V_error": np.asarray(th["errors"]["V"][0]), "regime": th["regime"],
            "note": "h_t, V_t from the deep frozen kernel in the sequential limit (asymexp.numeric.deep_theory, "
                    "widths=None); errors: the theory layer's quadrature estimates"}


def constant_terms(gammas, activation: str, t: float, path=None, count: int = CONSTANT_CORRECTIONS
                   ) -> list[tuple[float, str]]:
    """Relative corrections N^s of r(N) = Var g N_L^{2 gamma_L - 1} / V_t (V_t of the sequential limit), slowest
    first: (s, name) pairs for :func:`asymexp.stats.fits.ratio_candidates`.

    - the collapse corrections of :func:`deep_correction_terms` (sums of the orders v_l of q_l = E (Z^l)^2), and at
      t > 0 eps_L^2;
    - 1/N_l for an inner layer l with gamma_l = 1/2: Z^{l+1} given the layer below is Gaussian with the random
      variance N_l^{-2 gamma_l} sum_j sigma(Z^l_j)^2 (normal inner weights), whose relative fluctuation is
      O(N_l^{-1/2}); it enters E sigma(Z^L)^2 at O(1/N_l) (times q_L's order for the sigmoid when the layer
      feeding the outer one collapses);
    - at t > 0, 1/N_L: one GD step is 1/N_L in time, and the kernel fluctuation at initialization enters twice
      (the 1/N term of one hidden layer, docs/validation.md).

    Terms of equal order are merged; ``path`` as in :func:`asymexp.validation.deep_validation.parse_width_path`
    (None: equal widths)."""
    rules = spec_rules(gammas, activation)
    gs = rules.gammas
    L = len(gs)
    betas = [Fraction(1)] * L if path is None else [Fraction(b) for _, b in path]
    v_L = sum((b * rules.collapse_orders[L - 1][f"N{l}"] for l, b in enumerate(betas, start=1)), Fraction(0))
    terms: dict[float, str] = {}

    def add(power: float, name: str) -> None:
        power = round(float(power), 12)
        if power < 0:
            terms[power] = terms[power] + " = " + name if power in terms else name

    for power, name in deep_correction_terms(gs, activation, t, path, count=count + 2):
        add(power, name)
    for l in range(1, L):
        if gs[l - 1] == Fraction(1, 2):
            extra = v_L if (get_activation(activation).collapse == "constant" and v_L < 0) else Fraction(0)
            add(-betas[l - 1] + extra, f"1/N_{l}" + (f"*q{L}" if extra else "") + f" (N^{-betas[l - 1] + extra})")
    if t > 0:
        add(-1.0, "1/N_L (N^-1)")
    return sorted(terms.items(), key=lambda kv: -kv[0])[:count]


def constant_check(widths, outer, var_total, var_total_se, gammas, activation: str, t: float, path,
                   predicted: Fraction, lt: dict, replicas) -> dict:
    """The ``var_ratio`` block of the deep document: r(N) = sum_x Var g_t(x) N_L^{2 gamma_L - 1} / sum_x V_t(x)
    per width with its SE, and b0 = lim r(N) judged against 1 by :func:`asymexp.stats.fits.judge_constant`.

    Args:
        widths: (n,) the outer widths N as given; outer: (n,) N_L (= N along a width path, whose outer entry is
            1:1); var_total, var_total_se: (n,) summed variance and SE; predicted: the exponent of Var g in N;
        lt: :func:`limit_theory`. Only where ``predicted`` = 1 - 2 gamma_L (the outer layer dominates) and
        V_t does not vanish is V_t the normalizer; otherwise the block says "not applicable" and why."""
    g_L = Fraction(gammas[-1])
    V, V_err = float(np.sum(lt["V"])), float(np.sum(lt["V_error"]))
    base = {"normalizer": "sum_x V_t(x), sequential-limit deep frozen kernel", "V_sum": V, "V_sum_error": V_err,
            "power": str(2 * g_L - 1), "predicted_exponent": str(predicted)}
    reason = None
    if predicted != 1 - 2 * g_L:
        reason = (f"the predicted variance exponent is {predicted}, not 1 - 2 gamma_L = {1 - 2 * g_L}: collapsed "
                  f"inner layers enter the order of Var g ({activation}, docs/theory/4-deep-networks.md), so "
                  "Var g N_L^(2 gamma_L - 1) tends to 0 and V_t of the sequential limit is no normalizer; no "
                  "constant is predicted")
    elif g_L == 1 and t > 0:
        reason = ("gamma_L = 1 (mean-field end) at t > 0: the parameters move O(1), so the fluctuations keep the "
                  "order N^-1 but their constant is not V_t of the frozen kernel (as for one hidden layer, "
                  "docs/validation.md); no constant is predicted")
    elif not V > max(10 * V_err, 1e-300):
        reason = (f"V_t of the sequential limit is {V:.3g} (error {V_err:.1g}): the leading variance constant "
                  "vanishes, so there is nothing to normalize by")
    if reason is not None:
        return dict(base, applicable=False, b0=None, ci95=None, ci95_models=None, ci95_judged=None,
                    verdict="not applicable", verdict_reason=reason, per_width=None, per_width_se=None)
    scale = np.asarray(outer, dtype=float) ** float(2 * g_L - 1) / V
    r = np.asarray(var_total) * scale
    r_se = np.asarray(var_total_se) * scale
    rel = V_err / V
    terms = constant_terms(gammas, activation, t, path)
    out = dict(base, applicable=True, per_width=r.tolist(), per_width_se=r_se.tolist(),
               per_width_theory_error=(np.abs(r) * rel).tolist(),
               corrections=[name for _, name in terms])
    out.update(fits.judge_constant(widths, r, r_se, terms, rel, replicas))
    return out


def deep_mean_check(widths, means, lt: dict, t: float, antithetic: bool, gamma_last=None) -> dict:
    """The ``mean_residual`` block of the deep document: E g_t - h_t per width and point, with SEs.

    Args:
        widths: (n,); means: n :class:`asymexp.stats.estimators.Estimate` of E g_t (P,) each; lt:
            :func:`limit_theory` (h_t (P,), its error).
    The judged scalar is the summed residual D(N) = sum_x (E g_t(x) - h_t(x)), whose SE comes from the per-sample
    sums (:meth:`Estimate.total`), so the correlation between points is accounted for. It is judged at the largest
    width in SE units (|z| < 3: consistent with 0 there). Where D is resolved (|z| >= 3, one sign) at three or
    more widths, |D| = a N^p is fitted (weighted log-log, :func:`asymexp.stats.fits.raw_slope`): p < 0 with
    its interval below 0 says the residual decays. No order of the deep mean's correction is derived here, so
    the fitted p is reported, not judged against a prediction. At gamma_L = 1 (``gamma_last``) and t > 0 the mean
    tends to the mean-field limit, not to h_t; the block says so (``note``)."""
    h, h_err = lt["h"], lt["h_error"]
    res, res_se, tot, tot_se, rms = [], [], [], [], []
    for m in means:
        d = m.value - h
        res.append(d.tolist())
        res_se.append(m.se.tolist())
        v, se = m.total()
        tot.append(v - float(np.sum(h)))
        tot_se.append(se)
        rms.append(float(np.sqrt(np.mean(d ** 2))))
    out = {"leading_term": "h_t of the deep frozen kernel, sequential limit", "h": h.tolist(),
           "h_error": h_err.tolist(), "widths": [int(n) for n in widths], "residual_points": res,
           "se_points": res_se, "rms": rms, "sum": tot, "sum_se": tot_se, "z": None, "decay": None, "note": None}
    if gamma_last is not None and Fraction(gamma_last) == 1 and t > 0:
        out["note"] = ("gamma_L = 1 (mean-field end): E g tends to the mean-field limit, not to h_t of the frozen "
                       "kernel, so a residual that does not shrink is expected here (docs/validation.md)")
    hsum_err = float(np.sum(h_err))
    if t == 0 and all(s == 0 for s in tot_se) and all(abs(v) <= 10 * hsum_err + 1e-15 for v in tot):
        out["goes_to_zero"] = "trivial"
        out["summary"] = ("t = 0: E g_0 = h_0 = 0 by the symmetry of C" + (" and antithetic pairs make the estimate "
                          "exactly 0" if antithetic else "") + "; nothing to judge")
        return out
    if any(s <= 0 for s in tot_se):
        out["goes_to_zero"] = "undetermined"
        out["summary"] = ("a standard error of the summed residual is 0 (identical replicas?), so E g - h cannot be "
                          "judged in SE units; more replicas would settle it")
        return out
    z = [v / s for v, s in zip(tot, tot_se)]
    out["z"] = z
    zl = z[-1]
    sign = np.sign(tot[-1]) if abs(zl) >= 3 else np.sign(tot[int(np.argmax(np.abs(z)))])
    keep = [i for i, zz in enumerate(z) if abs(zz) >= 3 and np.sign(tot[i]) == sign]
    if len(keep) >= 3:
        N = np.asarray(widths, dtype=float)[keep]
        a = np.abs(np.asarray(tot))[keep]
        f = fits.raw_slope(N, a, np.asarray(tot_se)[keep])
        out["decay"] = {"widths": [int(n) for n in N], "slope": f["slope"], "ci95": f["ci95"], "chi2": f["chi2"],
                        "dof": f["dof"], "p_value": fits.p_value(f["chi2"], f["dof"]),
                        "model": "|D| = a N^p over the widths where D is resolved (|z| >= 3, one sign)"}
    n_last = int(widths[-1])
    head = (f"sum_x (E g - h) at N = {n_last}: {tot[-1]:.3g} +- {tot_se[-1]:.2g} (z = {zl:.2f})")
    dec = out["decay"]
    if dec is not None:
        dtext = (f"; |D| decays like N^p with p = {dec['slope']:.3f} [{dec['ci95'][0]:.3f}, {dec['ci95'][1]:.3f}] "
                 f"over N = {dec['widths'][0]}..{dec['widths'][-1]} (power-law chi2 p = "
                 + ("n/a" if dec["p_value"] is None else f"{dec['p_value']:.3g}") + ")")
    else:
        dtext = f"; resolved (|z| >= 3) at {len(keep)} width(s), too few to fit a decay"
    if abs(zl) < 3:
        out["goes_to_zero"] = "consistent"
        out["summary"] = (head + ": within 3 SE of 0 at the largest width, consistent with E g -> h at this "
                          "precision (it does not show the decay rate)" + dtext)
    elif dec is not None and dec["ci95"][1] < 0:
        out["goes_to_zero"] = "decaying"
        out["summary"] = (head + ": the residual is resolved and shrinks" + dtext + "; consistent with E g -> h, "
                          "extrapolated, not reached at these widths")
    elif dec is not None:
        out["goes_to_zero"] = "no decay seen"
        out["summary"] = head + ": the residual is resolved and does not shrink significantly" + dtext
    else:
        out["goes_to_zero"] = "undetermined"
        out["summary"] = head + ": the residual is resolved at the largest width" + dtext
    if out["note"]:
        out["summary"] += "; " + out["note"]
    return out
