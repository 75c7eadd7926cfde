"""The t = 0 terms of the theory, one implementation for ``asymexp theory --json`` and the verb
``asymexp.theory`` (docs/interfaces.md, "asymexp theory"; docs/theory/8-initial-cumulants.md): the limit covariance
S of g at t = 0 (``cov``) and, at given widths, the fourth cumulant kappa_4(g^N_0) at each point (``cumulant4``),
each with its error estimate."""
from __future__ import annotations

CUMULANT4_NOTE = ("cumulant4: kappa_4(g^N_0) = E g^4 - 3 (E g^2)^2 at each point at --widths (the unscaled output; "
                  "times N_L^(4 gamma_L - 2) it is the cumulant of the toolkit's scaled output), through first order "
                  "in 1/N with the second-order size as its error (docs/theory/8-initial-cumulants.md); cov: the "
                  "limit covariance S of g at t = 0, Var g = N_L^(1 - 2 gamma_L) S")


def t0_terms(problem, gammas, widths, times, cov, cov_error) -> dict | None:
    """None when no time is 0; else {"values": {"cov" (P, P) list, with ``widths`` also "cumulant4" (P,) list and
    "widths"}, "errors": {"cov", "cumulant4"} (the same shapes), "note": CUMULANT4_NOTE}.

    Args:
        problem: the Problem; gammas: gamma_1..gamma_L; widths: N_1..N_L or None; times: the times asked for;
        cov, cov_error: S (P, P) and its error from the theory that ran (shallow or deep).
    """
    if 0.0 not in [float(t) for t in times]:
        return None
    values, errors = {"cov": cov.tolist()}, {"cov": cov_error.tolist()}
    if widths is not None:
        from asymexp.numeric.initial_cumulants import initial_cumulant4

        th = initial_cumulant4(problem.spec(list(gammas), list(widths)), problem.points)
        values["cumulant4"] = th.cumulant4.tolist()
        errors["cumulant4"] = th.error.tolist()
        values["widths"] = [int(n) for n in widths]
    return {"values": values, "errors": errors, "note": CUMULANT4_NOTE}
