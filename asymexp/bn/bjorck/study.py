"""The scan of ``asymexp lr-train``: SGD runs over datasets x norms x learning rates x seeds (docs/batchnorm.md,
"Training at larger rates (Bjorck et al.)"; contract in docs/interfaces.md).

Per dataset (``mnist``: the embedded split, 8,000 training and 2,000 test digits unless ``$ASYMEXP_DATA`` holds the
full set; ``fashion-mnist``: the 60,000 training and 10,000 test images of Debian's dataset-fashion-mnist), per
seed one network draw and one shuffling, shared by every norm and rate (so that the norms are paired seed by seed);
per norm and rate one run of :func:`asymexp.bn.bjorck.sgd.train`. A dataset that is not installed is skipped with
one line saying what to install. The rates form a log grid of ``lr_per_decade`` points a decade from ``lr_min``
to ``lr_max``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asymexp.bn.bjorck.sgd import BLOWUP, LOSSES, train
from asymexp.bn.model import fim_network
from asymexp.budget import Estimate
from asymexp.errors import DataError, SpecError
from asymexp.input_checks import check_integer
from asymexp.inputs.datasets import DATASETS
from asymexp.norms import names

NORMS = names("lr-train")
#: What to install for a dataset that is absent (the one line of a skip).
INSTALL = {"fashion-mnist": "install Debian's dataset-fashion-mnist (apt install dataset-fashion-mnist, files in "
                            "/usr/share/datasets/fashion-mnist) or point $ASYMEXP_DATA at a folder holding its files"}


@dataclass(frozen=True)
class LrTrain:
    """The settings of one scan (the options of ``asymexp lr-train`` under their Python names)."""

    data: tuple = ("mnist", "fashion-mnist")
    norms: tuple = ("none", "bn")
    layers: int = 6
    width: int = 128
    lr_min: float = 1e-3
    lr_max: float = 10.0
    lr_per_decade: int = 2
    seeds: int = 3
    seed: int = 0
    epochs: int = 10
    batch: int = 64
    loss: str = "cross-entropy"
    target: float = 0.9
    evals_per_epoch: int = 2
    record: int = 20
    tolerance: float = 0.02
    train_samples: int | None = None
    test_samples: int | None = None

    def __post_init__(self):
        for name, low in (("layers", 1), ("width", 2), ("lr-per-decade", 1), ("seeds", 1), ("seed", 0),
                          ("epochs", 1), ("batch", 2), ("evals-per-epoch", 1), ("record", 0)):
            check_integer(getattr(self, name.replace("-", "_")), f"--{name}", low)
        for name in ("train_samples", "test_samples"):
            if getattr(self, name) is not None:
                check_integer(getattr(self, name), f"--{name.replace('_', '-')}", 2)
        if not self.data or len(set(self.data)) != len(self.data) or not set(self.data) <= set(DATASETS):
            raise SpecError(f"--data {','.join(self.data)!r} is not allowed; distinct names of {', '.join(DATASETS)}")
        if not self.norms or len(set(self.norms)) != len(self.norms) or not set(self.norms) <= set(NORMS):
            raise SpecError(f"--norm {','.join(self.norms)!r} is not allowed; distinct names of {', '.join(NORMS)}")
        if self.loss not in LOSSES:
            raise SpecError(f"--loss {self.loss!r} is not allowed; allowed: {', '.join(LOSSES)}")
        if not (0 < self.lr_min <= self.lr_max < math.inf):
            raise SpecError(f"--lr-min {self.lr_min!r} and --lr-max {self.lr_max!r}: 0 < lr-min <= lr-max (finite) "
                            "is required")
        if self._points() > 200:
            raise SpecError(f"{self._points()} rates from --lr-min {self.lr_min:g} to --lr-max {self.lr_max:g} at "
                            f"{self.lr_per_decade} a decade; at most 200 are allowed")
        for name in ("target", "tolerance"):
            if not 0 < getattr(self, name) < 1:
                raise SpecError(f"--{name} {getattr(self, name)!r} is not allowed; a number in (0, 1) is required")

    def _points(self) -> int:
        return math.floor((math.log10(self.lr_max) - math.log10(self.lr_min)) * self.lr_per_decade + 1e-9) + 1

    @property
    def rates(self) -> list[float]:
        """lr_min 10^(k / lr_per_decade), k = 0, 1, ... up to lr_max (within rounding)."""
        return [float(10 ** (math.log10(self.lr_min) + k / self.lr_per_decade)) for k in range(self._points())]

    def steps(self, n_train: int) -> int:
        """Updates of one run on ``n_train`` samples (partial batches dropped)."""
        return self.epochs * (n_train // self.batch)

    def eval_every(self, n_train: int) -> int:
        return max(1, (n_train // self.batch) // self.evals_per_epoch)


def load_data(study: LrTrain):
    """({name: (x_train, labels_train, x_test, labels_test) float64 / int64}, [skip entries]). A missing
    fashion-mnist is a skip ``{"data", "why", "install"}``; any other data fault is raised."""
    from asymexp.inputs.datasets import load

    loaded, skipped = {}, []
    for name in study.data:
        try:
            x, y, xt, yt = load(name).arrays(dtype="float64")
        except DataError as exc:
            if name not in INSTALL or "not found" not in str(exc):
                raise
            skipped.append({"data": name, "why": str(exc), "install": INSTALL[name]})
            continue
        n = min(x.shape[0], study.train_samples or x.shape[0])
        if study.batch > n:
            raise SpecError(f"--batch {study.batch} exceeds the {n} training samples of {name}")
        loaded[name] = (x[:study.train_samples], y[:study.train_samples], xt[:study.test_samples],
                        yt[:study.test_samples])
    return loaded, skipped


def estimate(study: LrTrain, sizes: dict) -> Estimate:
    """The price of the scan for datasets of ``sizes`` {name: (n_train, n_test)}: per update 6 B P flops (forward
    2 B P, backward 4 B P, P the weights), per evaluation 2 (n_test + 1000) P, at the end 2 (n_train + n_test) P;
    every run counted in full (a diverged run stops early). Memory: the float64 data, four copies of the weights,
    the activations of the largest evaluated chunk."""
    fans = [784] + [study.width] * study.layers + [10]
    P = float(sum((a + 1) * b for a, b in zip(fans[:-1], fans[1:])))
    runs = len(study.norms) * len(study.rates) * study.seeds
    flops, memory = 0.0, 0.0
    for n_train, n_test in sizes.values():
        evals = study.steps(n_train) // study.eval_every(n_train) + 1
        per_run = (6 * study.batch * study.steps(n_train) + 2 * evals * (n_test + 1000) + 2 * (n_train + n_test)) * P
        flops += runs * per_run
        memory = max(memory, 8.0 * (784 + 1) * (n_train + n_test) + 8.0 * 4 * P
                     + 8.0 * 4096 * study.width * study.layers)
    return Estimate("the lr-train scan", memory, flops)


def run_study(study: LrTrain, data: dict, skipped: list, progress=None) -> dict:
    """The document of docs/interfaces.md, "asymexp lr-train", from the loaded ``data`` (:func:`load_data`).
    ``progress``: called with one line per run."""
    from asymexp.bn.bjorck.bjorck_verdicts import dataset_report, study_verdicts

    rates = study.rates
    runs, reports = [], []
    for name, arrays in data.items():
        n_train = arrays[0].shape[0]
        mine, rms = [], {}
        for seed in range(study.seed, study.seed + study.seeds):
            for norm in study.norms:
                net = fim_network(study.layers, study.width, 10, arrays[0].shape[1], "relu", norm)
                params = net.draw(np.random.default_rng([seed, 0]))      # the same draw for every norm and rate
                for lr in rates:
                    r = train(net, params, arrays, lr, epochs=study.epochs, batch=study.batch, loss=study.loss,
                              seed=seed, eval_every=study.eval_every(n_train), target=study.target,
                              record=study.record)
                    row = {"data": name, "norm": norm, "lr": lr, "seed": seed, "steps": r.steps,
                           "diverged_step": r.diverged_step, "diverged_why": r.diverged_why,
                           "test_accuracy": r.test_accuracy, "test_loss": r.test_loss, "train_loss": r.train_loss,
                           "steps_to_target": r.steps_to_target}
                    mine.append(row)
                    rms[(norm, lr, seed)] = r.activation_rms
                    if progress:
                        progress(f"lr-train: {name} {norm} lr {lr:.3g} seed {seed}: " + (
                            f"diverged at step {r.diverged_step} ({r.diverged_why})" if r.diverged_step is not None
                            else f"test accuracy {r.test_accuracy:.4f}, train loss {r.train_loss:.4g}"))
        runs += mine
        reports.append(dataset_report(study, name, arrays, mine, rms))
    settings = {k: getattr(study, k) for k in LrTrain.__dataclass_fields__}
    settings.update(rates=rates, blowup=BLOWUP, activation="relu", init="He: W ~ N(0, 2/fan_in), b = 0",
                    eval_mode="batch-norm statistics of 1,000 fixed training samples at the current parameters")
    doc = {"settings": settings, "skipped": skipped, "datasets": reports, "runs": runs}
    doc.update(study_verdicts(reports))
    return doc
