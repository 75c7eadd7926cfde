"""The text report of ``asymexp process`` (also its ``summary.md`` under ``--out``): the matrix test, the
covariance per width, the cumulant table and the verdicts (docs/validation.md, "The fluctuation process")."""
from __future__ import annotations

import os

import numpy as np


def _fmt(v, spec: str = ".3g") -> str:
    return "-" if v is None else format(v, spec)


def lines(doc: dict) -> list[str]:
    """The report as lines of Markdown (a table per part)."""
    test = doc["matrix_test"]
    name = os.path.basename(doc["problem"]) if doc["problem"] else "(a problem given as arrays)"
    out = [f"# The fluctuation process: {name}, gamma {doc['gamma']}", "",
           f"times {', '.join(f'{t:g}' for t in doc['times'])}; widths {', '.join(map(str, doc['widths']))}; "
           f"{doc['replicas']} independent replicas per width (seed {doc['seed']}); RK4 step {doc['flow_dt']:.4g}; "
           f"K = {len(doc['labels'])} (time, point) pairs", "",
           f"**Matrix test**: {test['verdict']}: {test['why']}.", "",
           "| width | eps | omitted O(1/N) | judged entries | max abs z | Hotelling T^2 | dof | p-value | "
           "omitted's T^2 bound |", "|---|---|---|---|---|---|---|---|---|"]
    upper = np.triu_indices(len(doc["labels"]))
    for w, n in enumerate(doc["widths"]):
        z = np.asarray(test["z"][w])[upper]
        judged = np.asarray(test["judged"][w])[upper]
        c2 = test["chi2"][w]
        worst = float(np.max(np.abs(z[judged]))) if judged.any() else None
        out.append(f"| {n} | {doc['eps'][w]:.4f} | {doc['omitted'][w]:.2e} | {int(judged.sum())} | {_fmt(worst, '.2f')} "
                   f"| {_fmt(c2['chi2'], '.1f')} | {c2['dof']} | {_fmt(c2['p_value'], '.3g')} | "
                   f"{_fmt(c2['bias_bound'], '.3g')}{'' if c2['judged'] else ' (not judged)'} |")
    out += ["", "Diagonal (V_t(eps) per point) and the largest-width entries, scaled covariance "
            "N^(2 gamma - 1) Cov g:", "", "| t | point | limit C | predicted C_eps (largest width) | simulated | SE | z |",
            "|---|---|---|---|---|---|---|"]
    lim = np.asarray(doc["limit"])
    pred, sim = np.asarray(doc["predicted"][-1]), np.asarray(doc["simulated"][-1])
    se, z = np.asarray(doc["simulated_se"][-1]), np.asarray(test["z"][-1])
    for i, (t, p) in enumerate(doc["labels"]):
        out.append(f"| {t:g} | {p} | {lim[i, i]:.5f} | {pred[i, i]:.5f} | {sim[i, i]:.5f} | {se[i, i]:.1e} | "
                   f"{z[i, i]:+.2f} |")
    k = len(doc["labels"]) // len(doc["times"])
    if len(doc["times"]) > 1:
        out += ["", "Cross-time entries C[(t_0, p), (t_last, p)] at the largest width:", "",
                "| point | limit | predicted | simulated | SE | z |", "|---|---|---|---|---|---|"]
        last = (len(doc["times"]) - 1) * k
        for p in range(k):
            i, j = p, last + p
            out.append(f"| {p} | {lim[i, j]:.5f} | {pred[i, j]:.5f} | {sim[i, j]:.5f} | {se[i, j]:.1e} | "
                       f"{z[i, j]:+.2f} |")
    out += ["", "Standardized cumulants of g (k3 / k2^1.5, k4 / k2^2) +- SE:", "",
            "| width | t | point | skew | SE | kurt | SE |", "|---|---|---|---|---|---|---|"]
    cum = {key: np.asarray(v) for key, v in doc["cumulants"].items()}
    for w, n in enumerate(doc["widths"]):
        for a, t in enumerate(doc["times"]):
            for p in range(k):
                out.append(f"| {n} | {t:g} | {p} | {cum['skew'][w, a, p]:+.4f} | {cum['skew_se'][w, a, p]:.4f} | "
                           f"{cum['kurt'][w, a, p]:+.4f} | {cum['kurt_se'][w, a, p]:.4f} |")
    out += ["", f"Exponent fits (|value| ~ N^b over the widths with |value| > 2 SE; interval: family-wise, "
            f"z = {doc['fit_family_z']:.2f}):", "", "| quantity | t | point | resolved widths | b | b SE | predicted |",
            "|---|---|---|---|---|---|---|"]
    for q in ("skew", "kurt"):
        for row in doc["cumulant_fits"][q]:
            out.append(f"| {q} | {row['time']:g} | {row['point']} | {row['resolved']} | {_fmt(row['b'], '.3f')} | "
                       f"{_fmt(row['b_se'], '.3f')} | {_fmt(row['predicted'], 'g') if row['predicted'] is not None else '0 at every N'} |")
    out += ["", "Verdicts:", ""]
    for e in doc["verdicts"]:
        settle = f"; settle: {e['settle']}" if e.get("settle") else ""
        out.append(f"- {e['quantity']}: **{e['verdict']}** ({e['why']}{settle})")
    out += ["", f"**Verdict: {doc['verdict']}** ({doc['verdict_reason']})"]
    return out
