"""Deep networks (L >= 2, docs/theory/4-deep-networks.md): the variance exponent in N = N_L (equal widths, or a width
path
N_l = c_l N^{b_l}), the sensitivity of the variance to each gamma_l at a fixed width (does the outer layer
dominate?), and degenerate limits.

The variance at t = 0 uses the exact conditional variance given the inner weights (Rao-Blackwell:
Var(g_0 | W^1..W^L) = N_L^{-2 gamma_L} Var(C) sum_i H^{L,i}(x)^2 for mean-zero C); at t > 0 antithetic pairs.
The predicted exponent comes from the symbolic layer (:func:`asymexp.symbolic.collapse.variance_exponent`), or, if
that is unavailable, from the rule of section 4 computed here (and the report says which).

Where the outer layer dominates, the variance constant b0 = lim Var g N_L^{2 gamma_L - 1} / V_t is fitted and
judged against 1, and the deep mean E g_t - h_t is reported with its SE and fitted decay; h_t and V_t come from
the sequential-limit deep frozen kernel (:mod:`asymexp.validation.deep_constants`; docs/validation.md, "Deep
constants"). At t = 0 the parameter-free finite-width mean and variance at every width are held against the
estimates in the ``prediction`` block (:mod:`asymexp.validation.deep_prediction`).
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from asymexp import budget
from asymexp.activations import get as get_activation
from asymexp.errors import AsymexpError
from asymexp.spec import parse_gammas
from asymexp.stats import estimators as est
from asymexp.stats import fits
from asymexp.validation.deep_prediction import predict_deep
from asymexp.validation.deep_terms import deep_correction_terms, degenerate_flags, predicted_exponent
from asymexp.validation.tasks import chunk_tasks, execute, group_results, run_estimate

EXPONENT_TARGET = 0.05
DEFAULT_GRID = (Fraction(1, 2), Fraction(5, 8), Fraction(3, 4), Fraction(7, 8), Fraction(1))


def parse_width_path(text: str | None, depth: int) -> list[tuple[Fraction, Fraction]] | None:
    """``"c_1:b_1,...,c_L:b_L"`` -> [(c_l, b_l)]: layer l has N_l = c_l N^{b_l} units (docs/theory/4-deep-networks.md,
    width paths). The outer layer must be ``1:1`` so that N is N_L. None or "" -> None (equal widths)."""
    if not text:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != depth:
        raise AsymexpError(f"--width-path {text!r} has {len(parts)} entries but the depth is {depth}")
    path = []
    for part in parts:
        try:
            c, b = (Fraction(v.strip()) for v in part.split(":"))
        except (ValueError, ZeroDivisionError):
            raise AsymexpError(f"--width-path entry {part!r} is not c:beta (e.g. 2:1/2)") from None
        if c <= 0 or b <= 0:
            raise AsymexpError(f"--width-path entry {part!r}: c > 0 and beta > 0 are required")
        path.append((c, b))
    if path[-1] != (1, 1):
        raise AsymexpError(f"--width-path {text!r}: the outer layer must be 1:1 (N is N_L), got "
                           f"{parts[-1]!r}")
    return path


def layer_widths(n: int, path, depth: int) -> list[int]:
    """[N_1, ..., N_L] at outer width n: equal widths without a path, else c_l n^{b_l}, which must be an integer."""
    if path is None:
        return [int(n)] * depth
    out = []
    for l, (c, b) in enumerate(path, 1):
        exact = float(c) * float(n) ** float(b)
        if exact < 1 or abs(exact - round(exact)) > 1e-9 * exact:
            raise AsymexpError(f"width {n}: the width path gives N_{l} = {c}*{n}^{b} = {exact:.6g}, not an integer "
                               ">= 1; choose widths on which every layer width is exact (e.g. powers of 4 for b = 1/2), "
                               "since rounding would move the variance off the path's power law")
        out.append(int(round(exact)))
    return out


def deep_propagator(problem, gammas, widths: list[int], t: float) -> np.ndarray:
    """L_t (P, P) of :func:`asymexp.numeric.frozen.propagator` with A the frozen limit kernel of the deep net
    (docs/theory/4-deep-networks.md) at layer widths ``widths`` (collapse factors at those widths)."""
    from asymexp.numeric import deep_frozen_kernel, propagator

    spec = problem.spec(list(gammas), list(widths))
    A = deep_frozen_kernel(spec, problem.points).A
    return propagator(A, problem.n_train, problem.alpha, t)


def deep_flow_step(problem, nets, t: float, flow_dt=None) -> dict:
    """The RK4 step of deep gradient flow to time t (docs/validation.md, "Flow step"): ``flow_dt`` when given,
    else the smallest of :func:`asymexp.validation.flow_step.spec_step` over ``nets`` [(gammas, layer widths)],
    the networks the run trains (each with its own frozen kernel: the collapse factors depend on the widths).
    Returns the step document of the network that needs the smallest step, with ``chosen_by``."""
    from asymexp.validation.flow_step import spec_step

    if flow_dt is not None:
        return {"flow_dt": float(flow_dt), "chosen_by": "given by --flow-dt"}
    if not t > 0:
        return {"flow_dt": None, "chosen_by": "no step: t = 0"}
    steps = [spec_step(problem.spec(list(gs), list(ws)), problem.x, t, problem.alpha) for gs, ws in nets]
    return dict(min(steps, key=lambda s: s["flow_dt"]), chosen_by="default rule")


def _variance(data, widths: list[int], gammas, c_var, t, antithetic, problem=None):
    width = widths[-1]
    if t == 0:
        return est.rao_blackwell_t0(data["hidden_sq"], width, float(gammas[-1]), c_var, antithetic)
    if antithetic and problem is not None and "hidden_gram" in data and problem.c_law.is_symmetric:
        P = data["g0"].shape[1]
        L = deep_propagator(problem, gammas, widths, t)
        gram = data["hidden_gram"].reshape(-1, P, P)
        second = float(width) ** (-2.0 * float(gammas[-1])) * c_var * np.einsum("xi,rij,xj->rx", L, gram, L)
        return est.variance_estimate(data["gt"], True, data["g0"] @ L.T, second)
    return est.variance_estimate(data["gt"], antithetic)


def validate_deep(problem, gammas, widths, replicas: int, t: float = 0.0, seed: int = 0, dynamics: str = "gd",
                  antithetic: bool = True, chunk: int = 128, out=None, workers=None, scheduler=None,
                  progress=True, sensitivity_width: int | None = 128, sensitivity_grid=DEFAULT_GRID,
                  sensitivity_replicas: int | None = None, width_path=None, long_run_ok: bool = False,
                  flow_dt=None) -> dict:
    """Deep validation document: exponent fit in N = N_L (equal widths, or ``width_path`` [(c_l, b_l)] from
    :func:`parse_width_path`), the variance constant (``var_ratio``), the deep mean (``mean_residual``) with the
    limit theory (``theory``; :mod:`asymexp.validation.deep_constants`), and the per-gamma_l sensitivity table at
    equal widths (docs/interfaces.md, "asymexp validate"). Memory and work are estimated first
    (:func:`asymexp.budget.check`; more than a day's work only with ``long_run_ok``). With ``dynamics="flow"``
    the RK4 step is ``flow_dt`` or, by default, :func:`deep_flow_step` (stated in ``flow_step``)."""
    gammas = list(parse_gammas(gammas, numeric=True))
    L = len(gammas)
    if isinstance(width_path, str):
        width_path = parse_width_path(width_path, L)
    paths = {int(n): layer_widths(n, width_path, L) for n in widths}
    c_var = float(problem.c_law.moment(2)) - float(problem.c_law.moment(1)) ** 2
    jobs = [(paths[int(n)], replicas) for n in widths]
    sens_cells = []
    if sensitivity_width:
        jobs += [([sensitivity_width] * L, sensitivity_replicas or replicas)] * (L * len(sensitivity_grid))
        for l in range(L):
            for g in sensitivity_grid:
                gs = list(gammas)
                gs[l] = parse_gammas([g])[0]
                sens_cells.append((l, gs[l], gs))
    step = None
    if dynamics == "flow":
        nets = [(gammas, paths[int(n)]) for n in widths] + [(gs, [sensitivity_width] * L) for _, _, gs in sens_cells]
        step = deep_flow_step(problem, nets, t, flow_dt)
        flow_dt = step["flow_dt"]
    from asymexp.validation.deep_training_prediction import estimate as prediction_estimate
    from asymexp.validation.shallow_validation import with_prediction

    budget.check(with_prediction(run_estimate(problem, jobs, t, dynamics, flow_dt, chunk, f"deep validate (L = {L})"),
                                 prediction_estimate(problem, gammas, [paths[int(n)] for n in widths], t, dynamics)),
                 long_run_ok)
    tasks = chunk_tasks(problem, gammas, [paths[int(n)] for n in widths], replicas, t, seed, dynamics, antithetic,
                        flow_dt, chunk)
    if sensitivity_width:
        seen = {tuple(str(g) for g in gammas) + tuple([str(sensitivity_width)] * L)}
        for _, _, gs in sens_cells:
            sig = tuple(str(g) for g in gs) + tuple([str(sensitivity_width)] * L)
            if sig in seen:
                continue
            seen.add(sig)
            tasks += chunk_tasks(problem, gs, [[sensitivity_width] * L], sensitivity_replicas or replicas, t, seed,
                                 dynamics, antithetic, flow_dt, chunk)
        tasks += chunk_tasks(problem, gammas, [[sensitivity_width] * L], sensitivity_replicas or replicas, t, seed,
                             dynamics, antithetic, flow_dt, chunk) \
            if [sensitivity_width] * L not in paths.values() else []
    results = execute(tasks, out, workers, scheduler, progress)
    grouped = group_results(tasks, results)
    gkey = tuple(str(g) for g in gammas)
    rows, means = [], []
    for n in widths:
        data = grouped[(gkey, tuple(paths[int(n)]))]
        var = _variance(data, paths[int(n)], gammas, c_var, t, antithetic, problem)
        mean = est.mean_estimate(data["gt"], antithetic)
        means.append(mean)
        tot, se = var.total()
        rows.append({"mean": mean.value.tolist(), "mean_se": mean.se.tolist(), "var": var.value.tolist(),
                     "var_se": var.se.tolist(), "var_total": tot, "var_total_se": se,
                     "replicas": int(data["gt"].shape[0])})
    predicted, source = predicted_exponent(gammas, problem.activation, width_path)
    N = np.array(widths, dtype=float)
    tot = np.array([r["var_total"] for r in rows])
    tot_se = np.array([r["var_total_se"] for r in rows])
    doc = {"problem": problem.path, "depth": L, "gammas": [str(g) for g in gammas], "time": t,
           "dynamics": dynamics, "flow_dt": flow_dt, "flow_step": step, "activation": problem.activation,
           "widths": [int(n) for n in widths],
           "width_path": None if width_path is None else [f"{c}:{b}" for c, b in width_path],
           "layer_widths": [paths[int(n)] for n in widths],
           "estimator": "Rao-Blackwell (exact conditional variance given inner weights)" if t == 0 else
           ("antithetic pairs + control variate L_t g_0 (frozen limit kernel, asymexp.numeric.deep_frozen_kernel) "
            "with its conditional second moment given the inner weights" if antithetic else "plain"),
           "replicas": [r["replicas"] for r in rows],
           "mean": [r["mean"] for r in rows], "mean_se": [r["mean_se"] for r in rows],
           "var": [r["var"] for r in rows], "var_se": [r["var_se"] for r in rows],
           "var_total": tot.tolist(), "var_total_se": tot_se.tolist(),
           "degenerate": degenerate_flags(gammas, problem.activation), "prediction_source": source}
    notes = []
    if get_activation(problem.activation).collapse == "linear" and t > 0 and predicted < -1:
        notes.append(f"{problem.activation} with an exponent below -1 at t > 0: an N^-1 training-noise term mixes in "
                     "(docs/theory/4-deep-networks.md), so the leading exponent seen at these widths can be -1")
    doc["notes"] = notes
    if len(widths) >= 2:
        raw = fits.raw_slope(N, tot, tot_se)
        terms = deep_correction_terms(gammas, problem.activation, t, width_path)
        cands = fits.exponent_candidates(N, tot, tot_se, terms, float(predicted))
        slope, why = fits.judge(cands)
        need = doc["widths_needed"] = fits.widths_needed(terms, len(widths))
        doc["model_selection"] = {"rule": "as for one hidden layer (asymexp.stats.fits): acceptable if chi2 "
                                          f"p >= {fits.P_FIT}; judged interval = union over acceptable models",
                                  "corrections": [name for _, name in terms], "widths_needed": need,
                                  "exponent": {"reason": why, "candidates": cands}}
        if not need["enough"]:
            doc["var_slope"] = {"fit": None, "ci95": None, "ci95_models": None, "model": "none judged (too few "
                                "widths)", "raw": raw["slope"], "raw_ci95": raw["ci95"],
                                "predicted_exact": str(predicted)}
            doc["verdict"] = "undetermined"
            doc["verdict_reason"] = (f"{len(widths)} widths are too few to judge: {need['reason']}. Run at least "
                                     f"{need['minimum']} widths ({need['all_candidates']} to fit every predicted "
                                     "order); the raw slope is reported, never judged alone")
        elif slope is None:
            doc["var_slope"], doc["verdict"] = None, "undetermined"
            doc["verdict_reason"] = "no predicted model describes the data: " + why
        else:
            slope.update(raw=raw["slope"], raw_ci95=raw["ci95"], predicted_exact=str(predicted))
            doc["var_slope"] = slope
            ci = slope["ci95_models"]
            inside = ci[0] <= float(predicted) <= ci[1]
            raw_inside = raw["ci95"][0] <= float(predicted) <= raw["ci95"][1]
            half = (ci[1] - ci[0]) / 2
            text = (f"exponent {slope['fit']:.4f} ({slope['model']}), judged interval [{ci[0]:.4f}, {ci[1]:.4f}] "
                    f"(acceptable models), raw slope {raw['slope']:.4f} CI [{raw['ci95'][0]:.4f}, "
                    f"{raw['ci95'][1]:.4f}], predicted {predicted}")
            if not inside:
                doc["verdict"] = "disagree"
            elif half > EXPONENT_TARGET:
                doc["verdict"] = "undetermined"
                text += f"; the interval is wide (half-width {half:.3f} > {EXPONENT_TARGET})"
            else:
                doc["verdict"] = "agree"
            if inside != raw_inside:
                text += "; the raw slope alone would " + ("exclude" if inside else "contain") + " the prediction"
            doc["verdict_reason"] = text
    else:
        doc["var_slope"], doc["verdict"], doc["verdict_reason"] = None, "undetermined", "one width: nothing to fit"
    from asymexp.validation.deep_constants import constant_check, deep_mean_check, limit_theory

    lt = limit_theory(problem, gammas, t)
    doc["theory"] = {"h": lt["h"].tolist(), "V": lt["V"].tolist(), "h_error": lt["h_error"].tolist(),
                     "V_error": lt["V_error"].tolist(), "regime": lt["regime"], "note": lt["note"]}
    doc["var_ratio"] = constant_check(widths, [paths[int(n)][-1] for n in widths], tot, tot_se, gammas,
                                      problem.activation, t, width_path, predicted, lt, doc["replicas"])
    doc["mean_residual"] = deep_mean_check(widths, means, lt, t, antithetic, gammas[-1])
    doc["prediction"] = predict_deep(problem, gammas, [paths[int(n)] for n in widths], t, rows, dynamics, progress)
    if sensitivity_width:
        doc["sensitivity"] = sensitivity_table(grouped, gammas, sensitivity_width, sens_cells, c_var, t, antithetic,
                                               problem)
    return doc


def sensitivity_table(grouped, gammas, width, cells, c_var, t, antithetic, problem=None) -> dict:
    """Var (trace over points) at width N for gamma_l varied over a grid, the others fixed at ``gammas``."""
    L = len(gammas)
    grid = sorted({g for _, g, _ in cells})
    base = _variance(grouped[(tuple(str(g) for g in gammas), tuple([width] * L))], [width] * L, gammas, c_var, t,
                     antithetic, problem).total()
    table, table_se, spread = [], [], []
    for l in range(L):
        row, row_se = [], []
        for g in grid:
            gs = list(gammas)
            gs[l] = g
            v, se = _variance(grouped[(tuple(str(x) for x in gs), tuple([width] * L))], [width] * L, gs, c_var, t,
                              antithetic, problem).total()
            row.append(v)
            row_se.append(se)
        table.append(row)
        table_se.append(row_se)
        spread.append(max(row) / min(row))
    order = np.argsort(spread)[::-1]
    outer = int(order[0]) == L - 1
    text = ", ".join(f"gamma_{l + 1} moves Var {spread[l]:.3g}x" for l in range(L))
    return {"width": width, "grid": [str(g) for g in grid], "layers": [f"gamma_{l + 1}" for l in range(L)],
            "var": table, "var_se": table_se, "base": {"gammas": [str(g) for g in gammas], "var": base[0],
                                                        "se": base[1]},
            "spread": spread, "outer_dominates": bool(outer and (L == 1 or spread[L - 1] >= 2 * sorted(spread)[-2])),
            "summary": text}

