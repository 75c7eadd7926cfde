"""The batch-normalization step of ``make demo`` (docs/batchnorm.md): a small Gram chain, the constant mode of the
paper-mnist frozen kernel with and without output mean subtraction (spectrum figure ``constant_mode_spectrum.png``),
and a small FIM lambda_max with and without last-layer mean subtraction."""
from __future__ import annotations


def _gram_section(quick: bool) -> str:
    from asymexp.bn.gram.gram_experiment import run_experiment

    widths = [32, 64, 128] if quick else [32, 64, 128, 256]
    depth, burn_in, runs = (80, 20, 10) if quick else (200, 50, 20)
    doc = run_experiment("row-scale", "linear", 4, widths, depth, burn_in, runs, seed=0)
    rows = "\n".join(f"| {r['width']} | {r['error_mean']:.4f} +- {r['error_se']:.4f} | {r['gap_rms']:.4f} +- "
                     f"{r['gap_rms_se']:.4f} | {r['predicted_gap_rms']:.4f} |" for r in doc["rows"])
    fit = doc["fit"]
    return ("### Gram chain (Daneshmand et al., Joudaki et al.)\n\n"
            f"`asymexp gram --activation linear --norm row-scale --batch 4 --widths {','.join(map(str, widths))} "
            f"--depth {depth} --burn-in {burn_in} --runs {runs} --seed 0`: error ||G_l - G*||_F averaged after "
            "the burn-in (+- SE over runs), RMS orthogonality gap against its closed form.\n\n"
            "| d | error | RMS gap | closed form |\n|---|---|---|---|\n" + rows +
            f"\n\nWidth exponent {fit['exponent']:.3f} [{fit['ci95'][0]:.3f}, {fit['ci95'][1]:.3f}] "
            f"(predicted -1/2): {fit['verdict']}. Depth: {doc['depth_verdict']}.")


def spectrum_figure(rep: dict, path, what: str = "") -> None:
    """Sorted eigenvalues of A / P (log scale) with and without mean subtraction; the exact zero of the constant
    direction (centred) and any eigenvalue <= 0 from rounding are not drawn (the legend says how many)."""
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot()
    for key, label in (("eigenvalues", "A / P"), ("eigenvalues_centred", "(I - 11^T/P) A (I - 11^T/P) / P")):
        lam = np.asarray(rep[key])
        pos = lam[lam > 0]
        ax.semilogy(np.arange(1, pos.size + 1), pos, marker=".", lw=0.8,
                    label=f"{label} ({lam.size - pos.size} eigenvalue(s) <= 0 not drawn)")
    ax.set_xlabel("index (descending)")
    ax.set_ylabel("eigenvalue")
    ax.set_title(f"paper-mnist sigmoid frozen kernel{what}, P = {rep['P']} MNIST digits", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _constant_mode_section(ctx) -> str:
    from asymexp.inputs.datasets import load
    from asymexp.bn.constant_mode import karakida_prediction, mnist_frozen_kernel, spectrum_report
    from asymexp.spec import NetworkSpec

    p = 32 if ctx.quick else 64
    x = load("mnist").arrays("float64")[0][:p]
    lines, first, first_what = [], None, ""
    for gammas, widths in (("1/2,1/2,1/2", None), ("1,1,1", "100,100,100")):
        spec = NetworkSpec.from_strings(gammas=gammas, widths=widths, preset="paper-mnist")
        A, _, err = mnist_frozen_kernel(spec, x)
        rep = spectrum_report(A, err)
        if first is None:
            first, first_what = rep, f" (gammas {gammas}, {widths or 'sequential limit'})"
        e = rep["eigenvalue_error"]
        kar = karakida_prediction(spec, x)
        pred = "n/a (needs all gammas 1/2)" if kar is None else f"{kar['outlier']:.5f} (+- {kar['error']:.1g})"
        lines.append(f"| {gammas} | {widths or 'sequential limit'} | {rep['top']:.5f} | {pred} | "
                     f"{1 - rep['overlap']:.2g} (<= {1 - rep['rank_one']['overlap_bound']:.2g}) | "
                     f"{rep['second']:.4g} | {rep['top_centred']:.4g} | "
                     f"{rep['top_centred'] - rep['second']:.2g} | {e:.1g} |")
    spectrum_figure(first, ctx.out / "constant_mode_spectrum.png", first_what)
    return ("### The constant mode is the mean-gradient outlier (Karakida et al.)\n\n"
            f"Frozen kernel A of the paper-mnist sigmoid nets (L = 3) on the first {p} MNIST training digits "
            "(`asymexp.bn.constant_mode`). Eigenvalues of A / P; overlap |v_1 . 1| / sqrt(P) of the top "
            "eigenvector with the constant vector (shown as 1 - overlap, with the bound of the rank-one "
            "perturbation argument, computed without any eigenvector); "
            "'centred' is (I - 11^T/P) A (I - 11^T/P), output mean subtraction. Karakida's isotropic outlier "
            "(K1 + (P-1) K2) / P from the order parameters (+- their quadrature bound). Every eigenvalue "
            "is within the last column (Weyl, from the coarse-against-fine quadrature difference).\n\n"
            "| gammas | widths | lambda_1 | Karakida | 1 - overlap with 1 | lambda_2 | lambda_1 centred | "
            "centred - lambda_2 | error |\n"
            "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(lines) +
            "\n\nMean subtraction removes the constant mode and nothing else: the centred top eigenvalue is "
            "lambda_2 of A, up to (lambda_1 - lambda_2) sin^2(angle(v_1, 1)) (interlacing).\n\n"
            "![constant mode spectrum](constant_mode_spectrum.png)")


def _fim_section(quick: bool) -> str:
    try:
        from asymexp.bn.fim.experiment import FimStudy, run_study
    except ImportError as exc:                       # the FIM package is optional for this step
        return f"### FIM lambda_max\n\nnot run: the FIM package could not be imported ({exc})."
    widths = (32, 64, 128) if quick else (64, 128, 256)
    study = FimStudy(layers=2, widths=widths, rho=1.0, outputs=2, activation="relu", weight_var=2.0, bias_var=0.0,
                     norms=("none", "mean-last"), networks=3 if quick else 4, seed=0)
    doc, _ = run_study(study)
    by = {(r["norm"], r["width"]): r for r in doc["rows"]}
    rows = []
    for m in widths:
        a, b = by[("none", m)], by[("mean-last", m)]
        rows.append(f"| {m} | {a['lambda_max']:.2f} +- {a['lambda_max_se']:.2f} | {a['predicted_lambda_max']:.2f} | "
                    f"{a['mean_gradient_overlap']:.4f} +- {a['mean_gradient_overlap_se']:.1g} | "
                    f"{b['lambda_max']:.2f} +- {b['lambda_max_se']:.2f} | {b['lower_bound']:.2f} |")
    return ("### FIM lambda_max (Karakida et al.)\n\n"
            f"`asymexp fim --activation relu --layers 2 --outputs 2 --widths {','.join(map(str, widths))} --rho 1 "
            f"--norm none,mean-last --networks {study.networks} --seed 0` (+- SE over networks). The exponent fits "
            "need more widths and networks (docs/batchnorm.md, \"What the toolkit measured\").\n\n"
            "| M = T | lambda_max | predicted | mean-gradient overlap | lambda_max (mean-last) | lower bound |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows))


def step_batchnorm(ctx) -> str:
    """The Markdown section of the batch-normalization step (writes ``constant_mode_spectrum.png``)."""
    import sys

    sections = ["## Batch normalization at initialization"]
    for what, section in (("the Gram chain", lambda: _gram_section(ctx.quick)),
                          ("the constant mode", lambda: _constant_mode_section(ctx)),
                          ("the FIM spectrum", lambda: _fim_section(ctx.quick))):
        sys.stderr.write(f"[demo] batchnorm: {what} ...\n")
        sys.stderr.flush()
        sections.append(section())
    return "\n\n".join(sections)
