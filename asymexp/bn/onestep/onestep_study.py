"""The study behind ``asymexp one-step``: R seeds of one network per norm, one SGD step per rate of a log grid,
the activation moments along a diverging step, the gradients at initialization and the input-independent
fraction over a set of configurations (docs/batchnorm.md, "One-step divergence and gradients at
initialization"; contract in docs/interfaces.md, "asymexp one-step").

Seed s (s = S .. S + R - 1) draws the mini-batch and teacher targets of ``asymexp lr-scan --seed s`` and the
network from seed (s, H, 3) for every norm: the norms are compared on the same batch and the same weights. Every
random number reported is a mean over the R seeds with its standard error (SE) over them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from asymexp.activations import get
from asymexp.errors import SpecError
from asymexp.norms import check, names
from asymexp.bn.model import fim_network, make_data
from asymexp.bn.onestep.gradient_fraction import fraction_row
from asymexp.bn.onestep.onestep_verdicts import study_verdicts
from asymexp.bn.onestep.one_step import (EXPLODE, HIST_EDGES, explosion_threshold, first_divergence,
                                      gradient_statistics, moments_along_step, relative_losses)

NORMS = names("one-step")
#: Fractions of the update at which the activation moments are taken (the rows of the heat map).
STEP_FRACTIONS = tuple(i / 10 for i in range(11))


def _integer(name: str, value, low: int, why: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise SpecError(f"{name} = {value!r} is not allowed; an integer >= {low} is required{why}")


def _positive(name: str, value, zero_ok: bool = False) -> None:
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (value >= 0 if zero_ok else value > 0)
    if not ok:
        raise SpecError(f"{name} = {value!r} is not allowed; a finite number {'>= 0' if zero_ok else '> 0'} "
                        "is required")


@dataclass(frozen=True)
class OneStepStudy:
    """H = ``layers`` hidden layers of width M = ``width``, mini-batch B = ``batch``, ``norms`` (of
    :data:`NORMS`), rates ``lr_points`` log-spaced from ``lr_min`` to ``lr_max``, R = ``seeds`` from ``seed``,
    C = ``outputs``, s_w^2 = ``weight_var`` (s_b^2 = 0 for the main networks); the fraction configurations are
    every (activation, H, s_b^2) of ``fraction_activations`` x ``fraction_layers`` x ``fraction_bias_vars``
    without normalization. ``heat_lr``: the rate of the heat map (None: chosen, see :func:`heat_rate`)."""

    layers: int
    width: int
    batch: int = 64
    activation: str = "relu"
    norms: tuple = NORMS
    lr_min: float = 1e-4
    lr_max: float = 1e3
    lr_points: int = 29
    seeds: int = 8
    seed: int = 0
    outputs: int = 1
    weight_var: float = 2.0
    fraction_activations: tuple = ("relu", "tanh", "sigmoid")
    fraction_layers: tuple = (1, 2, 4, 8)
    fraction_bias_vars: tuple = (0.0, 0.5)
    heat_lr: float | None = None

    def __post_init__(self):
        _integer("layers", self.layers, 1, " (hidden layers)")
        _integer("width", self.width, 2)
        if not self.norms:
            raise SpecError(f"norms is empty; give one or more of {', '.join(NORMS)}")
        for n in self.norms:
            check(n, "one-step")
        if self.batch == 1 and not isinstance(self.batch, bool) and "bn" in self.norms:
            raise SpecError("batch = 1 is not allowed with norm bn: batch norm over a single sample has no "
                            "statistics (zero variance); a batch >= 2 is required")
        _integer("batch", self.batch, 2, " (the input-independent fraction, mean-last and the teacher targets' "
                                          "batch scale need two samples)")
        object.__setattr__(self, "activation", get(self.activation).name)
        for a in self.fraction_activations:
            get(a)
        _integer("lr_points", self.lr_points, 2)
        _integer("seeds", self.seeds, 2, " (a standard error over seeds needs two)")
        _integer("seed", self.seed, 0)
        _integer("outputs", self.outputs, 1)
        _positive("lr_min", self.lr_min)
        _positive("lr_max", self.lr_max)
        if not self.lr_max > self.lr_min:
            raise SpecError(f"lr range [{self.lr_min!r}, {self.lr_max!r}] is empty; lr_max > lr_min is required")
        _positive("weight_var", self.weight_var)
        if self.heat_lr is not None:
            _positive("heat_lr", self.heat_lr)
        for h in self.fraction_layers:
            _integer("fraction layers", h, 1, " (hidden layers)")
        for v in self.fraction_bias_vars:
            _positive("fraction bias variance", v, zero_ok=True)

    @cached_property
    def lrs(self) -> tuple:
        """The rates: ``lr_points`` log-spaced from ``lr_min`` to ``lr_max`` (built on first use, after pricing)."""
        return tuple(float(v) for v in np.geomspace(self.lr_min, self.lr_max, self.lr_points))

    def settings(self) -> dict:
        keys = ("layers", "width", "batch", "activation", "norms", "lr_min", "lr_max", "lr_points", "seeds",
                "seed", "outputs", "weight_var", "fraction_activations", "fraction_layers", "fraction_bias_vars",
                "heat_lr")
        return {k: getattr(self, k) for k in keys} | {"explode": EXPLODE, "step_fractions": list(STEP_FRACTIONS)}


def _finite(v):
    return float(v) if v is not None and math.isfinite(v) else None


def _mean_se(values) -> tuple:
    """(mean, SE over the values, count) of the finite values; SE None below two."""
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return None, None, 0
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else None
    return float(v.mean()), se, int(v.size)


def _networks(study: OneStepStudy, s: int):
    """(x, y, {norm: (net, params)}) of seed s."""
    x, y = make_data("gaussian", study.batch, study.width, study.outputs, study.activation, study.layers, s)
    nets = {}
    for norm in study.norms:
        net = fim_network(study.layers, study.width, study.outputs, study.width, study.activation, norm,
                          study.weight_var, 0.0, "one-step")
        nets[norm] = (net, net.draw(np.random.default_rng([s, study.layers, 3])))
    return x, y, nets


def heat_rate(study: OneStepStudy, runs: list) -> tuple[float, str]:
    """(rate, rule) of the heat map: ``heat_lr`` if given; else the smallest grid rate at which every seed of the
    first norm (``none`` when scanned) exploded; else the largest grid rate."""
    if study.heat_lr is not None:
        return float(study.heat_lr), "given"
    ref = "none" if "none" in study.norms else study.norms[0]
    rows = [r for r in runs if r["norm"] == ref]
    for i, lr in enumerate(study.lrs):
        if all(r["relative_loss"][i] is None or r["relative_loss"][i] > EXPLODE for r in rows):
            return lr, f"smallest rate at which every seed of {ref} exploded (relative loss > {EXPLODE:g})"
    return study.lrs[-1], f"largest rate of the grid ({ref} did not explode for every seed)"


def _loss_curves(study, runs) -> list:
    out = []
    for norm in study.norms:
        rows = [r for r in runs if r["norm"] == norm]
        curve = {"norm": norm, "lrs": list(study.lrs), "log10_relative_loss": [], "log10_relative_loss_se": [],
                 "finite": [], "diverged": [], "exploded": []}
        for i in range(len(study.lrs)):
            rel = [r["relative_loss"][i] for r in rows]
            m, se, n = _mean_se([math.log10(v) for v in rel if v is not None and v > 0])
            curve["log10_relative_loss"].append(m)
            curve["log10_relative_loss_se"].append(se)
            curve["finite"].append(n)
            curve["diverged"].append(sum(v is None for v in rel))
            curve["exploded"].append(sum(v is None or v > EXPLODE for v in rel))
        out.append(curve)
    return out


def _thresholds(study, runs) -> list:
    """Per norm: the explosion rate (geometric mean over the seeds that reached it, SE in log10) and, against
    ``none``, the per-seed ratio in decades (a seed that never exploded counts with the grid's end: a lower
    bound, flagged)."""
    by = {(r["norm"], r["seed"]): r["lr_explode"]["lr"] for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    out = []
    for norm in study.norms:
        lrs = [by[(norm, s)] for s in seeds]
        m, se, n = _mean_se([math.log10(v) for v in lrs if v is not None])
        row = {"norm": norm, "lr_explode": None if m is None else 10 ** m, "log10_lr_explode": m,
               "log10_lr_explode_se": se, "reached": n, "seeds": len(seeds), "per_seed": lrs,
               "decades_above_none": None, "decades_above_none_se": None, "decades_is_lower_bound": False}
        if "none" in study.norms and norm != "none":
            pairs = [(by[(norm, s)], by[("none", s)]) for s in seeds if by[("none", s)] is not None]
            if pairs:
                d = [math.log10((a if a is not None else study.lrs[-1]) / b) for a, b in pairs]
                row["decades_above_none"], row["decades_above_none_se"], _ = _mean_se(d)
                row["decades_is_lower_bound"] = any(a is None for a, _ in pairs)
        out.append(row)
    return out


def _summarize_grids(study, per_norm: dict, key: str) -> dict:
    """Mean and SE over seeds, entry by entry, of the log10 of the (F, H + 1) arrays in per_norm[norm][key]."""
    out = {}
    for norm, items in per_norm.items():
        arr = np.array([it[key] for it in items])                    # (R, F, H + 1)
        with np.errstate(all="ignore"):
            logs = np.log10(arr)
        mean = np.full(arr.shape[1:], np.nan)
        se = np.full(arr.shape[1:], np.nan)
        bad = np.zeros(arr.shape[1:], dtype=int)
        for idx in np.ndindex(*arr.shape[1:]):
            m, s, n = _mean_se(list(logs[(slice(None),) + idx]))
            mean[idx] = np.nan if m is None else m
            se[idx] = np.nan if s is None else s
            bad[idx] = arr.shape[0] - n
        out[norm] = {"log10": [[_finite(v) for v in row] for row in mean],
                     "log10_se": [[_finite(v) for v in row] for row in se], "nonfinite": bad.tolist()}
    return out


def _gradients(study, stats: dict) -> tuple[list, dict]:
    rows, hists = [], {}
    for norm, items in stats.items():
        hists[norm] = []
        for l in range(study.layers + 1):
            per = [it[l] for it in items]
            row = {"norm": norm, "layer": l + 1}
            for key in ("rms", "excess_kurtosis", "mean_share"):
                row[key], row[f"{key}_se"], _ = _mean_se([p[key] for p in per])
            rows.append(row)
            hists[norm].append(np.sum([p["counts"] for p in per], axis=0).tolist())
    return rows, {"edges_in_rms": HIST_EDGES.tolist(), "counts": hists}


def fraction_configs(study: OneStepStudy) -> list[tuple]:
    """(activation, H, s_b^2, norm): the grid without normalization, then the main network with each norm."""
    out = [(a, h, float(v), "none") for a in study.fraction_activations for h in study.fraction_layers
           for v in study.fraction_bias_vars]
    out += [(study.activation, study.layers, 0.0, n) for n in study.norms]
    return list(dict.fromkeys((get(a).name, h, v, n) for a, h, v, n in out))


def run_study(study: OneStepStudy, progress=None) -> dict:
    """The document of docs/interfaces.md, "asymexp one-step". ``progress``: called with one line per step."""
    say = progress or (lambda s: None)
    seeds = range(study.seed, study.seed + study.seeds)
    runs, grad_stats = [], {n: [] for n in study.norms}
    for s in seeds:
        x, y, nets = _networks(study, s)
        for norm, (net, params) in nets.items():
            res = relative_losses(net, params, x, y, study.lrs)
            row = {"seed": s, "norm": norm, "initial_loss": _finite(res["initial_loss"]),
                   "relative_loss": [_finite(v) for v in res["relative_loss"]], "layer": res["layer"]}
            row["lr_explode"] = explosion_threshold(study.lrs, row["relative_loss"])
            row["divergence"] = first_divergence(study.lrs, res["layer"])
            runs.append(row)
            if res["grads"] is not None:
                grad_stats[norm].append(gradient_statistics(res["grads"]))
            div = row["divergence"]
            say(f"one-step: seed {s}, {norm}: explodes at lr {_fmt(row['lr_explode']['lr'])}"
                + (f", first non-finite at lr {div['lr']:.3g} in layer {div['layer']}" if div else ""))
    lr, rule = heat_rate(study, runs)
    moments = {n: [] for n in study.norms}
    for s in seeds:
        x, y, nets = _networks(study, s)
        for norm, (net, params) in nets.items():
            grads = relative_losses(net, params, x, y, [])["grads"]
            if grads is not None:
                m, v = moments_along_step(net, params, grads, x, lr, STEP_FRACTIONS)
                moments[norm].append({"mean": m, "variance": v})
    say(f"one-step: activation moments along the step at lr {lr:.4g} done")
    heat = {"lr": lr, "rule": rule, "step_fractions": list(STEP_FRACTIONS),
            "columns": [str(l) for l in range(1, study.layers + 1)] + ["output"],
            "mean_abs_channel_mean": _summarize_grids(study, {k: v for k, v in moments.items() if v}, "mean"),
            "channel_variance": _summarize_grids(study, {k: v for k, v in moments.items() if v}, "variance")}
    grad_rows, hists = _gradients(study, {k: v for k, v in grad_stats.items() if v})
    fractions = []
    for act, h, bv, norm in fraction_configs(study):
        row = fraction_row(act, h, study.width, study.batch, norm, seeds, study.outputs, study.weight_var, bv)
        fractions.append(row)
        say(f"one-step: fraction {act} H={h} s_b^2={bv:g} {norm}: {row['fraction']:.4f} "
            f"+- {_num(row['fraction_se'])} (theory {_num(row['theory'])}, kappa2/kappa1 {_num(row['kappa_ratio'])})")
    doc = {"settings": study.settings(), "thresholds": _thresholds(study, runs),
           "loss_curves": _loss_curves(study, runs), "runs": runs, "heatmap": heat,
           "gradients": grad_rows, "histograms": hists, "fraction": fractions}
    return _json_safe(dict(doc, **study_verdicts(doc)))


def _json_safe(obj):
    """``obj`` with every non-finite float replaced by None (strict JSON; an overflow is reported as null)."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return _finite(float(obj))
    return obj


def _fmt(v) -> str:
    return "none in the grid" if v is None else f"{v:.4g}"


def _num(v) -> str:
    return "-" if v is None else f"{v:.4g}"
