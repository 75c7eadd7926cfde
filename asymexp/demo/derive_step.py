"""The ``derive`` step of ``asymexp demo``: a shallow and a deep derivation, as Markdown."""
from __future__ import annotations


def _rates_table(d) -> list[str]:
    widths = d.widths
    rows = ["| group | " + " | ".join(f"exp. of {w}" for w in widths) + " | trains |",
            "|---|" + "---|" * len(widths) + "---|"]
    tk = d.to_json()["tangent_kernel"]
    for g in d.groups:
        rows.append(f"| alpha_{g.name} | " + " | ".join(str(v) for v in g.learning_rate)
                    + f" | {'yes' if tk[g.name]['trains'] else 'no'} |")
    return rows


def step_derive(ctx) -> str:
    """Derive gamma = 4/5 (one hidden layer, order 2) and gamma = (7/10, 7/10, 7/10); scalings and hierarchy."""
    from asymexp.spec import NetworkSpec
    from asymexp.symbolic import derive

    shallow = derive(NetworkSpec.from_strings("4/5"), order=2)
    deep = derive(NetworkSpec.from_strings("7/10,7/10,7/10"), order=2)
    out = ["## Symbolic derivations", "",
           "Exponents derived from the backward pass (docs/theory/2-learning-rates.md); full documents in "
           "`derivations/`.", "",
           "### One hidden layer, gamma = 4/5", ""] + _rates_table(shallow)
    out += ["", f"Time t = k/N; Var g = Theta(N^{shallow.variance_exponent[0]}); nu = {shallow.nu}.", "",
            "| term | order (exp. of N) | random | vanishes |", "|---|---|---|---|"]
    out += [f"| {t.name} | {t.order[0]} | {'yes' if t.random else 'no'} | {'yes' if t.vanishes else 'no'} |"
            for t in shallow.terms]
    out += ["", "Hierarchy:", ""]
    for h in shallow.hierarchy:
        if h.order >= 1:
            state = "vanishes identically" if h.vanishes else f"{len(h.surviving)} non-zero source terms"
            out.append(f"- {h.name}: {len(h.contractions)} source terms derived; {state}. {h.reason}.")
    out += ["", "### Three hidden layers, gamma = (7/10, 7/10, 7/10), sigmoid", ""] + _rates_table(deep)
    var = " ".join(f"{w}^({v})" for w, v in zip(deep.widths, deep.variance_exponent) if v != 0)
    out += ["", f"Var g = Theta({var}).", ""]
    out += [f"- **{f.kind}** ({f.condition}): {f.reason}." for f in deep.degeneracies]
    return "\n".join(out)
