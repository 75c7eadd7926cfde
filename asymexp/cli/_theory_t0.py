"""asymexp theory: the depth-L branch (several gammas) and the t = 0 keys ``cov`` and ``cumulant4``
(docs/interfaces.md, "asymexp theory"; docs/theory/8-initial-cumulants.md)."""
from __future__ import annotations

from asymexp.errors import SpecError


def parse_widths(text, depth: int) -> list[int]:
    """``"16,32"`` -> [16, 32]: exactly ``depth`` integers >= 1 (one per hidden layer), else one SpecError line."""
    items = str(text).split(",")
    out = []
    for item in items:
        item = item.strip()
        if not item.isdigit() or int(item) < 1:
            raise SpecError(f"--widths {text!r}: {item!r} is not an integer >= 1; give N_1,...,N_L")
        out.append(int(item))
    if len(out) != depth:
        raise SpecError(f"--widths {text!r} gives {len(out)} widths for {depth} gammas; give one width per hidden "
                        "layer (N_1,...,N_L)")
    return out


def add_t0_keys(doc: dict, errors: dict, problem, gammas, widths, times, cov, cov_error) -> None:
    """Put ``cov`` (P, P) and, with widths, ``cumulant4`` (P,) and their errors into the JSON document when a time
    is 0 (nothing otherwise): :func:`asymexp.numeric.t0_terms.t0_terms`, the verb's implementation too."""
    from asymexp.numeric.t0_terms import t0_terms

    terms = t0_terms(problem, gammas, widths, times, cov, cov_error)
    if terms is None:
        return
    doc.update(terms["values"])
    errors.update(terms["errors"])
    doc["t0_note"] = terms["note"]


def check_shallow_widths(args, times) -> list[int] | None:
    """--widths with one gamma: one width, and a time 0 to use it at (it sets only the t = 0 cumulant)."""
    if args.widths is None:
        return None
    widths = parse_widths(args.widths, 1)
    if 0.0 not in times:
        raise SpecError(f"--widths {args.widths} with --time {args.time}: with one gamma the widths set only the "
                        "fourth cumulant at t = 0; add 0 to --time or leave --widths out")
    return widths


def run_deep(args, times, emit_json) -> int:
    """h and V of the depth-L frozen limit kernel (docs/theory/4-deep-networks.md), plus the t = 0 keys."""
    import sys

    from asymexp.numeric import load_problem
    from asymexp.numeric.deep_theory import deep_theory
    from asymexp.spec import parse_gammas

    gammas = parse_gammas(str(args.gamma), numeric=True)
    widths = None if args.widths is None else parse_widths(args.widths, len(gammas))
    for given, option in ((args.method != "quadrature" or args.samples is not None, "--method monte-carlo/--samples"),
                          (args.tol is not None or args.strict, "--tol/--strict"), (args.inverse_n, "--inverse-n")):
        if given:
            raise SpecError(f"{option} with {len(gammas)} gammas: the depth-{len(gammas)} theory is a fixed "
                            "quadrature rule with a difference error estimate; allowed: --nodes, --widths, --time")
    if args.nodes is not None and args.nodes < 4:
        raise SpecError(f"--nodes {args.nodes}; an integer >= 4 is required for depth >= 2")
    problem = load_problem(args.problem)
    if args.nodes is not None:
        from asymexp.numeric.quadrature import NODE_BUDGET, quadrature_dimension

        r = quadrature_dimension(problem.w_law, problem.points)
        if float(args.nodes) ** r > 100 * NODE_BUDGET:
            raise SpecError(f"--nodes {args.nodes}: {args.nodes}^{r} first-layer nodes exceed {100 * NODE_BUDGET}; "
                            f"allowed: at most {int((100 * NODE_BUDGET) ** (1 / max(r, 1)))} for these points")
    d = deep_theory(problem, list(gammas), widths, times, order=args.nodes)
    single = len(times) == 1
    rows = (lambda a: a[0].tolist() if single else a.tolist())
    errors = {"h": rows(d["errors"]["h"]), "V": rows(d["errors"]["V"])}
    notes = list(d["notes"]) + [f"depth {len(gammas)}: h and V of the frozen limit kernel only"]
    doc = {"points": problem.points.tolist(), "h": rows(d["h"]), "V": rows(d["V"]),
           "kernel_error": d["kernel_error"], "method": "quadrature", "time": times[0] if single else times,
           "gammas": [str(g) for g in gammas], "widths": widths, "regime": d["regime"],
           "collapse": list(d["collapse"]), "n_train": int(problem.x.shape[0]), "notes": notes, "errors": errors}
    add_t0_keys(doc, errors, problem, gammas, widths, times, d["S"], d["errors"]["S"])
    for line in notes:
        sys.stderr.write(f"asymexp theory: note: {line}\n")
    if args.json:
        emit_json(doc)
    else:
        _print_deep(doc, times)
    return 0


def _print_deep(doc: dict, times) -> None:
    print(f"depth {len(doc['gammas'])}, gammas {','.join(doc['gammas'])}, widths {doc['widths']} ({doc['regime']}); "
          f"kernel error {doc['kernel_error']:.2g}")
    h, v = doc["h"], doc["V"]
    if len(times) == 1:
        h, v = [h], [v]
    for i, t in enumerate(times):
        print(f"t = {t:g}")
        for p in range(len(doc["points"])):
            print(f"  {p:5d} h {h[i][p]:12.6g}   V {v[i][p]:12.6g}")
    print_t0(doc)


def print_t0(doc: dict) -> None:
    """The text form of ``cumulant4`` (nothing without it)."""
    if "cumulant4" in doc:
        print("t = 0, fourth cumulant of g at the widths:")
        for p, (k, e) in enumerate(zip(doc["cumulant4"], doc["errors"]["cumulant4"])):
            print(f"  {p:5d} {k:12.6g} +-{e:8.1e}")
