"""asymexp theory: the shallow-network theory (h, V, Q1, Q2) on a problem's training points and probes."""
from __future__ import annotations

import math
import sys

from asymexp.cli._common import add_json_argument, emit_json, integer
from asymexp.errors import SpecError
from asymexp import budget

HELP = ("evaluate the shallow-network theory h, V, Q1, Q2 (or, with several gammas, the deep frozen kernel's h, V) "
        "on a problem file (docs/theory/3-shallow-expansion.md, 4-deep-networks.md)")


def add_arguments(parser):
    parser.add_argument("--problem", required=True, help="TOML problem file (or a built-in name: tanh4.toml)")
    parser.add_argument("--gamma", required=True, help="gamma in [1/2, 1] (0.75 or 3/4), or gamma_1,...,gamma_L "
                                                       "for a depth-L network (h and V of the frozen limit kernel)")
    parser.add_argument("--widths", default=None, help="N_1,...,N_L: with a time 0, the fourth cumulant of g^N_0 at "
                                                        "these widths (cumulant4); depth >= 2: the finite-width kernel")
    parser.add_argument("--time", required=True, help="time t >= 0 (t = k/N), or a comma-separated list")
    parser.add_argument("--order", type=int, default=2,
                        help="0: h, V; 1: + Q1; 2: + Q2 (default); 3: + Q3 (from the symbolic layer's contractions)")
    parser.add_argument("--method", choices=("quadrature", "monte-carlo"), default="quadrature",
                        help="kernel and tensor expectations (default quadrature; Monte Carlo reports its SE)")
    parser.add_argument("--samples", type=integer(1), default=None, help="Monte Carlo draws (default 200000)")
    parser.add_argument("--seed", type=integer(0), default=0, help="Monte Carlo seed (default 0)")
    parser.add_argument("--nodes", type=int, default=None,
                        help="a fixed Gauss-Hermite product rule with this many nodes per w-dimension (default: the "
                             "projected trapezoid rule, refined towards --tol)")
    parser.add_argument("--tol", default=None, metavar="ABS[,REL]",
                        help="target error of every value, |err| <= ABS + REL |value| (default 1e-8,1e-6); the rule "
                             "is refined within a node and time budget, else a warning gives the achieved errors")
    parser.add_argument("--strict", action="store_true", help="exit 2 when the tolerance is not met")
    parser.add_argument("--inverse-n", action="store_true",
                        help="also the random terms under gradient flow (docs/theory/7-random-terms.md): the 1/N "
                             "mean coefficient c_t (E g ~ D(eps) + c/N) and the eps^2 variance coefficient B_t "
                             "(Var g ~ N^(1-2gamma) (V + eps^2 B)); needs a symmetric law of c and a normal law of w")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def _check_size(args, problem) -> None:
    """Refuse --samples / --nodes whose memory cannot fit, or whose work is above a day without --yes-long-run
    (asymexp.budget); the estimate is printed when large."""
    from asymexp.numeric.quadrature import quadrature_dimension

    pts = problem.points
    if args.samples is not None and args.samples < 2:
        raise SpecError(f"--samples {args.samples}; an integer >= 2 is required")
    if args.method == "monte-carlo" or args.samples is not None:
        nodes, what = float(args.samples or 200_000), f"theory with {args.samples or 200_000} Monte Carlo draws"
    else:
        nodes = 0.0
        what = "theory quadrature"
    if args.nodes is not None:
        r = quadrature_dimension(problem.w_law, pts)
        nodes = max(nodes, 3.0 * float(args.nodes) ** max(r, 1) * 1.5)     # the rule and its 3/4-order check
        what = f"theory quadrature with {args.nodes} nodes in each of {r} dimensions"
    if nodes:
        budget.check(budget.quadrature(nodes, pts.shape[1], pts.shape[0], what), args.yes_long_run,
                     prog="asymexp theory")


def _times(text: str) -> list[float]:
    out = []
    for item in str(text).split(","):
        try:
            t = float(item)
        except ValueError:
            raise SpecError(f"--time {text!r}: {item!r} is not a number; times >= 0 are required") from None
        if not math.isfinite(t) or t < 0:
            raise SpecError(f"--time {text!r}: {item!r} is not allowed; finite times >= 0 are required")
        out.append(t)
    return out


def _rows(arr, single: bool):
    if arr is None:
        return None
    return arr[0].tolist() if single else arr.tolist()


def run(args):
    from asymexp.numeric import load_problem, shallow_theory
    from asymexp.symbolic.rules import rules_for
    from asymexp.numeric.shallow_theory import regime_of
    from asymexp.numeric.error_control import parse_tolerance

    from asymexp.cli import _theory_t0

    if "," in str(args.gamma):
        return _theory_t0.run_deep(args, _times(args.time), emit_json)
    gamma, regime, note = regime_of(args.gamma)
    times = _times(args.time)
    widths = _theory_t0.check_shallow_widths(args, times)
    if args.order not in (0, 1, 2, 3):
        raise SpecError(f"--order {args.order}; allowed: 0, 1, 2, 3")
    if args.nodes is not None and args.nodes < 2:
        raise SpecError(f"--nodes {args.nodes}; an integer >= 2 is required")
    tol = parse_tolerance(args.tol) if args.tol is not None else None
    problem = load_problem(args.problem)
    _check_size(args, problem)
    th = shallow_theory(problem, gamma, times, order=args.order, method=args.method, n_samples=args.samples,
                        seed=args.seed, quad_order=args.nodes, tol=tol, long_run_ok=args.yes_long_run)
    single = len(times) == 1
    errors = {k: _rows(v, single) for k, v in th.errors.items() if k not in ("A", "S")}
    doc = {"points": th.points.tolist(), "h": _rows(th.h, single), "V": _rows(th.V, single),
           "Q1": _rows(th.Q1, single), "Q2": _rows(th.Q2, single), "kernel_error": th.kernel_error,
           "method": th.method, "time": times[0] if single else times, "gamma": gamma, "regime": regime,
           "n_train": int(problem.x.shape[0]), "q1_vanishes": th.q1_vanishes, "q1_reason": th.q1_reason,
           "theory_error": th.theory_error, "ode_error": th.ode_error, "notes": list(th.notes), "errors": errors,
           "tolerance": th.tolerance, "rule": th.rule, "w_nodes": th.w_nodes, "kappa": th.kappa}
    if th.Q3 is not None:
        doc["Q3"] = _rows(th.Q3, single)
    _theory_t0.add_t0_keys(doc, errors, problem, [gamma], widths, times, th.S, th.errors["S"])
    if args.inverse_n:
        from asymexp.numeric.random_terms import random_terms

        rt = random_terms(problem, times, tol=tol)
        doc["inverse_n"] = _rows(rt.c, single)
        errors["inverse_n"] = _rows(rt.errors["c"], single)
        doc["variance_eps2"] = _rows(rt.B, single)
        errors["variance_eps2"] = _rows(rt.errors["B"], single)
        doc["variance_inverse_n"] = _rows(rt.BN, single)
        errors["variance_inverse_n"] = _rows(rt.errors["BN"], single)
        doc["inverse_n_note"] = ("c: coefficient of 1/N in E g under gradient flow (E g ~ D(eps) + c/N, "
                                 "D = h + eps^2 Q2 + eps^4 Q4 + ...); variance_eps2, variance_inverse_n: B, B_N in "
                                 "Var g ~ N^(1-2gamma) (V + eps^2 B + B_N/N); "
                                 f"projected trapezoid rule kappa {rt.kappa:.3g}, tolerance met: {rt.tolerance['met']} "
                                 "(docs/theory/7-random-terms.md); GD adds its own O(1/N)")
    if regime == "expansion":
        rules = rules_for(problem.spec([gamma], [1]))
        doc["eps_exponent"] = rules.eps_exponents["N1"]
        doc["variance_exponent"] = rules.variance_exponent["N1"]
        doc["nu"] = rules.nu
    unmet = th.tolerance["met"] is False
    rt_unmet = ""
    if args.inverse_n and rt.tolerance["met"] is False:
        achieved = ", ".join(f"{k} {max(max(r) if isinstance(r, list) else r for r in errors[k]):.2g}"
                             for k in ("inverse_n", "variance_eps2", "variance_inverse_n"))
        rt_unmet = f"the random terms miss the tolerance ({rt.tolerance['reason']}); achieved: {achieved}"
        if not args.strict:
            sys.stderr.write(f"asymexp theory: note: {rt_unmet}\n")
    for line in th.notes:
        if not (args.strict and unmet and line.startswith("tolerance")):
            sys.stderr.write(f"asymexp theory: note: {line}\n")
    if args.json:
        emit_json(doc)
    else:
        _print_table(args, problem, th, times, gamma, regime)
        _theory_t0.print_t0(doc)
    if args.strict and rt_unmet:
        raise SpecError(f"--tol {args.tol} not met with --strict: {rt_unmet}")
    if args.strict and unmet:
        worst = ", ".join(f"{k} {float(v.max()):.2g}" for k, v in th.errors.items())
        raise SpecError(f"--tol {th.tolerance['abs']:g},{th.tolerance['rel']:g} not met with --strict "
                        f"({th.tolerance['reason']}); achieved errors: {worst}")
    return 0


def _cell(values, errors, i, p):
    if values is None:
        return f"{'-':>24s}"
    return f"{values[i, p]:12.6g} +-{errors[i, p]:8.1e}"


def _print_table(args, problem, th, times, gamma, regime):
    tol = th.tolerance
    print(f"problem {args.problem}: {problem.x.shape[0]} training points, {len(problem.probe)} probes; "
          f"gamma = {gamma} ({regime}); method {th.method}, rule {th.rule}, kernel error {th.kernel_error:.2g}")
    if tol["met"] is None:
        print(f"tolerance: none ({tol['reason']})")
    else:
        print(f"tolerance abs {tol['abs']:g}, rel {tol['rel']:g}: {'met' if tol['met'] else 'NOT met'} "
              f"({tol['reason']})")
    for i, t in enumerate(times):
        print(f"t = {t:g}")
        print(f"  {'point':>5s} " + " ".join(f"{name + ' +- error':>24s}" for name in ("h", "V", "Q1", "Q2")))
        for p in range(th.points.shape[0]):
            cells = [_cell(getattr(th, k), th.errors.get(k), i, p) for k in ("h", "V", "Q1", "Q2")]
            tag = "" if p < problem.x.shape[0] else " (probe)"
            print(f"  {p:5d} " + " ".join(cells) + tag)
    print(f"Q1 vanishes: {th.q1_vanishes} ({th.q1_reason})")
