"""The tables and verdicts of ``asymexp lr-train`` (docs/batchnorm.md, "Training at larger rates (Bjorck et al.)";
the entries' shape: docs/interfaces.md, "Verdict entries").

Per dataset, norm and rate (``rows``): diverged seeds, test accuracy, training loss and updates to the target
test accuracy, each mean +- SE over the seeds that finished (SE = sd / sqrt(n), None with one seed).

The claims of Bjorck et al. in the toolkit's formalization, and how each is judged:

- "at a small rate BN and no-BN train about equally": a claim about trained nets. The paired (same seed: same
  draw, same shuffling) difference of final test accuracy, bn - none, is judged at the smallest grid rate where no
  seed of either diverged and both norms fit their training set (mean final training loss at most
  :data:`TRAINED_LOSS`), against 0 within :data:`EQUAL_WITHIN` (1 percentage point: the formalization of "about
  equal"); an SE interval wider than that cannot say "equal": undetermined. At the smaller rates, where one of
  the nets is still training when the run ends, a difference measures how fast each starts, not where it ends:
  one undetermined entry says so and that more epochs would settle it (a run shorter than training to the end
  cannot refute the claim);
- "above its threshold an unnormalized net's activations grow with depth": at the smallest grid rate where every
  seed of none diverged, the per-seed least-squares slope of log10 RMS(h^l) over the layers l = 1..H at the last
  recorded mini-batch where every seed is finite (``k_star``); none is predicted to grow by more than
  :data:`GROWTH` decades a layer (agree when the whole 95% interval lies above it, disagree when it lies below,
  else undetermined); bn is predicted not to grow, 0 within GROWTH;
- not judged (no value is predicted): the largest trainable rate of each norm and their ratio, and the best
  accuracy over the grid of each norm.
"""
from __future__ import annotations

import math

import numpy as np

from asymexp.stats.interval_verdicts import (AGREE, DISAGREE, UNDETERMINED, Z95, judge, not_judged, summary,
                                             undetermined)

#: "About equal": within 1 percentage point of test accuracy.
EQUAL_WITHIN = 0.01
#: A net "fits its training set" when its mean final training loss (cross-entropy in nats, or the MSE
#: (1/2) ||f - onehot||^2) is at most this: for cross-entropy a mean probability of the right class of about 0.95.
TRAINED_LOSS = 0.05
#: Growth with depth: more than 0.05 decades of RMS a layer (a factor 1.12 a layer, 2 over six layers).
GROWTH = 0.05


def mean_se(values) -> tuple:
    """(mean, SE = sd / sqrt(n)) of the non-None values; (None, None) without any, SE None with one."""
    v = np.array([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return None, None
    return float(v.mean()), (float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else None)


def rate_rows(runs: list, norms, rates) -> list:
    """One row per norm and rate of one dataset's runs."""
    rows = []
    for norm in norms:
        for lr in rates:
            mine = [r for r in runs if r["norm"] == norm and r["lr"] == lr]
            ok = [r for r in mine if r["diverged_step"] is None]
            acc, acc_se = mean_se(r["test_accuracy"] for r in ok)
            loss, loss_se = mean_se(r["train_loss"] for r in ok)
            hits = [r["steps_to_target"] for r in ok if r["steps_to_target"] is not None]
            tta, tta_se = mean_se(hits)
            rows.append({"norm": norm, "lr": lr, "seeds": len(mine), "diverged": len(mine) - len(ok),
                         "diverged_steps": [r["diverged_step"] for r in mine if r["diverged_step"] is not None],
                         "test_accuracy": acc, "test_accuracy_se": acc_se, "train_loss": loss,
                         "train_loss_se": loss_se, "reached_target": len(hits), "steps_to_target": tta,
                         "steps_to_target_se": tta_se})
    return rows


def largest_rates(rows: list, norms, rates, tolerance: float) -> list:
    """Per norm: ``lr_finite``, the largest grid rate at which no seed diverged, and ``lr_trainable``, the largest
    at which no seed diverged and the mean test accuracy is within ``tolerance`` of the norm's best mean; each
    with ``*_bracket`` [rate, next grid rate] (next None: the grid's top rate passed, a lower bound only)."""
    out = []
    for norm in norms:
        mine = {r["lr"]: r for r in rows if r["norm"] == norm}
        ok = [lr for lr in rates if mine[lr]["diverged"] == 0 and mine[lr]["test_accuracy"] is not None]
        best = max((mine[lr]["test_accuracy"] for lr in ok), default=None)
        good = [lr for lr in ok if mine[lr]["test_accuracy"] >= best - tolerance] if ok else []
        entry = {"norm": norm, "best_accuracy": best,
                 "best_lr": None if best is None else max(ok, key=lambda lr: mine[lr]["test_accuracy"])}
        for key, passed in (("lr_finite", ok), ("lr_trainable", good)):
            top = max(passed, default=None)
            nxt = None if top is None else next((lr for lr in rates if lr > top), None)
            entry[key] = top
            entry[f"{key}_bracket"] = None if top is None else [top, nxt]
            entry[f"{key}_bracketed"] = top is not None and nxt is not None
        out.append(entry)
    return out


def paired_differences(runs: list, rates) -> list:
    """bn - none final test accuracy per seed at each rate where no seed of either diverged: mean, SE, n."""
    out = []
    for lr in rates:
        by = {(r["norm"], r["seed"]): r for r in runs if r["lr"] == lr}
        seeds = sorted({s for (_, s) in by})
        if not all(("none", s) in by and ("bn", s) in by for s in seeds):
            continue
        pairs = [(by[("bn", s)]["test_accuracy"], by[("none", s)]["test_accuracy"]) for s in seeds]
        if any(a is None or b is None for a, b in pairs):
            continue
        m, se = mean_se([a - b for a, b in pairs])
        out.append({"lr": lr, "difference": m, "se": se, "seeds": len(pairs)})
    return out


def _log10(v):
    return math.log10(v) if v is not None and math.isfinite(v) and v > 0 else None


def activation_growth(runs: list, rms: dict, norms, rates, record: int) -> dict | None:
    """At the smallest rate where every seed of none diverged (None if there is none or no none): log10 RMS(h^l)
    per recorded mini-batch and layer (mean, SE over seeds), the table at ``k_star`` and the per-seed slopes over
    the layers (mean, SE)."""
    if "none" not in norms:
        return None
    lr = next((lr for lr in rates if all(r["diverged_step"] is not None for r in runs
                                         if r["norm"] == "none" and r["lr"] == lr)), None)
    if lr is None:
        return None
    seeds = sorted({r["seed"] for r in runs})
    logs = {(n, s): [[_log10(v) for v in step] for step in rms[(n, lr, s)]] for n in norms for s in seeds}
    finite = [k for k in range(record + 1)
              if all(k < len(logs[("none", s)]) and None not in logs[("none", s)][k] for s in seeds)]
    k_star = max(finite, default=None)
    out = {"lr": lr, "k_star": k_star, "norms": []}
    for n in norms:
        steps = max(len(logs[(n, s)]) for s in seeds)
        curve = [[mean_se(logs[(n, s)][k][l] if k < len(logs[(n, s)]) else None for s in seeds)
                  for l in range(len(logs[(n, seeds[0])][0]))] for k in range(steps)]
        entry = {"norm": n, "log10_rms": [[c[0] for c in row] for row in curve],
                 "log10_rms_se": [[c[1] for c in row] for row in curve]}
        if k_star is not None and all(k_star < len(logs[(n, s)]) and None not in logs[(n, s)][k_star]
                                      for s in seeds):
            layers = np.arange(1, len(logs[(n, seeds[0])][k_star]) + 1)
            entry["at_k_star"] = [c[0] for c in curve[k_star]]
            entry["at_k_star_se"] = [c[1] for c in curve[k_star]]
            slopes = [float(np.polyfit(layers, logs[(n, s)][k_star], 1)[0]) for s in seeds] \
                if layers.size > 1 else []
            entry["slope"], entry["slope_se"] = mean_se(slopes) if slopes else (None, None)
        out["norms"].append(entry)
    return out


def dataset_report(study, name: str, arrays, runs: list, rms: dict) -> dict:
    """The document's part for one dataset; ``arrays`` = (x_train, labels_train, x_test, labels_test)."""
    rows = rate_rows(runs, study.norms, study.rates)
    x_train, _, x_test, _ = arrays
    return {"data": name, "n_train": int(x_train.shape[0]), "n_test": int(x_test.shape[0]),
            "steps": study.steps(x_train.shape[0]), "eval_every": study.eval_every(x_train.shape[0]),
            "rows": rows, "largest": largest_rates(rows, study.norms, study.rates, study.tolerance),
            "paired": paired_differences(runs, study.rates) if {"none", "bn"} <= set(study.norms) else [],
            "activations": activation_growth(runs, rms, study.norms, study.rates, study.record)}


def _fmt(v) -> str:
    return "none (every seed diverged)" if v is None else f"{v:.3g}"


def above(quantity: str, measured, se, bound: float, settle: str) -> dict:
    """A one-sided entry: the claim "the quantity exceeds ``bound``" against the 95% interval measured +- Z95 se:
    agree when the interval lies above the bound, disagree when it lies at or below it, else undetermined."""
    if measured is None or se is None:
        return undetermined(quantity, measured, bound, "no standard error (fewer than two seeds finite)", settle)
    lo, hi = measured - Z95 * se, measured + Z95 * se
    word = AGREE if lo > bound else DISAGREE if hi <= bound else UNDETERMINED
    why = {AGREE: "lies above", DISAGREE: "lies at or below", UNDETERMINED: "straddles"}[word]
    e = {"quantity": quantity, "measured": measured, "se": se, "predicted": bound, "judged": [lo, hi],
         "verdict": word, "why": f"the 95% CI of the {quantity} [{lo:.4g}, {hi:.4g}] {why} {bound:g} "
                                 "(the claim: above it)"}
    if word == UNDETERMINED:
        e["settle"] = settle
    return e


def _small_rate_entries(d: str, rep: dict) -> list:
    """The entries of "about equal at a small rate" for one dataset (the module's docstring)."""
    out = []
    loss = {(r["norm"], r["lr"]): r["train_loss"] for r in rep["rows"]}
    fitted = [p for p in rep["paired"] if all(loss.get((n, p["lr"])) is not None
                                               and loss[(n, p["lr"])] <= TRAINED_LOSS for n in ("none", "bn"))]
    first = rep["paired"][0]
    if not fitted or fitted[0]["lr"] > first["lr"]:
        q = f"{d}: test accuracy bn - none at lr = {first['lr']:.3g}, before both nets fit the training set"
        out.append(undetermined(
            q, first["difference"], 0.0,
            f"final training loss none {_fmt(loss.get(('none', first['lr'])))}, bn "
            f"{_fmt(loss.get(('bn', first['lr'])))} (above {TRAINED_LOSS:g}): the run ends while a net is "
            "still training, so the difference is how fast each starts, not the trained nets the claim is "
            "about", "more --epochs, until both training losses are at most "
            f"{TRAINED_LOSS:g} at this rate", **({} if first["se"] is None else {"se": first["se"]})))
    if not fitted:
        return out
    p = fitted[0]
    q = f"{d}: test accuracy bn - none at the smallest rate where both fit the training set, lr = {p['lr']:.3g}"
    if p["se"] is None:
        out.append(undetermined(q, p["difference"], 0.0, "one seed gives no SE", "--seeds 3 or more"))
    else:
        out.append(judge(q, p["difference"], 0.0, se=p["se"], predicted_error=EQUAL_WITHIN,
                         target_half_width=2 * EQUAL_WITHIN, settle="more --seeds",
                         note="'about equal' formalized as within 1 percentage point"))
    return out


def study_verdicts(reports: list) -> dict:
    """``verdicts``, ``not_judged`` and the summary of the lr-train document."""
    entries, unjudged = [], []
    for rep in reports:
        d = rep["data"]
        if rep["paired"]:
            entries += _small_rate_entries(d, rep)
        act = rep["activations"]
        for a in (act or {}).get("norms", []):
            q = (f"{d}: slope of log10 RMS(h^l) over layers, {a['norm']}, lr = {act['lr']:.3g}, "
                 f"mini-batch {act['k_star']}")
            settle = "more --seeds, or a larger --record"
            if a.get("slope") is None:
                entries.append(undetermined(q, a.get("slope"), GROWTH if a["norm"] == "none" else 0.0,
                                            "no finite mini-batch common to all seeds, or one seed", settle))
            elif a["norm"] == "none":
                entries.append(above(q, a["slope"], a["slope_se"], GROWTH, settle))
            elif a["norm"] == "bn":
                entries.append(judge(q, a["slope"], 0.0, se=a["slope_se"], predicted_error=GROWTH,
                                     target_half_width=2 * GROWTH, settle=settle,
                                     note=f"'no growth' formalized as within {GROWTH:g} decades a layer"))
        for g in rep["largest"]:
            unjudged.append(not_judged(f"{d}: largest trainable rate, {g['norm']}", g["lr_trainable"],
                                       "no value predicted (the paper: larger with bn); grid bracket "
                                       f"{g['lr_trainable_bracket']}"))
    return {"verdicts": entries, "not_judged": unjudged, **summary(entries)}
