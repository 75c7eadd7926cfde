"""The scan behind ``asymexp lr-scan``: for every (depth, norm) one network at initialization, its two GD
thresholds and their predictions (docs/batchnorm.md, "Learning-rate thresholds"; contract in docs/interfaces.md).

Per row: the same data (seed S), a network drawn from seed (S, H); ``predicted_lr_stable`` = 2 / lambda_max of the
measured dual Theta / T of that very network and batch (with mean-last: of the mean-subtracted dual; with bn: of
the batch function's dual), ``linear_lr_stable_bracket`` the K-step threshold of the model linearized at
initialization (:mod:`asymexp.bn.lrscan.lr_verdicts`, which judges lr_stable), ``theory_lr_stable`` from the
order parameters (none: 2 / predicted lambda_max; mean-last, bn-last and ln: 2 / the lower bound of
docs/batchnorm.md, "The laws", an upper bound on the rate; bn: no law, None). Widths: :mod:`asymexp.bn.lrscan.widths`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asymexp.errors import SpecError
from asymexp.norms import check, entry
from asymexp.bn.lrscan.full_batch import gd_trial
from asymexp.bn.lrscan.lr_verdicts import linear_threshold, scan_verdicts
from asymexp.bn.model import DATA, fim_network, loss_and_gradient, make_data, output_values
from asymexp.bn.lrscan.thresholds import bisect_threshold, creep_threshold, ends_below_start, falls_monotonically
from asymexp.bn.order_parameters import fim_predictions, input_overlaps, order_parameters


#: How lr_stable is searched from 2 / lambda_max (docs/batchnorm.md, "Learning-rate thresholds").
SEARCHES = ("bisect", "creep")


@dataclass(frozen=True)
class LrScan:
    """``layers`` (tuple of H >= 1), width M >= 2, activation, ``norms`` (tuple of
    :data:`asymexp.bn.lrscan.full_batch.NORMS`), ``data``, ``samples`` T >= 2, ``steps`` K >= 1, ``seed``,
    C = ``outputs`` (gaussian only; mnist has 10), bracket ``ratio``, and the ``search`` of lr_stable
    (:data:`SEARCHES`: ``bisect``, :func:`~asymexp.bn.lrscan.thresholds.bisect_threshold`; ``creep``,
    :func:`~asymexp.bn.lrscan.thresholds.creep_threshold`)."""

    layers: tuple
    width: int
    activation: str = "relu"
    norms: tuple = ("none",)
    data: str = "gaussian"
    samples: int = 256
    steps: int = 30
    seed: int = 0
    outputs: int = 1
    ratio: float = 1.1
    search: str = "bisect"

    def __post_init__(self):
        if not self.layers:
            raise SpecError("layers is empty; give at least one depth >= 1")
        for h in self.layers:
            if isinstance(h, bool) or int(h) != h or h < 1:
                raise SpecError(f"layers {h!r} is not allowed; hidden-layer counts must be integers >= 1")
        if isinstance(self.width, bool) or int(self.width) != self.width or self.width < 2:
            raise SpecError(f"width = {self.width!r} is not allowed; an integer >= 2 is required")
        for n in self.norms:
            check(n, "lr-scan")
        if self.data not in DATA:
            raise SpecError(f"data {self.data!r} is unknown; allowed: {', '.join(DATA)}")
        if int(self.samples) != self.samples or self.samples < 2:
            why = ("batch statistics of a single sample are undefined for bn and mean-last"
                   if any(entry(n).kind is not None for n in self.norms) else
                   "the teacher targets are scaled by their batch standard deviation")
            raise SpecError(f"samples = {self.samples!r} is not allowed: {why}; T >= 2 is required")
        if int(self.steps) != self.steps or self.steps < 1:
            raise SpecError(f"steps = {self.steps!r} is not allowed; K >= 1 is required")
        if int(self.outputs) != self.outputs or self.outputs < 1:
            raise SpecError(f"outputs = {self.outputs!r} is not allowed; C >= 1 is required")
        if not 1 < self.ratio <= 10:
            raise SpecError(f"--ratio {self.ratio!r} is not allowed; a bracket ratio in (1, 10] is required (the "
                            "bisection stops when hi / lo is at most this)")
        if self.search not in SEARCHES:
            raise SpecError(f"--search {self.search!r} is not allowed; allowed: {', '.join(SEARCHES)}")

    @property
    def out_dim(self) -> int:
        return 10 if self.data == "mnist" else self.outputs

    @property
    def input_dim(self) -> int:
        return 784 if self.data == "mnist" else self.width


def _theory(scan: LrScan, layers: int, norm: str, x) -> tuple:
    """(theory lambda (or its lower bound), its quadrature error bound, kind) for this row."""
    qhat0, qhat_st0 = (1.0, 0.0) if scan.data == "gaussian" else (input_overlaps(x)[0], input_overlaps(x)[2])
    op = order_parameters(scan.activation, layers, 2.0, 0.0, qhat0, qhat_st0)
    pr = fim_predictions(op, scan.width, scan.samples, scan.out_dim, scan.input_dim)
    if norm == "none":
        return pr["lambda_max"], pr["error"], "2 / predicted lambda_max"
    if norm == "mean-last":
        return pr["lower_bound"], pr["error"], "2 / lower bound of lambda_max (an upper bound on the rate)"
    if norm == "bn-last":             # the bulk divided by the outputs' batch variance q^L - q_st^L
        return (pr["lower_bound"] / (op.q[-1] - op.q_st[-1]), pr["error"],
                "2 / lower bound of lambda_max, the bulk over the outputs' batch variance (an upper bound on the rate)")
    if norm == "ln":                  # the output block of the unit-variance chain
        unit = order_parameters(scan.activation, layers, 2.0, 0.0, qhat0, qhat_st0, normalized=True)
        return (scan.width * unit.qhat_st[-1], unit.error * scan.width,
                "2 / the output block's lower bound M qhat_st^H of the unit-variance chain "
                "(an upper bound on the rate)")
    return None, None, "no law for batch norm in the hidden layers"


def _divergence(trials: dict) -> dict | None:
    """The smallest scanned rate whose run became non-finite: its rate, step and layer."""
    bad = sorted((t for t in trials.values() if t.diverged_step is not None), key=lambda t: t.lr)
    if not bad:
        return None
    t = bad[0]
    return {"lr": t.lr, "step": t.diverged_step, "layer": t.diverged_layer}


def scan_row(scan: LrScan, layers: int, norm: str, x, y) -> dict:
    """One row of the contract (docs/interfaces.md, "asymexp lr-scan") plus the diagnostics (the measured
    lambda_max from the FIM's dual, :mod:`asymexp.bn.dual`)."""
    from asymexp.bn.dual import network_theta, spectrum

    net = fim_network(layers, scan.width, scan.out_dim, scan.input_dim, scan.activation, norm)
    params = net.draw(np.random.default_rng([scan.seed, layers, 3]))
    theta, _, fwd = network_theta(net, params, x)
    lam = spectrum(theta, scan.samples, scan.out_dim, net.parameters, vectors=False)["lambda_max"]
    theory, theory_err, kind = _theory(scan, layers, norm, x)
    trials = {}

    def trial(lr):
        if lr not in trials:
            trials[lr] = gd_trial(lambda p: loss_and_gradient(net, p, x, y), params, lr, scan.steps)
        return trials[lr]

    guess = 2.0 / lam
    search = creep_threshold if scan.search == "creep" else bisect_threshold
    stable = search(lambda lr: falls_monotonically(trial(lr).losses), guess, scan.ratio)
    start = stable["bracket"][0] or guess
    top = bisect_threshold(lambda lr: ends_below_start(trial(lr).losses), start, scan.ratio)
    row = {"layers": layers, "width": scan.width, "norm": norm, "samples": scan.samples, "steps": scan.steps,
           "lr_stable": stable["value"], "lr_stable_bracket": stable["bracket"], "lr_stable_status": stable["status"],
           "predicted_lr_stable": guess, "lambda_max": lam,
           "theory_lr_stable": None if theory is None else 2.0 / theory,
           "theory_lambda_max": theory, "theory_lambda_error": theory_err, "theory_kind": kind,
           "lr_max": top["value"], "lr_max_bracket": top["bracket"], "lr_max_status": top["status"],
           "initial_loss": trial(guess).losses[0], "trials": len(trials), "divergence": _divergence(trials)}
    with np.errstate(all="ignore"):
        linear = linear_threshold(theta, output_values(net, fwd.outputs) - y, scan.samples, scan.steps, scan.ratio)
    row["linear_lr_stable_bracket"] = linear["bracket"]
    row["ratio_max_to_stable"] = _ratio(row)
    row["stable_over_predicted"] = None if stable["value"] is None else stable["value"] / guess
    return row


def _ratio(row) -> dict | None:
    """lr_max / lr_stable with its range from the two brackets."""
    (a, b), (c, d) = row["lr_stable_bracket"], row["lr_max_bracket"]
    if None in (a, b, c, d):
        return None
    return {"value": row["lr_max"] / row["lr_stable"], "range": [c / b, d / a]}


def run_scan(scan: LrScan, progress=None) -> dict:
    """The document of docs/interfaces.md, "asymexp lr-scan". ``progress``: called with one line per row."""
    pool = None
    if scan.data == "mnist":
        from asymexp.inputs.datasets import load

        arrays = load("mnist").arrays(dtype="float64")
        pool = (arrays[0], arrays[1])
    rows = []
    for norm in scan.norms:
        for h in scan.layers:
            x, y = make_data(scan.data, scan.samples, scan.width, scan.out_dim, scan.activation, h, scan.seed,
                             pool)
            row = scan_row(scan, h, norm, x, y)
            rows.append(row)
            if progress:
                progress(f"lr-scan: norm {norm}, layers {h}: lr_stable {_fmt(row['lr_stable'])} "
                         f"(2/lambda_max {row['predicted_lr_stable']:.4g}), lr_max {_fmt(row['lr_max'])}")
    settings = {k: getattr(scan, k) for k in ("layers", "width", "activation", "norms", "data", "samples",
                                               "steps", "seed", "ratio", "search")}
    settings["outputs"] = scan.out_dim
    return {"settings": settings, "rows": rows, **scan_verdicts(rows)}


def _fmt(v) -> str:
    return "undetermined" if v is None else f"{v:.4g}"
