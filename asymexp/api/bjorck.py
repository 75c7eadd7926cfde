"""The verb of ``asymexp lr-train`` and its typed result: SGD of deep ReLU MLPs on MNIST (and Fashion-MNIST when
installed) with and without batch norm across learning rates (docs/batchnorm.md, "Training at larger rates
(Bjorck et al.)"; the run folder and pricing as the other study verbs, :mod:`asymexp.api.studies`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from asymexp import budget
from asymexp.api.study_results import _StudyResult, plain
from asymexp.input_checks import comma_list, finite_number
from asymexp.json_out import dumps
from asymexp.run_folder import claim_given


@dataclass(frozen=True, eq=False)
class LrTrainResult(_StudyResult):
    """:func:`asymexp.lr_train`. Attributes: document (``asymexp lr-train --json``), files, ``datasets`` (per
    dataset the rows per norm and rate, the largest trainable rates, the paired differences, the activation
    growth), ``runs`` (every run's final metrics), ``skipped``. Figures: ``rates``, ``activations``."""

    _FIGURES = "asymexp.bn.bjorck.bjorck_figures"
    _PREFIX = "lr_train_"

    @property
    def settings(self) -> dict:
        return self.document["settings"]

    @property
    def datasets(self) -> list:
        return self.document["datasets"]

    @property
    def runs(self) -> list:
        return self.document["runs"]

    @property
    def skipped(self) -> list:
        """The datasets not installed here, each with what to install."""
        return self.document["skipped"]


def _names(value, option):
    return tuple(dict.fromkeys(comma_list(value, option, str, "a comma-separated list of names is required")))


def lr_train(*, data="mnist,fashion-mnist", norm="none,bn", layers: int = 6, width: int = 128, lr_min=1e-3,
             lr_max=10.0, lr_per_decade: int = 2, seeds: int = 3, seed: int = 0, epochs: int = 10,
             batch: int = 64, loss: str = "cross-entropy", target=0.9, evals_per_epoch: int = 2, record: int = 20,
             tolerance=0.02, train_samples: int | None = None, test_samples: int | None = None, out=None,
             yes_long_run: bool = False, progress=None):
    """``asymexp lr-train``: the scan of :mod:`asymexp.bn.bjorck.study` (settings :class:`LrTrain`, same names).

    Args:
        data: datasets ("mnist,fashion-mnist"; an absent fashion-mnist is skipped with what to install). norm:
            of none, bn, mean-last. layers, width: H hidden layers of M units (relu, He initialization).
        lr_min, lr_max, lr_per_decade: the log grid of rates. seeds from seed. epochs, batch: the SGD run.
        loss: cross-entropy or mse. target: the test accuracy timed. evals_per_epoch: test evaluations per
        epoch. record: mini-batches of activation norms kept (after the first). tolerance: "trainable" means
        within it of the norm's best accuracy. train_samples, test_samples: the first n of each split (None:
        all). out: folder for lr_train.json and the figures lr_train_rates, lr_train_activations.
    Returns:
        :class:`LrTrainResult`.
    """
    from asymexp.api.studies import _sink
    from asymexp.bn.bjorck.study import LrTrain, estimate, load_data, run_study

    study = LrTrain(data=_names(data, "--data"), norms=_names(norm, "--norm"), layers=layers, width=width,
                    lr_min=finite_number(lr_min, "--lr-min"), lr_max=finite_number(lr_max, "--lr-max"),
                    lr_per_decade=lr_per_decade, seeds=seeds, seed=seed, epochs=epochs, batch=batch, loss=loss,
                    target=finite_number(target, "--target"), evals_per_epoch=evals_per_epoch, record=record,
                    tolerance=finite_number(tolerance, "--tolerance"), train_samples=train_samples,
                    test_samples=test_samples)
    say = _sink(progress)
    arrays, skipped = load_data(study)
    sizes = {k: (v[0].shape[0], v[2].shape[0]) for k, v in arrays.items()}
    budget.check(estimate(study, sizes), yes_long_run, prog="asymexp lr-train")   # a refusal is its one line
    for s in skipped:
        if say is not None:
            say(f"asymexp lr-train: {s['data']} skipped: not installed; {s['install']}")
    with claim_given(out or None, "lr-train", dataclasses.asdict(study)):
        doc = plain(run_study(study, arrays, skipped, progress=say))
        files = ()
        if out:
            from asymexp.bn.bjorck.bjorck_figures import save_figures
            from asymexp.figure_files import write_outputs

            files = write_outputs(out, doc, save_figures, [("lr_train.json", lambda d: dumps(d) + "\n")])
    return LrTrainResult(document=doc, files=tuple(files))
