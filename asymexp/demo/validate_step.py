"""The ``validate`` step of ``make demo``: a quick shallow validation and a small deep sensitivity table."""
from __future__ import annotations


def step_validate(ctx) -> str:
    """Shallow tanh4, gamma = 3/4, gradient flow to t = 1 (about a minute; tiny with ctx.quick), then deep
    sigmoid L = 3 at t = 0 (Rao-Blackwell) with the per-gamma_l table. Report and figures in ctx.out/validate*/."""
    from asymexp.inputs.problems import load_problem
    from asymexp.validation import figures
    from asymexp.validation import markdown_report
    from asymexp.validation.deep_validation import validate_deep
    from asymexp.validation.shallow_validation import validate_shallow

    quick = ctx.quick
    out = ctx.out / "validate"
    widths = [16, 32, 64] if quick else [64, 128, 256, 512, 1024, 2048]
    reps = 64 if quick else 1024
    doc = validate_shallow(load_problem("tanh4.toml"), "3/4", widths, reps, t=1.0, seed=1, flow_dt=1 / 32,
                           out=out / "tasks-shallow", quad_order=16 if quick else None, progress=True)
    figs = figures.shallow_figures(doc, out)
    deep_widths = [16, 32, 64] if quick else [16, 32, 64, 128, 256, 512]
    deep = validate_deep(load_problem("sigmoid4.toml"), ["3/5", "7/10", "9/10"], deep_widths, 64 if quick else 1024,
                         t=0.0, seed=1, out=out / "tasks-deep", sensitivity_width=32 if quick else 128,
                         sensitivity_replicas=32 if quick else 128, progress=True)
    figs += figures.deep_figures(deep, out)
    names = ", ".join(f"`{p.split('/')[-1]}`" for p in figs if p.endswith(".png"))
    return ("## Validation (asymexp validate)\n\n" + markdown_report.markdown(doc) + "\n\n" + markdown_report.markdown(deep)
            + f"\n\nFigures in `{out}`: {names}.")
