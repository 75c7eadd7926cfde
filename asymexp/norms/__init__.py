"""The normalizations: one table of what each one does, where it goes and which tool offers it
(docs/batchnorm.md, "Normalization layers").

Two vocabularies, both here:

- the **layer kinds** (:data:`KINDS`: ``batch``, ``mean-only``, ``scale-only``, ``layer``): what a normalization
  layer centres and scales, and over which axis of a (batch, features) array its statistics run; each has the
  integer :class:`asymexp.kernel_codes.Norm` code its Numba kernels take (:mod:`asymexp.nn.normalization`);
- the **network norms** (:data:`NETWORK_NORMS`), the values of ``--norm``: which kind, in which layers (every
  hidden layer or the last, the outputs), placed before sigma (``pre``: phi(norm(z))) or after it (``post``:
  norm(phi(z))), and which tools offer it with which placements (the first is the default).

``bn`` is batch norm of the hidden layers in every tool that has it; ``bn-hidden`` is a registered alias of it
(``asymexp fim``). The Gram chain's row normalizations have their own names (``row-scale``, ``row-center``);
their old names ``bn`` and ``bn-center`` are still accepted by ``asymexp gram``, with one line on stderr that names
the new one (:data:`RENAMED`).

:data:`EPS` is the variance floor of every normalization (PyTorch's default) except the Gram chain's, whose
normalization is exact (eps 0, docs/batchnorm.md, "The Gram chain"). The arithmetic: NumPy forms in
:mod:`asymexp.norms.numpy_norm`, Numba kernels in :mod:`asymexp.nn.normalization`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field

from asymexp.errors import SpecError
from asymexp.kernel_codes import Norm

#: The variance floor added to the variance (or mean square) before the square root (PyTorch's default).
EPS = 1e-5

TOOLS = ("mnist", "fim", "lr-scan", "one-step", "gram", "lr-train")
AXES = ("batch", "features")
PLACEMENTS = ("pre", "post")


@dataclass(frozen=True)
class Kind:
    """A normalization layer: ``centres`` (subtracts the mean), ``scales`` (divides by sqrt(variance + eps), or by
    sqrt(mean square + eps) when it does not centre), statistics over ``axis`` (``batch``: per feature over the
    samples; ``features``: per sample over its features) and its Numba ``code``."""

    name: str
    code: Norm
    centres: bool
    scales: bool
    axis: str


KINDS = {k.name: k for k in (
    Kind("batch", Norm.BATCH, True, True, "batch"),
    Kind("mean-only", Norm.MEAN_ONLY, True, False, "batch"),
    Kind("scale-only", Norm.SCALE_ONLY, False, True, "batch"),
    Kind("layer", Norm.LAYER, True, True, "features"),
)}
assert sorted(k.code for k in KINDS.values()) == list(range(len(Norm)))


@dataclass(frozen=True)
class NetworkNorm:
    """One ``--norm`` value: the layer ``kind`` (a key of :data:`KINDS`; None for no normalization), ``layers``
    (``hidden``: every hidden layer; ``last``: the outputs, where no sigma follows and the placement is ``pre``),
    ``tools``: tool -> the placements it offers (the first its default), ``eps`` and, for an alias, the name it
    stands for (``alias_of``)."""

    name: str
    kind: str | None
    layers: str | None
    tools: dict = field(hash=False)
    eps: float = EPS
    alias_of: str | None = None
    summary: str = ""

    @property
    def layer_kind(self) -> Kind | None:
        return None if self.kind is None else KINDS[self.kind]


_HIDDEN_TOOLS = {"mnist": PLACEMENTS, "fim": ("pre",), "lr-scan": ("pre",), "one-step": ("pre",),
                 "lr-train": ("pre",)}
NETWORK_NORMS = {n.name: n for n in (
    NetworkNorm("none", None, None, {t: ("pre",) for t in TOOLS}, summary="no normalization"),
    NetworkNorm("bn", "batch", "hidden", _HIDDEN_TOOLS, summary="batch norm of every hidden layer (train mode)"),
    NetworkNorm("mean-last", "mean-only", "last",
                {t: ("pre",) for t in ("mnist", "fim", "lr-scan", "one-step", "lr-train")},
                summary="the outputs minus their batch mean (no parameters)"),
    NetworkNorm("bn-last", "batch", "last", {"fim": ("pre",), "lr-scan": ("pre",)},
                summary="batch norm of the outputs"),
    NetworkNorm("bn-hidden", "batch", "hidden", {"fim": ("pre",)}, alias_of="bn", summary="the same as bn"),
    NetworkNorm("ln", "layer", "hidden", {"mnist": PLACEMENTS, "fim": ("pre",), "lr-scan": ("pre",)},
                summary="layer norm of every hidden layer"),
    NetworkNorm("row-scale", "scale-only", "hidden", {"gram": ("pre",)}, eps=0.0,
                summary="each unit divided by its root mean square over the batch, no centring"),
    NetworkNorm("row-center", "batch", "hidden", {"gram": ("pre",)}, eps=0.0,
                summary="each unit centred over the batch, then divided by its root mean square"),
    NetworkNorm("pre-bn", "batch", "hidden", {"gram": ("pre",)}, eps=0.0,
                summary="batch norm before phi, the activation's Gram tracked"),
)}

#: (tool, old name) -> the current name; accepted with one line on stderr.
RENAMED = {("gram", "bn"): "row-scale", ("gram", "bn-center"): "row-center"}


def names(tool: str) -> tuple:
    """The ``--norm`` values ``tool`` offers (aliases included), in the table's order."""
    if tool not in TOOLS:
        raise SpecError(f"tool {tool!r} is unknown; allowed: {', '.join(TOOLS)}")
    return tuple(n for n, entry in NETWORK_NORMS.items() if tool in entry.tools)


def accepted(tool: str) -> tuple:
    """:func:`names` and the old names still accepted (:data:`RENAMED`): the CLI's choices."""
    return names(tool) + tuple(old for (t, old) in RENAMED if t == tool)


def check(name: str, tool: str) -> str:
    """``name`` if ``tool`` offers it, the current name (and one line on stderr) for an old one; else a
    :class:`SpecError` naming the value and what is allowed."""
    if (tool, name) in RENAMED:
        new = RENAMED[tool, name]
        sys.stderr.write(f"asymexp {tool}: norm {name!r} is now called {new!r} ({NETWORK_NORMS[new].summary}); "
                         f"the old name still works\n")
        return new
    allowed = names(tool)
    if name not in allowed:
        raise SpecError(f"norm {name!r} is unknown for {tool}; allowed: {', '.join(allowed)}")
    return name


def entry(name: str, tool: str | None = None) -> NetworkNorm:
    """The table's row of ``name`` (checked for ``tool`` when given), an alias resolved to what it stands for."""
    if tool is not None:
        name = check(name, tool)
    if name not in NETWORK_NORMS:
        raise SpecError(f"norm {name!r} is unknown; allowed: {', '.join(NETWORK_NORMS)}")
    row = NETWORK_NORMS[name]
    return NETWORK_NORMS[row.alias_of] if row.alias_of else row


def placements(name: str, tool: str) -> tuple:
    """The placements ``tool`` offers for ``name`` (the first its default)."""
    return entry(name, tool).tools[tool]


def kind(name: str) -> Kind:
    """The layer kind ``name`` (a key of :data:`KINDS`), or a :class:`SpecError` naming what is allowed."""
    if name not in KINDS:
        raise SpecError(f"normalization {name!r} is unknown; allowed: {', '.join(KINDS)}")
    return KINDS[name]


def kind_of_code(code: int) -> Kind:
    """The layer kind of a :class:`asymexp.kernel_codes.Norm` code."""
    return next(k for k in KINDS.values() if k.code == code)
