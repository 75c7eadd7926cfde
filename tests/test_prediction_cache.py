"""The shallow validation's prediction kept between runs, priced and told (asymexp/validation/prediction.py,
prediction_cache.py; docs/validation.md, "Predictions"). The expensive stages are replaced by counting fakes with
awkward floats, so the tests are about the cache, the progress and the estimate, not the numbers' maths."""
from __future__ import annotations

import time
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from asymexp import budget, provenance
from asymexp.inputs.problems import load_problem
from asymexp.numeric import linear_response, random_terms
from asymexp.validation import prediction, prediction_cache, shallow_validation

WIDTHS = [64, 128, 256]
GAMMA = Fraction(3, 4)


@pytest.fixture
def problem():
    return load_problem("tanh4.toml")


def _awkward(rng, shape):
    """Floats whose decimal forms are long: thirds, tiny and huge magnitudes, negative zero."""
    v = rng.standard_normal(shape) / 3.0 * 10.0 ** rng.integers(-300, 300, size=shape)
    v.flat[0] = -0.0
    return v


@pytest.fixture
def calls(monkeypatch, problem):
    """Fakes for the five stages (counted under "stages" and "flow"); the user cache off."""
    count = {"flow": 0, "stages": 0}
    P = problem.points.shape[0]
    rng = np.random.default_rng(7)
    fixed = {k: _awkward(rng, (1, P)) for k in ("c", "B", "BN", "V", "ec", "eB", "eBN")}
    fixed["V"] = np.abs(fixed["V"]) + 1.0 / 3.0

    def terms(problem, t):
        count["stages"] += 1
        return SimpleNamespace(c=fixed["c"] * (1 + t), B=fixed["B"], BN=fixed["BN"], V=fixed["V"],
                               errors={"c": np.abs(fixed["ec"]), "B": np.abs(fixed["eB"]),
                                       "BN": np.abs(fixed["eBN"])},
                               parts={"kernel": fixed["c"] / 3.0, "tilt": fixed["c"] / 7.0, "offset": fixed["B"]},
                               kappa=39.0625, w_nodes=132815, tolerance={"met": True})

    def deterministic_part(problem, rt, eps_values):
        count["flow"] += 1
        eps = np.asarray(eps_values)[:, None, None]
        return rt.c[None] + eps ** 2 / 3.0, np.abs(rt.c[None]) * eps ** 4 / 7.0

    def variance_part(problem, rt, eps_values, t, rules):
        eps = np.asarray(eps_values)[:, None]
        return rt.V + eps ** 2 * rt.B, eps ** 4 / 3.0 + 0 * rt.V, eps ** 4 * rt.B / 11.0

    monkeypatch.setattr(prediction, "terms", terms)
    monkeypatch.setattr(prediction, "eps_slope", lambda problem, t: np.abs(fixed["B"][0]) / 3.0)
    monkeypatch.setattr(prediction, "remainder_rules", lambda problem, t: None)
    monkeypatch.setattr(random_terms, "deterministic_part", deterministic_part)
    monkeypatch.setattr(linear_response, "variance_part", variance_part)
    monkeypatch.setattr(prediction_cache, "user_folder", lambda: None)
    return count


def _rows(problem, widths):
    P = problem.points.shape[0]
    return [{"mean": np.full(P, 0.1), "mean_se": np.full(P, 0.01), "var": np.full(P, 0.2), "var_se": np.full(P, 0.02)}
            for _ in widths]


def _predict(problem, gamma=GAMMA, t=1.0, widths=WIDTHS, folder=None, progress=False):
    return prediction.predict(problem, gamma, t, widths, _rows(problem, widths), "flow", folder, progress)


def test_a_rerun_in_the_same_folder_reads_the_prediction_back(problem, calls, tmp_path):
    first = _predict(problem, folder=tmp_path)
    assert (tmp_path / prediction_cache.FOLDER_FILE).is_file()
    again = _predict(problem, folder=tmp_path)
    assert calls["flow"] == 1 and calls["stages"] == 1
    assert again == first


def test_a_new_folder_with_the_same_problem_reads_the_user_cache(problem, calls, tmp_path, monkeypatch):
    monkeypatch.setattr(prediction_cache, "user_folder", lambda: tmp_path / "user")
    first = _predict(problem, folder=tmp_path / "a")
    second = _predict(problem, folder=tmp_path / "b")
    third = _predict(problem)                                    # no folder at all
    assert calls["flow"] == 1
    assert second == first and third == first
    assert (tmp_path / "b" / prediction_cache.FOLDER_FILE).is_file()   # the new folder holds its own copy


def test_cached_values_are_the_recomputed_values_bit_for_bit(problem, calls, tmp_path):
    fresh = _predict(problem)                                    # no cache anywhere: computed
    _predict(problem, folder=tmp_path)
    cached = _predict(problem, folder=tmp_path)
    assert calls["flow"] == 3 - 1
    for k in ("deterministic", "V_eps", "V_eps_error", "variance_remainder", "mean", "var", "c", "B_N", "c_parts"):
        assert np.array_equal(np.asarray(cached[k] if k != "c_parts" else list(cached[k].values())),
                              np.asarray(fresh[k] if k != "c_parts" else list(fresh[k].values())))
    assert cached == fresh
    assert np.signbit(cached["c"][0])                            # -0.0 survives the file


@pytest.mark.parametrize("change", ["gamma", "time", "widths", "targets", "code"])
def test_any_changed_input_misses_the_cache(problem, calls, tmp_path, monkeypatch, change):
    monkeypatch.setattr(prediction_cache, "user_folder", lambda: tmp_path / "user")
    base = _predict(problem)
    kw = {}
    if change == "gamma":
        kw["gamma"] = Fraction(2, 3)
    elif change == "time":
        kw["t"] = 0.5
    elif change == "widths":
        kw["widths"] = [64, 128, 512]
    elif change == "targets":
        problem.y[0] += 1e-12
    else:
        version = provenance.code_version()
        monkeypatch.setattr(provenance, "code_version", lambda: version[::-1])
    other = _predict(problem, **kw)
    assert calls["flow"] == 2
    if change in ("gamma", "widths", "time"):
        assert other["deterministic"] != base["deterministic"] or other["c"] != base["c"]


def test_an_unwritable_cache_is_no_cache_and_no_error(problem, calls, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(prediction_cache, "user_folder", lambda: blocker / "predictions")
    first = _predict(problem, folder=blocker / "run")
    second = _predict(problem, folder=blocker / "run")
    assert calls["flow"] == 2 and first == second


def test_a_foreign_or_broken_folder_file_is_ignored(problem, calls, tmp_path):
    (tmp_path / prediction_cache.FOLDER_FILE).write_text("{broken")
    _predict(problem, folder=tmp_path)
    _predict(problem, gamma=Fraction(2, 3), folder=tmp_path)     # the folder's file now holds gamma 3/4's key
    assert calls["flow"] == 2


def test_progress_lines_reach_the_sink_while_a_stage_runs(problem, calls, monkeypatch):
    slow = random_terms.deterministic_part

    def sleepy(*args):
        time.sleep(0.5)
        return slow(*args)

    monkeypatch.setattr(random_terms, "deterministic_part", sleepy)
    monkeypatch.setattr(prediction_cache, "HEARTBEAT_S", 0.1)
    lines = []
    _predict(problem, progress=lines.append)
    stage4 = [ln for ln in lines if "term 4/5" in ln]
    assert [ln for ln in lines if "term 1/5" in ln] and [ln for ln in lines if "term 5/5" in ln]
    assert len(stage4) >= 3                                      # the announcement and heartbeats in 0.5 s
    assert all(ln.startswith("asymexp validate: prediction: ") for ln in lines)
    lines.clear()
    _predict(problem, progress=lines.append)                     # user cache off, no folder: computed again
    assert lines


def test_the_python_verb_without_progress_is_silent(problem, calls, capsys):
    _predict(problem, progress=False)
    assert capsys.readouterr().err == ""


def test_the_budget_estimate_holds_a_prediction_part(problem, calls, tmp_path, monkeypatch):
    pred = prediction.estimate(problem, GAMMA, 1.0, WIDTHS, "flow")
    assert pred is not None and pred.flops > 0 and pred.bytes > 0
    gd = prediction.estimate(problem, GAMMA, 1.0, WIDTHS, "gd")                      # the Euler map of every width
    assert gd.flops == pytest.approx(pred.flops * (2 * len(WIDTHS) + 2) / (len(WIDTHS) + 2), rel=1e-12)
    more = prediction.estimate(problem, GAMMA, 1.0, WIDTHS + [512, 1024], "flow")
    assert more.flops == pytest.approx(pred.flops * (len(WIDTHS) + 4) / (len(WIDTHS) + 2), rel=1e-12)
    _predict(problem, folder=tmp_path)
    assert prediction.estimate(problem, GAMMA, 1.0, WIDTHS, "flow", tmp_path) is None  # cached: costs nothing

    seen = []

    class Stop(Exception):
        pass

    def check(estimate, long_run_ok=False):
        seen.append(estimate)
        raise Stop

    monkeypatch.setattr(shallow_validation.budget, "check", check)
    with pytest.raises(Stop):
        shallow_validation.validate_shallow(problem, "3/4", WIDTHS, 4, t=1.0, progress=False)
    dt, _ = shallow_validation.flow_step.resolve(problem, 1.0, None, None)
    run = shallow_validation.run_estimate(problem, [([n], 4) for n in WIDTHS], 1.0, "flow", dt, 256)
    assert "with its prediction" in seen[0].what
    assert seen[0].flops == pytest.approx(run.flops + pred.flops, rel=1e-12)
    assert seen[0].bytes == max(run.bytes, pred.bytes)
    assert budget.prediction(1e5, 4, 5, 3, 4, 1.0).flops == pytest.approx(
        budget.PREDICTION_FLOPS * 1e5 * 9 * 4 * 6 * 2, rel=1e-12)
