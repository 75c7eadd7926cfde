"""The fourth cumulant of g^N_0 against simulation (docs/theory/8-initial-cumulants.md, "Simulation check").

R independent networks (no antithetic pairs: a pair's outputs g and -g share every even moment) are drawn at t = 0
by the simulator (:func:`asymexp.sim.simulate`, zero steps), the k-statistic k4 of their outputs at each evaluation
point is taken with its delta-method SE (:func:`asymexp.stats.cumulants.fourth_cumulant`), and
z = (k4 - kappa_4) / sqrt(SE^2 + err^2) with kappa_4 and its error estimate err from
:func:`asymexp.numeric.initial_cumulants.initial_cumulant4`. A cell holds when |z| <= Z_LIMIT.
"""
from __future__ import annotations

import numpy as np

#: |z| bound of one cell: two-sided 4.7e-4 under a Gaussian z (about 1% over 20 cells), as in docs/validation.md.
Z_LIMIT = 3.5


def cumulant4_check(problem, gammas, widths, replicas: int, seed: int, chunk: int = 4096) -> dict:
    """Theory against simulation for the network ``problem.spec(gammas, widths)`` at the problem's points.

    Returns a dict: ``theory``, ``theory_error``, ``k4``, ``se``, ``z`` (P,) lists, ``variance`` (the simulated
    Var g, (P,)), ``holds`` (every |z| <= Z_LIMIT), and the run's parameters.
    """
    from asymexp.numeric.initial_cumulants import initial_cumulant4
    from asymexp.sim import simulate
    from asymexp.stats.cumulants import fourth_cumulant

    spec = problem.spec(list(gammas), list(widths))
    th = initial_cumulant4(spec, problem.points)
    res = simulate(spec, problem.x, problem.y, problem.points, np.array([0.0]), replicas=replicas, seed=seed,
                   dynamics="gd", antithetic=False, chunk=chunk)
    k4, se = fourth_cumulant(res.g0)
    z = (k4 - th.cumulant4) / np.sqrt(se ** 2 + th.error ** 2)
    return {"activation": spec.activation, "gammas": [str(g) for g in spec.gammas], "widths": list(spec.widths),
            "replicas": int(replicas), "seed": int(seed), "theory": th.cumulant4.tolist(),
            "theory_error": th.error.tolist(), "leading": (th.leading * spec.widths[-1] ** (2.0 - 4.0 * float(
                spec.gammas[-1]))).tolist(), "k4": k4.tolist(), "se": se.tolist(), "z": z.tolist(),
            "variance": res.g0.var(axis=0, ddof=1).tolist(), "z_limit": Z_LIMIT,
            "holds": bool(np.all(np.abs(z) <= Z_LIMIT))}
