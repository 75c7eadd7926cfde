"""The width sweep behind ``asymexp lr-scan --widths``: the two GD thresholds of K networks per (width, depth,
norm), their width exponents and verdicts (docs/batchnorm.md, "Learning-rate thresholds", "Against width";
contract in docs/interfaces.md, "asymexp lr-scan").

Network n (0 <= n < K) at width M is exactly the single-width scan ``asymexp lr-scan --width M --samples T
--seed S + 1000 M + n --search creep`` (:meth:`LrWidthScan.scan_at`): its own batch, teacher and weights,
independent of every other width's and of the grid around it. T = ``samples`` at every width, or round(M / rho) (``rho`` = M / T, as
``asymexp fim --rho``). Per (width, depth, norm) one row: the geometric means over the networks of lr_stable,
lr_max and 2 / lambda_max with their SEs (:func:`asymexp.bn.lrscan.width_fits.log_mean`), the networks' own rows
under ``per_network``; per (norm, depth) the ``fits`` of :mod:`asymexp.bn.lrscan.width_fits`.
"""
from __future__ import annotations

from dataclasses import dataclass

from asymexp.errors import SpecError
from asymexp.input_checks import check_samples_or_rho, is_whole, samples_at
from asymexp.bn.lrscan.lr_verdicts import scan_verdicts
from asymexp.bn.lrscan.scan import LrScan, scan_row
from asymexp.bn.lrscan.width_fits import (QUANTITIES, exponent_entry, log_mean, predicted_exponent,
                                          summary_entries)
from asymexp.bn.model import make_data
from asymexp.stats.interval_verdicts import summary

#: Seeds of one width are S + STRIDE M + n, so at most STRIDE networks per width.
STRIDE = 1000


@dataclass(frozen=True)
class LrWidthScan:
    """``layers`` (tuple of H >= 1), ``widths`` (at least 2 distinct M >= 2), activation, ``norms``, ``data``,
    either ``samples`` T or ``rho`` = M / T, ``steps`` K, ``seed``, C = ``outputs``, bracket ``ratio`` and
    ``networks`` per width (2 .. :data:`STRIDE`) and the ``search`` of lr_stable (default ``creep``: the
    transition nearest 2 / lambda_max, the classical threshold even where the rule is not monotone)."""

    layers: tuple
    widths: tuple
    activation: str = "relu"
    norms: tuple = ("none",)
    data: str = "gaussian"
    samples: int | None = None
    rho: float | None = None
    steps: int = 30
    seed: int = 0
    outputs: int = 1
    ratio: float = 1.1
    networks: int = 4
    search: str = "creep"

    def __post_init__(self):
        if len(self.widths) < 2 or len(set(self.widths)) != len(self.widths):
            raise SpecError(f"--widths {','.join(map(str, self.widths))}: at least 2 distinct widths are required "
                            "(--width M for one)")
        if not is_whole(self.networks) or not 2 <= self.networks <= STRIDE:
            raise SpecError(f"networks = {self.networks!r} is not allowed; 2 .. {STRIDE} networks per width are "
                            "required (2 for a standard error)")
        for m in self.widths:
            if not is_whole(m) or m < 2:
                raise SpecError(f"width {m!r} is not allowed; widths must be integers >= 2")
        check_samples_or_rho(self.samples, self.rho, self.widths)
        for m in self.widths:
            self.scan_at(m, 0)                  # the single-width checks (layers, norms, data, steps, ...)

    @property
    def fixed_rho(self) -> bool:
        return self.rho is not None

    def samples_at(self, width: int) -> int:
        """T at width M."""
        return samples_at(width, self.samples, self.rho)

    def scan_at(self, width: int, network: int) -> LrScan:
        """The single-width scan whose rows are network ``network`` at ``width``."""
        return LrScan(layers=self.layers, width=width, activation=self.activation, norms=self.norms,
                      data=self.data, samples=self.samples_at(width), steps=self.steps,
                      seed=self.seed + STRIDE * width + network, outputs=self.outputs, ratio=self.ratio,
                      search=self.search)


def width_row(sweep: LrWidthScan, width: int, layers: int, norm: str, pool=None) -> dict:
    """One row of the contract: the K networks at this width and their geometric means with SEs."""
    per = []
    for n in range(sweep.networks):
        scan = sweep.scan_at(width, n)
        x, y = make_data(scan.data, scan.samples, width, scan.out_dim, scan.activation, layers, scan.seed, pool)
        per.append(dict(scan_row(scan, layers, norm, x, y), seed=scan.seed, network=n))
    row = {"width": width, "layers": layers, "norm": norm, "samples": sweep.samples_at(width),
           "networks": sweep.networks}
    for key in QUANTITIES + ("predicted_lr_stable", "theory_lr_stable"):
        brackets = [r[f"{key}_bracket"] for r in per] if key in QUANTITIES else None
        stats = log_mean([r[key] for r in per], brackets)
        count = 0 if stats is None else stats["count"]
        row[f"{key}_count"] = count
        if key in QUANTITIES:
            missing = [r[f"{key}_status"] for r in per if r[key] is None]
            row[f"{key}_status"] = (f"{len(missing)} of {len(per)} networks not bracketed ({missing[0]})" if missing
                                    else "bracketed")
        if stats is None or count < len(per) and key in QUANTITIES:
            stats = None                 # a mean over the bracketed networks alone would be biased
        row[key] = None if stats is None else stats["value"]
        row[f"{key}_se"] = None if stats is None else stats["se"]
    row["per_network"] = per
    return row


def run_widths(sweep: LrWidthScan, progress=None) -> dict:
    """The document of docs/interfaces.md, "asymexp lr-scan" (``--widths``). ``progress``: one line per row."""
    pool = None
    if sweep.data == "mnist":
        from asymexp.inputs.datasets import load

        arrays = load("mnist").arrays(dtype="float64")
        pool = (arrays[0], arrays[1])
    rows, fits, references = [], [], []
    for norm in sweep.norms:
        for h in sweep.layers:
            group = []
            for m in sweep.widths:
                row = width_row(sweep, m, h, norm, pool)
                group.append(row)
                if progress:
                    progress(f"lr-scan: norm {norm}, layers {h}, width {m}: lr_stable {_fmt(row, 'lr_stable')} "
                             f"(2/lambda_max {_fmt(row, 'predicted_lr_stable')}), lr_max {_fmt(row, 'lr_max')}")
            rows += group
            for q in QUANTITIES:
                predicted, why = predicted_exponent(norm, sweep.activation, h, sweep.fixed_rho, q, sweep.data)
                fits.append(exponent_entry(group, q, predicted, why, sweep.fixed_rho))
            predicted, why = predicted_exponent(norm, sweep.activation, h, sweep.fixed_rho, "lr_stable", sweep.data)
            references.append(exponent_entry(group, "predicted_lr_stable", predicted,
                                             "2/lambda_max of the measured FIM: " + why, sweep.fixed_rho))
    settings = {k: getattr(sweep, k) for k in ("layers", "widths", "activation", "norms", "data", "samples", "rho",
                                                "steps", "seed", "ratio", "networks", "search")}
    settings.update(outputs=sweep.scan_at(sweep.widths[0], 0).out_dim,
                    samples_at={str(m): sweep.samples_at(m) for m in sweep.widths})
    judged = scan_verdicts([r for row in rows for r in row["per_network"]])
    overall = summary(judged["verdicts"] + summary_entries(fits))
    widths_only = summary(summary_entries(fits))
    return {"settings": settings, "rows": rows, "fits": fits, "reference_fits": references,
            "fits_verdict": widths_only["verdict"], "fits_verdict_reason": widths_only["verdict_reason"],
            "verdicts": judged["verdicts"], "not_judged": judged["not_judged"], **overall}


def _fmt(row: dict, key: str) -> str:
    if row[key] is None:
        return "undetermined"
    return f"{row[key]:.4g} +- {row[f'{key}_se']:.2g}"
