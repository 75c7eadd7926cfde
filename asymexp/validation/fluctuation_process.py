"""The fluctuation as a process (one hidden layer, gradient flow): its covariance across evaluation points and
times against simulation, and its Gaussianity at t >= 0 (docs/validation.md, "The fluctuation process";
docs/theory/7-random-terms.md, "The fluctuation as a process").

For each width N, R independent networks (no antithetic pairs: a pair (C, W), (-C, W) makes the law of g
symmetric by construction) are trained by :func:`asymexp.sim.simulate` and g^N_t recorded at every time and point.
The scaled fluctuation xi = N^{gamma - 1/2} (g - mean g), a vector over the K = T P (time, point) pairs, gives

- the sample covariance with per-entry SEs (:func:`asymexp.stats.process_moments.covariance_estimate`), held
  against C_eps = C + eps^2 B + ... at the width's eps = N^{gamma - 1}
  (:func:`asymexp.numeric.process_covariance.finite_eps_covariance`, with its error estimate err). The first
  omitted term is O(1/N) (B^N / N on the diagonal, docs/theory/7-random-terms.md); its coefficient is taken as
  large as the largest known one, max(max |C|, B), so omitted = that / N. An entry (i <= j) is judged where
  omitted < SE; z = (simulated - C_eps) / sqrt(SE^2 + err^2), and the matrix test is max |z| over the judged
  entries of all widths against :func:`asymexp.validation.prediction.bonferroni_limit`. Per width Hotelling's T^2
  of the whitened differences over the judged entries (their error covariance estimated from the same draws) is
  given with its F p-value, and judged only where the omitted term cannot shift it by more than 1 (its bound);
- the standardized cumulants k3 / k2^{3/2}, k4 / k2^2 of g at each (time, point) with SEs
  (:func:`asymexp.stats.process_moments.standardized_cumulants`), their width exponents and verdicts
  (:mod:`asymexp.validation.process_cumulants`).
"""
from __future__ import annotations

import numpy as np

from asymexp import budget
from asymexp.errors import SpecError


def estimate(problem, times, widths, replicas: int, chunk: int, flow_dt: float) -> budget.Estimate:
    """Memory and work of :func:`process_check`: the simulations (:func:`asymexp.budget.simulation`, every width)
    plus the per-replica products of the covariance estimate (K^2 numbers each) and the linear responses
    (:func:`asymexp.budget.prediction` on the shift's rules)."""
    from asymexp.numeric.process_covariance import SHIFT_KAPPA
    from asymexp.numeric.quadrature import c_rule
    from asymexp.numeric.trapezoid_rule import w_node_count

    t_max = float(max(times))
    k = len(times) * problem.points.shape[0]
    steps = budget.flow_steps(t_max, flow_dt)
    total = budget.Estimate("asymexp process", 0.0, 0.0)
    for n in widths:
        sim = budget.simulation([n], replicas, chunk, steps, problem.n_train, problem.points.shape[0], problem.dim,
                                evaluations=4, what="")
        total = budget.Estimate(total.what, max(total.bytes, sim.bytes), total.flops + sim.flops)
    nodes = w_node_count(problem.activation, problem.w_law, problem.points, SHIFT_KAPPA) * len(c_rule(problem.c_law)[0])
    resp = budget.prediction(nodes, problem.n_train, problem.points.shape[0], problem.dim, len(widths) + 1, t_max)
    moments = 8.0 * replicas * k * k * 4
    return budget.Estimate(f"asymexp process ({len(widths)} widths x {replicas} replicas to t = {t_max:g})",
                           max(total.bytes, resp.bytes, moments), total.flops + resp.flops + 10.0 * replicas * k ** 4)


def check_inputs(problem, gamma, times, widths, replicas: int) -> None:
    """One SpecError line for what :func:`process_check` cannot do."""
    from asymexp.numeric.random_terms import check_problem

    check_problem(problem)
    if not 0.5 <= float(gamma) < 1:
        raise SpecError(f"gamma {gamma}: 1/2 <= gamma < 1 is required (the finite-eps covariance is an expansion in "
                        "eps = N^(gamma - 1); gamma = 1 has no small eps)")
    if sorted(set(times)) != list(times):
        raise SpecError(f"--times {','.join(f'{t:g}' for t in times)}: distinct increasing times >= 0 are required")
    if len(widths) < 2:
        raise SpecError(f"--widths {','.join(map(str, widths))}: at least two widths are required (the cumulants' "
                        "exponents)")
    if replicas < 16:
        raise SpecError(f"--replicas {replicas}: at least 16 independent replicas are required")


def _hotelling(width: int, r: np.ndarray, sig: np.ndarray, replicas: int, omitted: float) -> dict:
    """The whitened sum of squares T^2 = r^T sig^-1 r of k judged entries (Hotelling's T^2: sig is estimated from
    the same R draws), its p-value from T^2 (R - k) / (k (R - 1)) ~ F(k, R - k), and a bound on the shift of T^2
    that an omitted term of size ``omitted`` in every entry can cause, max over |b_i| <= omitted of
    b^T sig^-1 b <= omitted^2 sum_ij |sig^-1_ij|. Whitening weighs the directions of smallest SE, so an omitted
    term below every entry's SE can still move T^2; the T^2 is ``judged`` only where that bound is at most 1."""
    k = int(r.size)
    if k == 0 or replicas <= k:
        return {"width": width, "chi2": None, "dof": k, "p_value": None, "bias_bound": None, "judged": False}
    from scipy.stats import f as f_law

    inverse = np.linalg.inv(sig)
    t2 = float(r @ inverse @ r)
    bound = float(omitted ** 2 * np.sum(np.abs(inverse)))
    return {"width": width, "chi2": t2, "dof": k,
            "p_value": float(f_law.sf(t2 * (replicas - k) / (k * (replicas - 1)), k, replicas - k)),
            "bias_bound": bound, "judged": bound <= 1.0}


def _matrix_test(widths, sims, cov, omitted) -> dict:
    """z per width and entry, the judged entries, max |z| against the Bonferroni limit, chi2 per width."""
    from asymexp.validation.prediction import bonferroni_limit

    K = sims[0]["cov"].shape[0]
    upper = np.triu_indices(K)
    z_all, judged_all, chi2 = [], [], []
    for w, (n, s) in enumerate(zip(widths, sims)):
        pred, err = cov["value"][w].reshape(K, K), cov["error"][w].reshape(K, K)
        z = (s["cov"] - pred) / np.sqrt(s["se"] ** 2 + err ** 2)
        judged = omitted[w] < s["se"]
        z_all.append(z)
        judged_all.append(judged)
        pick = judged[upper]
        r = (s["cov"] - pred)[upper][pick]
        sig = s["entry_cov"][upper[0][:, None], upper[1][:, None], upper[0][None, :], upper[1][None, :]][pick][:, pick]
        sig = sig + np.diag(err[upper][pick] ** 2)
        chi2.append(_hotelling(n, r, sig, s["replicas"], omitted[w]))
    z_up = np.array([z[upper] for z in z_all])
    j_up = np.array([j[upper] for j in judged_all])
    n = int(j_up.sum())
    limit = bonferroni_limit(n)
    worst = float(np.max(np.abs(z_up[j_up]))) if n else None
    if n == 0:
        verdict, why = "undetermined", ("at no width is the omitted O(1/N) term below the SE of an entry; larger "
                                        "widths (or more replicas only where it is smaller still) would settle it")
    else:
        verdict = "agree" if worst <= limit else "disagree"
        why = (f"max |z| {worst:.2f} over {n} judged entries (i <= j) of {len(widths)} widths; family-wise 5% "
               f"limit {limit:.2f}")
    return {"z": [z.tolist() for z in z_all], "judged": [j.tolist() for j in judged_all], "n_judged": n,
            "max_abs_z": worst, "limit": limit, "verdict": verdict, "why": why, "chi2": chi2}


def prepare(problem, gamma, times, widths, replicas: int, chunk: int, flow_dt=None, long_run_ok: bool = False):
    """The checks and the price of :func:`process_check` before any work: (frozen kernel, RK4 step, whether the
    default rule chose it); a refusal is one line (:func:`check_inputs`, :func:`asymexp.budget.check`)."""
    from asymexp.numeric.problem_kernel import frozen_kernel
    from asymexp.validation import flow_step

    check_inputs(problem, gamma, times, widths, replicas)
    fk = frozen_kernel(problem)
    flow_dt, chosen = flow_step.resolve(problem, max(times), flow_dt, A=fk.A)
    budget.check(estimate(problem, times, widths, replicas, chunk, flow_dt), long_run_ok, prog="asymexp process")
    return fk, flow_dt, chosen


def process_check(problem, gamma, times, widths, replicas: int, seed: int = 0, chunk: int = 1024, flow_dt=None,
                  long_run_ok: bool = False, progress=None, prepared=None) -> dict:
    """The document of ``asymexp process`` (docs/interfaces.md, "asymexp process").

    Args:
        problem: a one-hidden-layer Problem with a symmetric law of c and a normal law of w; gamma: in [1/2, 1);
        times: increasing (T,) times >= 0; widths: increasing, at least two; replicas: independent networks per
        width; flow_dt: the RK4 step (default :func:`asymexp.validation.flow_step.choose_step` at the last time);
        progress: a callable of one line, or None; prepared: what :func:`prepare` returned (else it runs here).
    Returns:
        a JSON-able dict: the labels of the K = T P (time, point) pairs, the limit covariance C (K, K) with its
        error, per width the predicted C_eps, its error and the omitted-term size, the simulated covariance, its SEs
        and z, the matrix test, the cumulant table (W, T, P) and its fits and verdicts.
    """
    from asymexp.numeric.process_covariance import finite_eps_covariance
    from asymexp.sim import simulate
    from asymexp.stats.interval_verdicts import summary
    from asymexp.stats.process_moments import covariance_estimate, standardized_cumulants
    from asymexp.validation.process_cumulants import judge_cumulants

    say = progress or (lambda line: None)
    times, widths = [float(t) for t in times], [int(n) for n in widths]
    fk, flow_dt, chosen = prepared or prepare(problem, gamma, times, widths, replicas, chunk, flow_dt, long_run_ok)
    g = float(gamma)
    T, P = len(times), problem.points.shape[0]
    K = T * P
    eps = [float(n) ** (g - 1.0) for n in widths]
    say(f"asymexp process: the covariance C_eps at {len(eps)} eps (linear responses)")
    cov = finite_eps_covariance(problem, fk, eps, times)
    coef = max(float(np.max(np.abs(cov["limit"]))), cov["B"])
    omitted = [coef / n for n in widths]
    sims, table = [], {k: [] for k in ("skew", "skew_se", "kurt", "kurt_se")}
    for n in widths:
        say(f"asymexp process: simulating {replicas} networks of width {n}")
        res = simulate(problem.spec([gamma], [n]), problem.x, problem.y, problem.points, np.array(times),
                       replicas=replicas, seed=seed, dynamics="flow", antithetic=False, flow_dt=flow_dt, chunk=chunk)
        g_tp = res.outputs.reshape(replicas, K)
        sims.append({**covariance_estimate(float(n) ** (g - 0.5) * g_tp), "replicas": replicas})
        for key, value in standardized_cumulants(g_tp).items():
            table[key].append(value.reshape(T, P))
    test = _matrix_test(widths, sims, cov, omitted)
    cumulants = judge_cumulants(problem, g, times, widths, replicas, table)
    labels = [[t, p] for t in times for p in range(P)]
    doc = {"problem": problem.path, "activation": problem.activation, "gamma": str(gamma), "times": times,
           "widths": widths, "replicas": int(replicas), "seed": int(seed), "antithetic": False,
           "flow_dt": flow_dt, "flow_dt_chosen": chosen, "points": problem.points.tolist(), "labels": labels,
           "limit": cov["limit"].reshape(K, K).tolist(), "limit_error": cov["limit_error"].reshape(K, K).tolist(),
           "eps": eps, "predicted": [v.reshape(K, K).tolist() for v in cov["value"]],
           "predicted_error": [v.reshape(K, K).tolist() for v in cov["error"]], "B_size": cov["B"],
           "omitted": omitted, "omitted_coefficient": coef,
           "simulated": [s["cov"].tolist() for s in sims], "simulated_se": [s["se"].tolist() for s in sims],
           "matrix_test": test, "cumulants": {k: np.array(v).tolist() for k, v in table.items()},
           "cumulant_fits": cumulants["fits"], "fit_family_z": cumulants["fit_family_z"]}
    doc["verdicts"] = [{"quantity": "covariance matrix (max |z| over judged entries)", "measured": test["max_abs_z"],
                        "predicted": 0.0, "judged": [-test["limit"], test["limit"]], "verdict": test["verdict"],
                        "why": test["why"]}] + cumulants["entries"]
    doc.update(summary(doc["verdicts"]))
    return doc
