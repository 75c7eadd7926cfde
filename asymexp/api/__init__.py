"""asymexp.api: the small public Python surface (five verbs, six study verbs, their typed results).

One :class:`~asymexp.spec.NetworkSpec`, or plain values (gammas as ``"7/10,1"``, ``0.9``, ``Fraction(9, 10)``,
NumPy scalars or arrays such as ``np.linspace(0.5, 1, 3)``), goes into every verb; gammas are parsed once, by
``NetworkSpec``, and stay exact (``0.9`` is reported as ``"9/10"``).

- :func:`derive` (spec, order) -> :class:`DerivationResult`: exact exponents (``asymexp.symbolic.derive``);
- :func:`theory` (problem, gamma, times) -> :class:`TheoryResult`: h, V (Q1, Q2, Q3 for one hidden layer);
- :func:`simulate` (spec, x, y, points, times, replicas) -> :class:`SimulationResult` (``asymexp.sim``);
- :func:`validate` (problem, gammas, widths, replicas) -> :class:`ValidationResult` (``asymexp.validation``);
- :func:`train` (spec or gammas, widths, epochs) -> :class:`TrainingResult` (the MNIST trainer);
- the batch-normalization studies (docs/batchnorm.md), one verb per command with its parameters and defaults:
  :func:`fim`, :func:`gram`, :func:`lr_scan`, :func:`one_step`, :func:`rmt`, :func:`lr_train` ->
  :class:`FimResult`, :class:`GramResult`, :class:`LrScanResult`, :class:`OneStepResult`, :class:`RmtResult`,
  :class:`LrTrainResult`, whose ``to_dict()`` is the command's ``--json`` document (:mod:`asymexp.api.studies`,
  :mod:`asymexp.api.gram_studies` with the Gram chain's batch-size and mixing modes, :mod:`asymexp.api.bjorck`);
- :func:`process` (problem, gamma, times, widths, replicas) -> :class:`ProcessResult`: the fluctuation as a process
  over points and times, its covariance and cumulants against simulation (:mod:`asymexp.api.process_study`).

Every result is frozen and has ``to_dict()`` (JSON-ready: fractions as ``"7/10"``, arrays as lists, non-finite
floats as None), ``to_json(**kw)`` and ``plot(**kw)``, which returns a ``matplotlib.figure.Figure`` without
touching pyplot or the global backend (a notebook shows it; ``fig.savefig(path)`` saves it). Bad input raises
an :class:`asymexp.errors.AsymexpError` subclass whose message names the value and what is allowed.

Nothing heavy is imported here; the names load on first use.
"""
from asymexp.lazy import lazy_attributes

_NAMES = {
    "derive": "verbs", "theory": "verbs", "simulate": "verbs", "validate": "verbs", "train": "verbs",
    "DerivationResult": "results", "TheoryResult": "results", "SimulationResult": "results",
    "ValidationResult": "results", "TrainingResult": "results",
    "fim": "studies", "gram": "gram_studies", "gram_batches": "gram_studies", "gram_mixing": "gram_studies", "lr_scan": "studies", "one_step": "studies", "rmt": "studies",
    "FimResult": "study_results", "GramResult": "study_results", "LrScanResult": "study_results",
    "OneStepResult": "study_results", "RmtResult": "study_results",
    "lr_train": "bjorck", "LrTrainResult": "bjorck",
    "process": "process_study", "ProcessResult": "process_study",
}


__getattr__ = lazy_attributes(__name__, _NAMES, globals())


__all__ = sorted(_NAMES)
