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
