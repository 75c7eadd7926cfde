"""Writing a matplotlib figure to disk: one helper for every command that draws (no pyplot, no display needed)."""
from __future__ import annotations

from pathlib import Path


def save_figure(fig, out, name: str) -> list[str]:
    """Write ``fig`` as ``out/name.png`` and ``out/name.pdf`` (folder created if needed); returns the two paths."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    paths = []
    for ext in ("png", "pdf"):
        path = out / f"{name}.{ext}"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        paths.append(str(path))
    return paths


def write_outputs(out, document: dict, save_figures=None, files=(), listed: bool = True) -> list[str]:
    """The ``--out`` tail of a study: its figures, then its files, into the folder ``out`` (created).

    Args:
        document: the study's JSON document; with ``listed`` it gains ``"figures"``: every path written, in order
            (the figures first), each file's path added once it is written.
        save_figures: ``save_figures(document, out) -> paths`` of the study's figure module, or None.
        files: (file name, render) pairs; ``render(document)`` returns the file's text.
    Returns:
        the paths written, in order.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = list(save_figures(document, out)) if save_figures is not None else []
    if listed:
        document["figures"] = list(paths)
    for name, render in files:
        path = out / name
        path.write_text(render(document))
        paths.append(str(path))
        if listed:
            document["figures"] = list(paths)
    return paths
