"""The figures of ``asymexp lr-train`` (matplotlib, PNG and PDF; pyplot and the global backend are left alone;
docs/batchnorm.md, "Training at larger rates (Bjorck et al.)").

- ``lr_train_rates``: per dataset (one row of panels) final test accuracy, final training loss and updates to the
  target test accuracy against the learning rate (log x), one curve per norm, mean +- SE over the seeds that
  finished; a rate where some seed diverged is marked by a cross at the bottom of the accuracy panel (the paper's
  Figure 1 in style);
- ``lr_train_activations``: log10 RMS(h^l) against the layer l at the recorded mini-batches 0..k_star, at the
  smallest rate where every seed of none diverged, one panel per norm (per dataset), on one shared y axis.
"""
from __future__ import annotations

from asymexp.figure_files import save_figure

_PANELS = (("test_accuracy", "final test accuracy", False), ("train_loss", "final training loss", True),
           ("steps_to_target", "updates to target accuracy", True))


def rates_figure(doc: dict):
    """Accuracy, loss and time to accuracy against the rate, per dataset and norm."""
    from matplotlib.figure import Figure

    reps = doc["datasets"] or [None]
    fig = Figure(figsize=(12.0, 3.6 * len(reps)))
    s = doc["settings"]
    for i, rep in enumerate(reps):
        for j, (key, label, logy) in enumerate(_PANELS):
            ax = fig.add_subplot(len(reps), 3, 3 * i + j + 1)
            if rep is None:
                ax.text(0.5, 0.5, "no dataset was run", ha="center", transform=ax.transAxes)
                continue
            drawn = False
            for k, norm in enumerate(s["norms"]):
                rows = [r for r in rep["rows"] if r["norm"] == norm]
                kept = [r for r in rows if r[key] is not None and r[key] > 0]
                drawn = drawn or bool(kept)
                ax.errorbar([r["lr"] for r in kept], [r[key] for r in kept],
                            yerr=[r[f"{key}_se"] or 0.0 for r in kept], fmt="o-", color=f"C{k}", capsize=3,
                            label=norm)
                bad = [r["lr"] for r in rows if r["diverged"]]
                if key == "test_accuracy" and bad:
                    ax.plot(bad, [0.02 * (k + 1)] * len(bad), "x", color=f"C{k}", label=f"{norm}: diverged")
            ax.set_xscale("log")
            if logy and drawn:
                ax.set_yscale("log")
            if not drawn:
                ax.text(0.5, 0.5, "not reached" if key == "steps_to_target" else "no finished run", ha="center",
                        transform=ax.transAxes)
            if key == "test_accuracy":
                ax.set_ylim(0, 1)
            ax.set_xlabel("learning rate")
            ax.set_ylabel(label + (f" ({s['target']:g})" if key == "steps_to_target" else ""))
            ax.set_title(f"{rep['data']}: {s['layers']} x {s['width']} relu, B = {s['batch']}, "
                         f"{s['epochs']} epochs, {s['loss']}", fontsize=8)
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def activations_figure(doc: dict):
    """log10 RMS of the hidden activations against the layer over the first mini-batches, per norm."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    reps = [r for r in doc["datasets"] if r["activations"]]
    fig = Figure(figsize=(10.0, 3.8 * max(len(reps), 1)))
    if not reps:
        fig.add_subplot(1, 1, 1).text(0.5, 0.5, "no rate where every seed of none diverged", ha="center")
        return fig
    for i, rep in enumerate(reps):
        act = rep["activations"]
        last = act["k_star"] if act["k_star"] is not None else 0
        for j, a in enumerate(act["norms"]):
            ax = fig.add_subplot(len(reps), len(act["norms"]), i * len(act["norms"]) + j + 1,
                                 sharey=None if j == 0 else first)
            first = ax if j == 0 else first
            for k in range(min(last, len(a["log10_rms"]) - 1) + 1):
                values = a["log10_rms"][k]
                layers = [l + 1 for l, v in enumerate(values) if v is not None]
                ax.plot(layers, [v for v in values if v is not None], "o-", ms=3,
                        color=colormaps["viridis"](k / max(last, 1)), label=f"mini-batch {k}" if k in (0, last)
                        else None)
            ax.set_xlabel("hidden layer l")
            ax.set_ylabel("log10 RMS(h^l), mean over seeds")
            ax.set_title(f"{rep['data']}, {a['norm']}, lr = {act['lr']:.3g}: mini-batches 0..{last}", fontsize=8)
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def figures(doc: dict) -> dict:
    """{file name: builder(doc) -> Figure}: ``lr_train_rates``, ``lr_train_activations``."""
    return {"lr_train_rates": rates_figure, "lr_train_activations": activations_figure}


def save_figures(doc: dict, out) -> list[str]:
    """Write the figures as PNG and PDF into ``out`` (:func:`asymexp.figure_files.save_figure`); their paths."""
    return [path for name, build in figures(doc).items() for path in save_figure(build(doc), out, name)]
