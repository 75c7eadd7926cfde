"""Typed, frozen results of the batch-normalization study verbs (:mod:`asymexp.api.studies`; docs/batchnorm.md).

Each holds ``document``, the JSON document that the matching command prints with ``--json`` (docs/interfaces.md),
already in JSON form (lists, numbers, strings; NaN stays NaN as the command prints it). ``to_dict()`` returns a
copy of it, so ``result.to_dict() == json.loads(<asymexp CMD --json>)``; ``to_json(**kw)`` dumps it. The main
parts are also attributes (``result.rows``, ``result.fits``, ...). ``plot(name)`` draws one of the study's
figures (the same as ``--out`` writes) as a ``matplotlib.figure.Figure`` without pyplot; ``figure_names`` lists
them, the first is the default. ``files``: the paths written under ``out`` (empty without it).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from asymexp.api.results import _Result
from asymexp.errors import AsymexpError
from asymexp.json_out import jsonable


def plain(document):
    """``document`` in JSON form, exactly as ``asymexp CMD --json`` prints it: :func:`asymexp.json_out.jsonable`
    (NaN and infinities as None, NumPy values as Python, Fractions as "p/q")."""
    return jsonable(document)


@dataclass(frozen=True, eq=False)
class _StudyResult(_Result):
    """A study's document, its figures and the files it wrote."""

    document: dict
    files: tuple = field(default=(), repr=False)

    _FIGURES = "asymexp.bn"        # the figure module (overridden)
    _PREFIX = ""                   # the file names' prefix, left out of the plot names

    def to_dict(self) -> dict:
        """A copy of the ``--json`` document."""
        return copy.deepcopy(self.document)

    @property
    def figures(self) -> list:
        """The paths of the figures and files written under ``out`` (the document's ``figures``; [] without)."""
        return list(self.document.get("figures", []))

    def _drawn(self) -> dict:
        return self.document

    def _builders(self) -> dict:
        import importlib

        module = importlib.import_module(self._FIGURES)
        return {name[len(self._PREFIX):]: build for name, build in module.figures(self._drawn()).items()}

    @property
    def figure_names(self) -> tuple:
        """The names ``plot`` takes; the first is its default."""
        return tuple(self._builders())

    def plot(self, name: str | None = None):
        """One figure of the study (``figure_names``; default the first), as ``--out`` writes it."""
        builders = self._builders()
        if name is None:
            name = next(iter(builders))
        if name not in builders:
            raise AsymexpError(f"figure {name!r} is unknown; allowed: {', '.join(builders)}")
        return builders[name](self._drawn())


@dataclass(frozen=True, eq=False)
class FimResult(_StudyResult):
    """:func:`asymexp.fim`: the FIM spectrum against width (docs/batchnorm.md, "What asymexp fim reports").

    Attributes: document (``asymexp fim --json``), spectra (the eigenvalues of one network per norm at the largest
    width, ``{norm: {"width", "eigenvalues", "predicted_bulk", "predicted_lambda_max"}}``; not in ``to_dict``,
    written to ``fim.json``), files. Figures: ``lambda_max``, ``spectrum``.
    """

    spectra: dict = field(default_factory=dict, repr=False)

    _FIGURES = "asymexp.bn.fim.fim_figures"
    _PREFIX = "fim_"

    def _drawn(self) -> dict:
        return dict(self.document, spectra=self.spectra)

    @property
    def settings(self) -> dict:
        return self.document["settings"]

    @property
    def theory(self) -> dict:
        """kappa1, kappa2, alpha and the order parameters' errors."""
        return self.document["theory"]

    @property
    def rows(self) -> list:
        """The rows, one per norm and width, with lambda_max and m_lambda (with SEs), predictions and bounds."""
        return self.document["rows"]

    @property
    def fits(self) -> list:
        """Width exponents of lambda_max and m_lambda per norm, with verdicts."""
        return self.document["fits"]

    @property
    def constants(self) -> list:
        return self.document["constants"]


@dataclass(frozen=True, eq=False)
class GramResult(_StudyResult):
    """:func:`asymexp.gram`: the Gram chain against its mean-field reference (docs/batchnorm.md, "The Gram chain").

    Attributes: document (``asymexp gram --json``), files. Figures: ``depth``, ``width`` (and ``log_scale``
    without BN).
    """

    _FIGURES = "asymexp.bn.gram.gram_figures"
    _PREFIX = "gram_"

    def _field(self, key: str):
        """The document's ``key``; the batch-size sweep and the mixing study (:mod:`asymexp.api.gram_studies`) lack
        some of the width study's, which is said rather than raised as a KeyError."""
        if key not in self.document:
            study = self.document.get("study", "width study")
            raise AsymexpError(f"this Gram document ({study}) has no {key!r}; it has: {', '.join(self.document)}")
        return self.document[key]

    @property
    def rows(self) -> list:
        """The rows, one per width, with error_mean and gap_rms (with SEs) and the closed form where there is one."""
        return self._field("rows")

    @property
    def fit(self) -> dict:
        """The width exponent of the error and its verdict."""
        return self._field("fit")

    @property
    def depth_check(self) -> list:
        return self._field("depth_check")

    @property
    def depth_verdict(self) -> str:
        return self._field("depth_verdict")

    @property
    def fixed_point(self) -> list:
        """G* (n x n) as nested lists."""
        return self._field("fixed_point")


@dataclass(frozen=True, eq=False)
class LrScanResult(_StudyResult):
    """:func:`asymexp.lr_scan`: the GD step-size thresholds against depth (docs/batchnorm.md, "Learning-rate
    thresholds"). Attributes: document (``asymexp lr-scan --json``), files. Figure: ``lr_scan``."""

    _FIGURES = "asymexp.bn.lrscan.lr_figures"

    @property
    def settings(self) -> dict:
        return self.document["settings"]

    @property
    def rows(self) -> list:
        """The rows, one per norm and depth, with lr_stable and lr_max (with brackets) and 2 / lambda_max measured and
        from theory."""
        return self.document["rows"]

    @property
    def fits(self) -> list:
        """With several widths: the width exponents of lr_stable and lr_max per norm and depth, with their 95%
        intervals and verdicts (empty for a single width)."""
        return self.document.get("fits", [])


@dataclass(frozen=True, eq=False)
class OneStepResult(_StudyResult):
    """:func:`asymexp.one_step`: one SGD step at initialization (docs/batchnorm.md, "One-step divergence and
    gradients at initialization"). Attributes: document (``asymexp one-step --json``), files. Figures: ``loss``,
    ``heatmap``, ``gradients``, ``fraction``."""

    _FIGURES = "asymexp.bn.onestep.onestep_figures"
    _PREFIX = "one_step_"

    @property
    def settings(self) -> dict:
        return self.document["settings"]

    @property
    def thresholds(self) -> list:
        """Per norm: the rate from which the relative loss explodes, and how many decades above none."""
        return self.document["thresholds"]

    @property
    def fraction(self) -> list:
        """The input-independent gradient fraction per configuration, against kappa2 / kappa1."""
        return self.document["fraction"]


@dataclass(frozen=True, eq=False)
class RmtResult(_StudyResult):
    """:func:`asymexp.rmt`: products of Gaussian matrices against the Fuss-Catalan law (docs/rmt.md).
    Attributes: document (``asymexp rmt --json``), files. Figure: ``moments``."""

    _FIGURES = "asymexp.bn.rmt.rmt_figures"
    _PREFIX = "rmt_"

    @property
    def rows(self) -> list:
        """The rows, one per L and N, with the moments (with SEs), the Fuss-Catalan values and the edge."""
        return self.document["rows"]

    @property
    def finite_size(self) -> list:
        """With several sizes: the fitted finite-N slope of each moment's relative error ([] otherwise)."""
        return self.document.get("finite_size", [])
