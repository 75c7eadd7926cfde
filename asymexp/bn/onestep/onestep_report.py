"""The Markdown report of ``asymexp one-step`` (report.md; docs/batchnorm.md, "One-step divergence and gradients
at initialization"): settings, explosion rates per norm, the first non-finite layers, the activation moments at
the last layer along the diverging step, the gradients at initialization, the fraction table and the verdicts. Every random
number is a mean over the seeds +- its standard error."""
from __future__ import annotations

import math
from collections import Counter


def _pm(m, se, digits: int = 4) -> str:
    if m is None:
        return "-"
    return f"{m:.{digits}g}" if se is None else f"{m:.{digits}g} +- {se:.2g}"


def _threshold_lines(doc) -> list[str]:
    s = doc["settings"]
    lines = ["## Explosion rate of one step", "",
             f"Smallest grid rate whose relative loss exceeds {s['explode']:g} or is not finite (grid: "
             f"{s['lr_points']} rates from {s['lr_min']:g} to {s['lr_max']:g}, "
             f"{(s['lr_points'] - 1) / _decades(s):.3g} per decade); geometric mean over the seeds that reached it, "
             "SE in log10.", "",
             "| norm | lr_explode | log10 lr_explode | seeds reached | decades above none |",
             "|---|---|---|---|---|"]
    for t in doc["thresholds"]:
        dec = _pm(t["decades_above_none"], t["decades_above_none_se"], 3)
        if t["decades_is_lower_bound"]:
            dec = f">= {dec}"
        lines.append(f"| {t['norm']} | {_pm(t['lr_explode'], None)} | "
                     f"{_pm(t['log10_lr_explode'], t['log10_lr_explode_se'], 3)} | {t['reached']}/{t['seeds']} | "
                     f"{dec} |")
    lines += ["", "First non-finite step per norm (a diverging run is an outcome, not an error):", ""]
    for norm in s["norms"]:
        divs = [r["divergence"] for r in doc["runs"] if r["norm"] == norm and r["divergence"]]
        if not divs:
            lines.append(f"- {norm}: every step of the grid stayed finite")
            continue
        where = Counter(str(d["layer"]) for d in divs)
        lr = min(d["lr"] for d in divs)
        lines.append(f"- {norm}: {len(divs)} of {s['seeds']} seeds went non-finite, the smallest at lr {lr:.3g}, "
                     "first in layer " + ", ".join(f"{k} ({v} seeds)" for k, v in where.most_common()))
    return lines


def _decades(s) -> float:
    return math.log10(s["lr_max"] / s["lr_min"])


def _heat_lines(doc) -> list[str]:
    heat = doc["heatmap"]
    lines = ["", "## Activation moments along the step", "",
             f"Rate {heat['lr']:.4g} ({heat['rule']}). log10 of the mean |channel mean| and mean channel "
             "variance before (fraction 0) and after (fraction 1) the step, first hidden layer, last hidden layer "
             "and output:", "",
             "| norm | quantity | layer 1, before | layer 1, after | layer H, before | layer H, after | output, "
             "after |", "|---|---|---|---|---|---|---|"]
    for key, label in (("mean_abs_channel_mean", "mean"), ("channel_variance", "variance")):
        for norm, g in heat[key].items():
            v, e = g["log10"], g["log10_se"]
            h = len(heat["columns"]) - 2
            cells = [_pm(v[0][0], e[0][0], 3), _pm(v[-1][0], e[-1][0], 3), _pm(v[0][h], e[0][h], 3),
                     _pm(v[-1][h], e[-1][h], 3), _pm(v[-1][h + 1], e[-1][h + 1], 3)]
            lines.append(f"| {norm} | {label} | " + " | ".join(cells) + " |")
    return lines


def _gradient_lines(doc) -> list[str]:
    lines = ["", "## Gradients at initialization", "",
             "Entries of dL/dW^l: RMS, excess kurtosis (0 for Gaussian entries) and the share of the squared "
             "gradient in its mean entry.", "",
             "| norm | layer | RMS | excess kurtosis | mean share |", "|---|---|---|---|---|"]
    for r in doc["gradients"]:
        lines.append(f"| {r['norm']} | {r['layer']} | {_pm(r['rms'], r['rms_se'], 3)} | "
                     f"{_pm(r['excess_kurtosis'], r['excess_kurtosis_se'], 3)} | "
                     f"{_pm(r['mean_share'], r['mean_share_se'], 2)} |")
    return lines


def _fraction_lines(doc) -> list[str]:
    lines = ["", "## Input-independent fraction of the output's gradient", "",
             "||mean_t grad f(t)||^2 / mean_t ||grad f(t)||^2 over all parameters; theory at this batch size "
             "(none), 0 by construction (mean-last), none (bn); z = (measured - theory) / SE.", "",
             "| activation | H | s_b^2 | norm | kappa2/kappa1 | measured | theory | z |", "|---|---|---|---|---|---|---|---|"]
    for r in doc["fraction"]:
        z = "-" if r["z"] is None else f"{r['z']:.2f}"
        lines.append(f"| {r['activation']} | {r['layers']} | {r['bias_var']:g} | {r['norm']} | "
                     f"{_pm(r['kappa_ratio'], None)} | {_pm(r['fraction'], r['fraction_se'])} | "
                     f"{_pm(r['theory'], None)} | {z} |")
    return lines


def _verdict_lines(doc) -> list[str]:
    from asymexp.stats.interval_verdicts import line

    lines = ["", "## Verdicts", "", f"**Verdict: {doc['verdict']}** ({doc['verdict_reason']})", ""]
    lines += [f"- {line(e)}" for e in doc["verdicts"]]
    return lines + [f"- {e['quantity']}: not judged ({e['why']})" for e in doc["not_judged"]]


def markdown(doc: dict) -> str:
    """The report as one Markdown string."""
    s = doc["settings"]
    head = ["# asymexp one-step", "",
            f"{s['activation']}, H = {s['layers']} hidden layers of width M = {s['width']}, mini-batch B = "
            f"{s['batch']}, C = {s['outputs']}, s_w^2 = {s['weight_var']:g}, norms {', '.join(s['norms'])}, "
            f"{s['seeds']} seeds from {s['seed']} (docs/batchnorm.md, \"One-step divergence and gradients at "
            "initialization\").", ""]
    body = _threshold_lines(doc) + _heat_lines(doc) + _gradient_lines(doc) + _fraction_lines(doc)
    if "verdicts" in doc:
        body += _verdict_lines(doc)
    figs = [f"- `{p}`" for p in doc.get("figures", []) if p.endswith(".png")]
    return "\n".join(head + body + (["", "## Figures", ""] + figs if figs else [])) + "\n"
