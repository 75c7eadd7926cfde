"""The step terms of a prediction block: full-batch GD's computed terms and online SGD's measurement
(docs/theory/7-random-terms.md, "Full-batch GD" and "Online SGD"; docs/validation.md, "Predictions").

:mod:`asymexp.validation.prediction` assembles the block; this module computes GD's per-width numbers
(:func:`gd_numbers`), names the added terms (:func:`gd_text`) and, for SGD, holds the GD block against the run
without a verdict, with and without the sampling noise's leading variance W_t / N (:func:`sgd_measurement`).
"""
from __future__ import annotations

import numpy as np


def gd_numbers(problem, rt, eps_all, widths, t: float, stages) -> dict:
    """Full-batch GD's step terms per width (E, P) (:mod:`asymexp.numeric.gd_terms`): the mean shift D^h - D and
    its error on the refined rule; V^h - V, c^h - c and their errors on the particle rule; and SGD's noise
    variance W_t (P,) with its error, from the refined rule's kernel ``rt.A`` (cheap; kept for SGD runs, which
    share GD's numbers)."""
    from asymexp.numeric.gd_terms import particle_steps, sgd_noise_variance, step_shift

    shift, shift_err = stages.run(f"GD: the Euler map of the nodes at {len(widths)} widths", step_shift, problem,
                                  rt, eps_all, widths, t)
    part = stages.run(f"GD: the step's variance and 1/N terms at {len(widths)} widths", particle_steps, problem,
                      eps_all, widths, t)
    w, w_err = sgd_noise_variance(rt.A, problem.y, problem.alpha, t)
    return {"gd_shift": shift.tolist(), "gd_shift_error": shift_err.tolist(),
            **{f"gd_{k}": v.tolist() for k, v in part.items()}, "gd_sgd_W": w.tolist(), "gd_sgd_W_error": w_err.tolist()}


def gd_text(out: dict) -> None:
    """Full-batch GD's step terms added to the terms and omitted lists of a block, in place."""
    out["terms"] = {"mean": out["terms"]["mean"] + ["D^h - D: the step's shift of the deterministic part (the Euler "
                                                    "map of the nodes, round(tN) steps of h = 1/N, minus their flow)"],
                    "var": out["terms"]["var"] + ["N^(1-2gamma) (V^h - V)(eps): the step's change of the linear "
                                                  "response's variance (particle rule)"]}
    out["omitted"] = {"mean": out["omitted"]["mean"] + " + |c^h - c|/N (the step's change of c, particle rule)",
                      "var": out["omitted"]["var"]}


def _largest(z: np.ndarray, holds: np.ndarray) -> tuple[float | None, float | None]:
    """max |z| over the cells GD's block judges, and over every cell (None where there are none)."""
    z = np.abs(z)
    return (float(np.nanmax(z[holds])) if holds.any() else None,
            float(np.nanmax(z)) if np.isfinite(z).any() else None)


def sgd_measurement(gd_block: dict, widths, rows: list[dict]) -> dict:
    """Online SGD's run held against full-batch GD's block, as a measurement (no verdict):
    {"against_gd": GD's mean, variance, residuals in SE units and their largest values (over the cells GD judges,
    and over all), and GD's step terms gd_shift, gd_dV (E, P) (so the run can be held against the flow too),
    "with_noise": the variance with SGD's leading noise term W_t / N added, its residuals and
    largest values, and W_t with its error}. rows: per width {"mean_se", "var", "var_se"} (P,)."""
    out = {k: gd_block[k] for k in ("mean", "var", "z_mean", "z_var", "holds_mean", "holds_var", "gd_shift",
                                    "gd_dV")}
    for what in ("mean", "var"):
        out[f"max_abs_z_{what}"], out[f"max_abs_z_{what}_all"] = _largest(np.array(gd_block[f"z_{what}"], dtype=float),
                                                                           np.array(gd_block[f"holds_{what}"]))
    w = np.asarray(gd_block["sgd_W"], dtype=float)
    var = [np.asarray(v, dtype=float) + w / int(n) for v, n in zip(gd_block["var"], widths)]
    z = np.array([(np.asarray(r["var"]) - v) / np.asarray(r["var_se"]) for r, v in zip(rows, var)])
    judged, every = _largest(z, np.array(gd_block["holds_var"]))
    noise = {"W": gd_block["sgd_W"], "W_error": gd_block["sgd_W_error"], "var": [v.tolist() for v in var],
             "z_var": z.tolist(), "max_abs_z_var": judged, "max_abs_z_var_all": every}
    return {"against_gd": out, "with_noise": noise}
