"""The figure of ``asymexp rmt`` (matplotlib; pyplot and the global backend are left alone; docs/rmt.md).

``rmt_moments``: the relative error (m_k - Fuss-Catalan m_k) / m_k of every spectral moment against its order k,
one series per (L, N) row with 95% error bars (1.96 SE), the limit law at 0.
"""
from __future__ import annotations

import numpy as np

from asymexp.figure_files import save_figure


def moments_figure(doc: dict):
    """Relative error of the moments k = 1..orders of every row of ``doc["rows"]``, +- 1.96 SE."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    rows = doc["rows"]
    shift = 0.3 / max(len(rows), 1)
    for i, r in enumerate(rows):
        k = np.arange(1, len(r["relative_error"]) + 1) + (i - (len(rows) - 1) / 2) * shift
        ax.errorbar(k, r["relative_error"], yerr=1.96 * np.asarray(r["relative_error_se"]), fmt="o", capsize=3,
                    color=f"C{i % 10}", label=f"L = {r['factors']}, N = {r['size']} ({r['samples']} samples)")
    ax.axhline(0.0, color="k", lw=0.8)
    orders = max((len(r["relative_error"]) for r in rows), default=1)
    ax.set_xticks(range(1, orders + 1))
    ax.set_xlabel("moment order k")
    ax.set_ylabel("(m_k - Fuss-Catalan m_k) / Fuss-Catalan m_k")
    ax.set_title("products of L Gaussian N x N matrices (95% error bars)", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def figures(doc: dict) -> dict:
    """{file name: builder(doc) -> Figure}: the one figure ``rmt_moments``."""
    return {"rmt_moments": moments_figure}


def save_figures(doc: dict, out) -> list[str]:
    """Write rmt_moments.png and .pdf into ``out`` (:func:`asymexp.figure_files.save_figure`); their paths."""
    return [path for name, build in figures(doc).items() for path in save_figure(build(doc), out, name)]
