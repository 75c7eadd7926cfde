"""A readable Markdown summary of a validation document (shallow or deep)."""
from __future__ import annotations

from fractions import Fraction

import numpy as np


def _ci(c):
    return "n/a" if not c else f"[{c[0]:.4f}, {c[1]:.4f}]"


def markdown(doc: dict) -> str:
    """Markdown tables and the verdict of one validation document."""
    if "depth" in doc:
        return _deep(doc)
    st = doc.get("flow_step")
    step = "" if not doc.get("flow_dt") else f" (RK4 step {doc['flow_dt']})"
    if st and st.get("steps"):
        step = (f" (RK4 step t/{st['steps']} = {st['flow_dt']:.4g}, {st['chosen_by']}; step error about "
                f"{st['output_error']:.1e}, at most {st['output_error_bound']:.1e} per output, docs/validation.md)")
    lines = [f"### Shallow validation: gamma = {doc['gamma']}, t = {doc['time']}, {doc['dynamics']}" + step,
             "",
             f"Estimator: {'antithetic pairs' if doc['antithetic'] else 'plain'}"
             f"{' + frozen-kernel control variate' if doc['control_variate'] else ''}; theory: {doc['theory']['note']}.",
             "", "| N | replicas | r(N) = Var N^(2g-1)/V_t | SE | RMS(E g - h) | RMS after correction | mean SE |",
             "|---|---|---|---|---|---|---|"]
    mr = doc["mean_residual"]
    for i, n in enumerate(doc["widths"]):
        lines.append(f"| {n} | {doc['replicas'][i]} | {doc['ratio'][i]:.5f} | {doc['ratio_se'][i]:.5f} | "
                     f"{mr['raw'][i]:.3g} | {mr['corrected'][i]:.3g} | {mr['se'][i]:.3g} |")
    s, r = doc.get("var_slope") or {}, doc.get("var_ratio") or {}
    lines.append("")
    lines.append(f"Mean model {mr['model']}: RMS(E g - h) / RMS(residual) at N = {doc['widths'][-1]} is "
                 f"{mr['ratio_at_largest'] or float('nan'):.2f}.")
    inv = mr.get("inverse_n")
    if inv:
        lines.append(f"With the 1/N term ({inv['model']}): residuals "
                     + ", ".join(f"{v:.3g}" for v in inv["corrected"])
                     + f"; ratio at the largest N {inv['ratio_at_largest'] or float('nan'):.2f}; within 3 Monte Carlo "
                       f"SEs: {inv['corrected_within_3se']}. {inv['note']}.")
    lines.append("")
    if doc.get("end"):
        lines.append(f"**End of the gamma range.** {doc['end']}")
        if s:
            lines.append(f"Raw log-log slope {s['raw']:.4f} {_ci(s.get('raw_ci95'))} (predicted {s['predicted']}).")
    else:
        need = doc.get("widths_needed")
        if need and not need["enough"]:
            lines.append(f"- **too few widths to judge**: {need['have']} given, at least {need['minimum']} needed "
                         f"({need['all_candidates']} to fit every predicted order): {need['reason']}.")
        if s and s.get("fit") is not None:
            lines.append(f"- variance exponent ({s['model']}): {s['fit']:.4f} {_ci(s['ci95'])}; judged interval "
                         f"(acceptable models) {_ci(s.get('ci95_models'))}; predicted {s['predicted']:.4f}; raw "
                         f"log-log slope {s['raw']:.4f} {_ci(s['raw_ci95'])} (not judged alone)")
        elif s:
            lines.append(f"- variance exponent: {s['model']}; predicted {s['predicted']:.4f}; raw log-log slope "
                         + (f"{s['raw']:.4f} {_ci(s.get('raw_ci95'))}" if s.get("raw") is not None else "n/a")
                         + " (reported, never judged alone)")
        if r:
            lines.append(f"- constant ({r['model']}): b0 = {r['b0']:.4f} {_ci(r['ci95'])}, "
                         f"chi2/dof = {r['chi2']:.2f}/{r['dof']}; judged interval (acceptable models) "
                         f"{_ci(r.get('ci95_models'))}; predicted 1")
        sel = doc.get("model_selection")
        if sel:
            lines += ["", f"Model selection ({sel['rule']}); predicted corrections, slowest first: "
                          f"{', '.join(sel['corrections'])}.", "",
                      "| quantity | model | estimate [95% CI] | chi2/dof | p-value | acceptable | estimate reported |",
                      "|---|---|---|---|---|---|---|"]
            for what, key, chosen in (("exponent", "fit", s), ("b0", "b0", r)):
                part = sel["exponent" if what == "exponent" else "constant"]
                for c in part["candidates"]:
                    pv = "n/a" if c["p_value"] is None else f"{c['p_value']:.3g}"
                    mark = "yes" if chosen and c["model"] == chosen.get("model") else ""
                    ok = "n/a" if c["p_value"] is None else ("yes" if c["p_value"] >= 0.05 else "no")
                    lines.append(f"| {what} | {c['model']} | {c[key]:.4f} {_ci(c['ci95'])} | "
                                 f"{c['chi2']:.2f}/{c['dof']} | {pv} | {ok} | {mark} |")
            lines.append("")
        ratio = mr.get("ratio_at_largest")
        lines.append(f"- mean residual at N = {doc['widths'][-1]}: |E g - h| / |E g - ({mr['model']})| = "
                     f"{ratio:.3g}" if ratio else "- mean residual: n/a")
    lines += ["", f"**Verdict: {doc['verdict']}** ({doc.get('verdict_reason', '')})"]
    lines += _prediction(doc)
    return "\n".join(lines)


def _prediction(doc: dict) -> list[str]:
    """The parameter-free prediction block (docs/validation.md, "Predictions")."""
    pr = doc.get("prediction")
    if not pr:
        return []
    if not pr["applicable"]:
        against = pr.get("against_gd")
        missing = "; ".join(pr.get("missing", []))
        return ["", f"Parameter-free prediction: not made ({pr['reason']})." + (f" Missing: {missing}." if missing
                                                                               else "")] + ([
            "", "Measured against full-batch GD's prediction: max abs z " + ", ".join(
                f"{what} {against[f'max_abs_z_{what}_all']:.2f} (cells judged for GD: "
                + ("none" if against[f"max_abs_z_{what}"] is None else f"{against[f'max_abs_z_{what}']:.2f}") + ")"
                for what in ("mean", "var")) + "; the variance with SGD's noise term W_t/N added: "
            f"{pr['with_noise']['max_abs_z_var_all']:.2f} (docs/theory/7-random-terms.md, \"Online SGD\")."]
            if against else [])
    deep = "depth" in doc
    lines = ["", f"#### Parameter-free prediction ({pr.get('theory', 'docs/theory/7-random-terms.md')})", "",
             f"E g ~ {' + '.join(pr['terms']['mean'])}; Var g ~ {' + '.join(pr['terms']['var'])}. "
             f"Omitted: mean {pr['omitted']['mean']}; variance {pr['omitted']['var']}."
             + ("" if deep or doc.get("gamma") in ("1", 1) or pr.get("b1") is None else     # eps = 1 at gamma = 1: no eps^2 term
                f" Predicted eps^2 coefficient of r(N): b1 = {pr['b1']:.4f}."), "",
             "| N | max abs z, mean | mean judged | max abs z, var | var judged | omitted/SE mean | omitted/SE var | "
             "eps^4+ part of V(eps)/SE var |", "|---|---|---|---|---|---|---|---|"]
    for i, n in enumerate(doc["widths"]):
        with np.errstate(divide="ignore", invalid="ignore"):    # SE 0: the antithetic mean at t = 0
            om = np.array(pr["omitted_mean"][i]) / np.array(doc["mean_se"][i])
        ov = np.array(pr["omitted_var"][i]) / np.array(doc["var_se"][i])
        if deep:        # V at t = 0 holds no eps-series: no remainder column
            rem = "n/a"
        else:
            scale = float(n) ** (1.0 - 2.0 * float(Fraction(doc["gamma"])))
            rem = f"{(scale * np.abs(np.array(pr['variance_remainder'][i])) / np.array(doc['var_se'][i])).max():.2g}"
        z_mean = np.array(pr["z_mean"][i], dtype=np.float64)        # None (JSON null: SE 0) reads as NaN
        lines.append(f"| {n} | {np.max(np.abs(z_mean)):.2f} | {all(pr['holds_mean'][i])} | "
                     f"{np.max(np.abs(pr['z_var'][i])):.2f} | {all(pr['holds_var'][i])} | {om.max():.2g} | "
                     f"{ov.max():.2g} | {rem} |")
    lines += ["", f"- mean: **{pr['verdict']['mean']}** ({pr['verdict_reason']['mean']}); judged from N = "
                  f"{pr['holds_from']['mean']}",
              f"- variance: **{pr['verdict']['var']}** ({pr['verdict_reason']['var']}); judged from N = "
              f"{pr['holds_from']['var']}"]
    return lines


def _deep(doc: dict) -> str:
    st = doc.get("flow_step") or {}
    step = (f", RK4 step t/{st['steps']} = {st['flow_dt']:.4g} ({st['chosen_by']}; relative step error at most "
            f"{st['relative_error_bound']:.1e}, docs/validation.md)" if st.get("steps") else
            f", RK4 step {st['flow_dt']} ({st['chosen_by']})" if st.get("flow_dt") else "")
    lines = [f"### Deep validation: L = {doc['depth']}, gammas {', '.join(doc['gammas'])}, {doc['activation']}, "
             f"t = {doc['time']} ({doc['dynamics']}{step})", "", f"Estimator: {doc['estimator']}.",
             "Widths: " + ("equal in all layers" if not doc.get("width_path") else
                           f"width path N_l = c_l N^b_l, c:b = {', '.join(doc['width_path'])}") + ".", "",
             "| N | layer widths | replicas | sum Var | SE |", "|---|---|---|---|---|"]
    for i, n in enumerate(doc["widths"]):
        lw = doc.get("layer_widths", [[n]] * len(doc["widths"]))[i]
        lines.append(f"| {n} | {'x'.join(map(str, lw))} | {doc['replicas'][i]} | {doc['var_total'][i]:.5g} | "
                     f"{doc['var_total_se'][i]:.3g} |")
    s = doc.get("var_slope")
    need = doc.get("widths_needed")
    if need and not need["enough"]:
        lines += ["", f"- **too few widths to judge**: {need['have']} given, at least {need['minimum']} needed "
                      f"({need['all_candidates']} to fit every predicted order): {need['reason']}."]
    if s and s.get("fit") is None:
        lines += ["", f"- exponent: {s['model']}; raw slope {s['raw']:.4f} {_ci(s['raw_ci95'])} (reported, never "
                      f"judged alone); predicted {s['predicted_exact']} ({doc['prediction_source']})"]
    elif s:
        lines += ["", f"- exponent ({s['model']}): {s['fit']:.4f} {_ci(s['ci95'])}; judged interval (acceptable "
                      f"models) {_ci(s.get('ci95_models'))}; raw {s['raw']:.4f} {_ci(s['raw_ci95'])}; predicted "
                      f"{s['predicted_exact']} ({doc['prediction_source']})"]
    sel = doc.get("model_selection")
    if sel:
        lines.append(f"- predicted corrections, slowest first: {', '.join(sel['corrections']) or 'none'}; "
                     + "; ".join(f"{c['model']}: {c['fit']:.4f} {_ci(c['ci95'])}, chi2/dof {c['chi2']:.2f}/{c['dof']}, "
                                 f"p = {'n/a' if c['p_value'] is None else format(c['p_value'], '.3g')}"
                                 for c in sel["exponent"]["candidates"]))
    lines += _deep_constants(doc)
    for flag in doc.get("degenerate", []):
        lines.append(f"- degenerate: **{flag['kind']}**: {flag['reason']}")
    for note in doc.get("notes", []):
        lines.append(f"- note: {note}")
    sens = doc.get("sensitivity")
    if sens:
        lines += ["", f"Sensitivity at N = {sens['width']} (sum Var, one gamma_l varied, others at "
                      f"{', '.join(sens['base']['gammas'])}):", "",
                  "| layer | " + " | ".join(sens["grid"]) + " | max/min |",
                  "|---|" + "---|" * (len(sens["grid"]) + 1)]
        for name, row, sp in zip(sens["layers"], sens["var"], sens["spread"]):
            lines.append(f"| {name} | " + " | ".join(f"{v:.4g}" for v in row) + f" | {sp:.3g} |")
        lines.append(f"\nOuter layer dominates: {sens['outer_dominates']} ({sens['summary']}).")
    lines += ["", f"**Verdict: {doc['verdict']}** ({doc.get('verdict_reason', '')})"]
    r = doc.get("var_ratio")
    if r:
        lines += ["", f"**Constant b0: {r['verdict']}** (judged separately from the exponent above; "
                      "docs/validation.md)"]
    lines += _prediction(doc)
    return "\n".join(lines)


def _deep_constants(doc: dict) -> list[str]:
    """The b0 and deep-mean lines of a deep document (``var_ratio``, ``mean_residual``; docs/validation.md)."""
    r, m = doc.get("var_ratio"), doc.get("mean_residual")
    if not r and not m:
        return []
    lines = ["", "Variance constant r(N) = sum Var * N_L^(2 gamma_L - 1) / sum V_t and deep mean "
                 "D(N) = sum_x (E g - h_t) (h_t, V_t: deep frozen kernel, sequential limit):", "",
             "| N | r(N) | SE | D(N) | SE |", "|---|---|---|---|---|"]
    for i, n in enumerate(doc["widths"]):
        rv = "n/a" if not r or not r.get("per_width") else f"{r['per_width'][i]:.5f} | {r['per_width_se'][i]:.2g}"
        if rv == "n/a":
            rv = "n/a | n/a"
        mv = "n/a | n/a" if not m else f"{m['sum'][i]:.3g} | {m['sum_se'][i]:.2g}"
        lines.append(f"| {n} | {rv} | {mv} |")
    lines.append("")
    if r:
        if not r.get("applicable"):
            lines.append(f"- constant b0: **not applicable**: {r['verdict_reason']}")
        else:
            lines.append(f"- constant b0 (corrections {', '.join(r['corrections']) or 'none'}): "
                         + ("not fitted" if r["b0"] is None else
                            f"{r['b0']:.4f} {_ci(r['ci95'])} ({r['model']}); judged interval {_ci(r['ci95_judged'])}")
                         + f"; **{r['verdict']}** ({r['verdict_reason']})")
            for c in r.get("candidates", []):
                pv = "n/a" if c["p_value"] is None else f"{c['p_value']:.3g}"
                lines.append(f"  - {c['model']}: b0 {c['b0']:.4f} {_ci(c['ci95'])}, chi2/dof {c['chi2']:.2f}/"
                             f"{c['dof']}, p = {pv}")
    if m:
        lines.append(f"- deep mean ({m['leading_term']}): {m['summary']}")
    return lines
