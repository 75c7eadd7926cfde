"""asymexp one-step's summaries against hand computations on synthetic runs (docs/architecture.md, "Testing";
docs/batchnorm.md, "One-step divergence and gradients at initialization"): means and SEs by statistics, log10 by
math, the heat-map rate, thresholds and decades, grids and histograms summed by hand, the rate grid by hand."""
import math
import statistics

import numpy as np
import pytest

from asymexp.bn.onestep import onestep_study as St


def _study(**kw):
    base = dict(layers=1, width=4, batch=3, norms=("none", "bn"), lr_min=0.01, lr_max=100.0, lr_points=5, seeds=2,
                fraction_activations=("relu",), fraction_layers=(1,), fraction_bias_vars=(0.0,))
    return St.OneStepStudy(**{**base, **kw})


def test_rates_steps_and_settings_by_hand():
    s = _study()
    assert s.lrs == pytest.approx((0.01, 0.1, 1.0, 10.0, 100.0), rel=1e-14)
    assert St.STEP_FRACTIONS == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    st = s.settings()
    assert st["explode"] == 1e3 and st["step_fractions"][-1] == 1.0 and st["lr_points"] == 5
    assert St.NORMS == ("none", "bn", "mean-last")


def test_finite_mean_se_and_json_safety():
    assert St._finite(None) is None and St._finite(math.inf) is None and St._finite(2) == 2.0
    assert St._mean_se([1.0, None, math.inf, 4.0, 2.5]) == (
        pytest.approx(2.5), pytest.approx(statistics.stdev([1.0, 4.0, 2.5]) / math.sqrt(3)), 3)
    assert St._mean_se([3.0, math.nan]) == (3.0, None, 1)
    assert St._mean_se([None]) == (None, None, 0)
    assert St._json_safe({"a": [1.0, math.inf, (np.float64(np.nan), 2)], "b": "x"}) == {"a": [1.0, None, [None, 2]],
                                                                                      "b": "x"}


def _run(norm, seed, rel, lr_explode):
    return {"norm": norm, "seed": seed, "relative_loss": rel, "lr_explode": {"lr": lr_explode}}


def test_heat_rate_by_hand():
    s = _study()
    runs = [_run("none", 0, [1.0, 2.0, 2e3, None, None], 1.0), _run("none", 1, [1.0, 2e3, 1e3, 5e3, None], 0.1),
            _run("bn", 0, [1.0] * 5, None)]
    # every seed of none has exploded from index 3 on (seed 1's 1e3 at index 2 is not above 1e3)
    assert St.heat_rate(s, runs)[0] == pytest.approx(10.0)
    runs[1]["relative_loss"][2] = 1.0001e3
    assert St.heat_rate(s, runs)[0] == pytest.approx(1.0)
    runs[0]["relative_loss"] = [1.0] * 5
    assert St.heat_rate(s, runs) == (pytest.approx(100.0), St.heat_rate(s, runs)[1])
    assert "largest" in St.heat_rate(s, runs)[1]
    assert St.heat_rate(_study(heat_lr=0.5), runs) == (0.5, "given")
    only_bn = _study(norms=("bn",))
    assert St.heat_rate(only_bn, [_run("bn", 0, [1.0, 1.0, 2e3, 1.0, 1.0], 1.0)])[0] == pytest.approx(1.0)


def test_loss_curves_by_hand():
    s = _study()
    runs = [_run("none", 0, [1.0, 10.0, 2e3, None, 0.0], None), _run("none", 1, [0.1, 100.0, 1.0, None, 5.0], None),
            _run("bn", 0, [1.0] * 5, None), _run("bn", 1, [1.0] * 5, None)]
    none, bn = St._loss_curves(s, runs)
    assert none["norm"] == "none" and none["lrs"] == list(s.lrs)
    assert none["log10_relative_loss"][:2] == [pytest.approx(-0.5), pytest.approx(1.5)]
    assert none["log10_relative_loss_se"][1] == pytest.approx(statistics.stdev([1.0, 2.0]) / math.sqrt(2))
    assert none["log10_relative_loss"][2] == pytest.approx((math.log10(2e3) + 0.0) / 2)
    assert none["log10_relative_loss"][3] is None and none["log10_relative_loss"][4] == pytest.approx(math.log10(5))
    assert none["finite"] == [2, 2, 2, 0, 1] and none["diverged"] == [0, 0, 0, 2, 0]
    assert none["exploded"] == [0, 0, 1, 2, 0] and bn["exploded"] == [0] * 5 and bn["finite"] == [2] * 5


def test_thresholds_and_decades_by_hand():
    s = _study(norms=("none", "bn", "mean-last"))
    runs = [_run("none", 0, None, 0.1), _run("none", 1, None, 1.0), _run("bn", 0, None, 10.0),
            _run("bn", 1, None, None), _run("mean-last", 0, None, 1.0), _run("mean-last", 1, None, 100.0)]
    none, bn, ml = St._thresholds(s, runs)
    assert none["lr_explode"] == pytest.approx(10 ** -0.5) and none["log10_lr_explode"] == pytest.approx(-0.5)
    assert none["log10_lr_explode_se"] == pytest.approx(0.5) and none["reached"] == 2 and none["seeds"] == 2
    assert none["decades_above_none"] is None and not none["decades_is_lower_bound"]
    assert bn["lr_explode"] == pytest.approx(10.0) and bn["reached"] == 1 and bn["log10_lr_explode_se"] is None
    # bn seed 1 never exploded: counted with the grid's end (100) against none's 1.0, a lower bound
    assert bn["decades_above_none"] == pytest.approx((2.0 + 2.0) / 2) and bn["decades_is_lower_bound"]
    assert bn["decades_above_none_se"] == pytest.approx(0.0, abs=1e-15) and bn["per_seed"] == [10.0, None]
    assert ml["decades_above_none"] == pytest.approx((1.0 + 2.0) / 2) and not ml["decades_is_lower_bound"]
    assert ml["decades_above_none_se"] == pytest.approx(statistics.stdev([1.0, 2.0]) / math.sqrt(2))


def test_grid_and_gradient_summaries_by_hand():
    s = _study()
    a = np.array([[1.0, 10.0], [100.0, 0.0]])
    b = np.array([[10.0, 1000.0], [1.0, np.inf]])
    out = St._summarize_grids(s, {"none": [{"k": a}, {"k": b}]}, "k")["none"]
    assert out["log10"] == [[pytest.approx(0.5), pytest.approx(2.0)], [pytest.approx(1.0), None]]
    assert out["log10_se"][0] == [pytest.approx(0.5), pytest.approx(1.0)]
    assert out["log10_se"][1] == [pytest.approx(1.0), None]
    assert out["nonfinite"] == [[0, 0], [0, 2]]
    c = np.array([[1.0, 1.0], [1.0, -1.0]])                               # three seeds on a 2 x 2 grid
    three = St._summarize_grids(s, {"bn": [{"k": a}, {"k": b}, {"k": c}]}, "k")["bn"]
    assert three["nonfinite"] == [[0, 0], [0, 3]] and three["log10"][0][0] == pytest.approx(1 / 3)
    stats = {"none": [[{"rms": 1.0, "excess_kurtosis": 0.5, "mean_share": 0.1, "counts": [1, 2, 3]},
                       {"rms": 2.0, "excess_kurtosis": None, "mean_share": 0.2, "counts": [0, 1, 0]}],
                      [{"rms": 3.0, "excess_kurtosis": 1.5, "mean_share": 0.3, "counts": [4, 0, 0]},
                       {"rms": 4.0, "excess_kurtosis": None, "mean_share": 0.4, "counts": [0, 0, 5]}]]}
    rows, hists = St._gradients(s, stats)
    assert [(r["norm"], r["layer"]) for r in rows] == [("none", 1), ("none", 2)]
    assert rows[0]["rms"] == pytest.approx(2.0) and rows[0]["rms_se"] == pytest.approx(1.0)
    assert rows[0]["excess_kurtosis"] == pytest.approx(1.0) and rows[1]["excess_kurtosis"] is None
    assert rows[1]["mean_share"] == pytest.approx(0.3) and rows[1]["mean_share_se"] == pytest.approx(0.1)
    assert hists["counts"]["none"] == [[5, 2, 3], [0, 1, 5]] and len(hists["edges_in_rms"]) == 65


def test_networks_are_lr_scans_batch_and_the_weights_of_seed_s_h_3():
    from asymexp.bn.model import fim_network, make_data

    s = _study(layers=2, norms=("none", "mean-last"), outputs=2, weight_var=1.5)
    x, y, nets = St._networks(s, 7)
    x_ref, y_ref = make_data("gaussian", 3, 4, 2, "relu", 2, 7)
    np.testing.assert_array_equal(x, x_ref)
    np.testing.assert_array_equal(y, y_ref)
    for norm, (net, params) in nets.items():
        ref = fim_network(2, 4, 2, 4, "relu", norm, 1.5, 0.0, "one-step").draw(np.random.default_rng([7, 2, 3]))
        assert net.norm == norm and net.weight_var == 1.5
        for (w, b), (w0, b0) in zip(params, ref):
            np.testing.assert_array_equal(w, w0)
            np.testing.assert_array_equal(b, b0)


def test_fraction_configs_by_hand():
    s = _study(fraction_activations=("relu", "linear"), fraction_layers=(1, 2), fraction_bias_vars=(0.0, 0.5),
               norms=("none", "bn"))
    got = St.fraction_configs(s)
    grid = [(a, h, v, "none") for a in ("relu", "identity") for h in (1, 2) for v in (0.0, 0.5)]
    assert got == grid + [("relu", 1, 0.0, "bn")]                 # ("relu", 1, 0.0, "none") only once


def test_run_study_runs_are_the_steps_of_their_networks():
    from asymexp.bn.onestep.one_step import explosion_threshold, relative_losses

    s = _study(norms=("none", "mean-last"), lr_points=3, lr_min=0.1, lr_max=1e4)
    doc = St.run_study(s)
    assert [(r["seed"], r["norm"]) for r in doc["runs"]] == [(0, "none"), (0, "mean-last"), (1, "none"),
                                                             (1, "mean-last")]
    for r in doc["runs"]:
        x, y, nets = St._networks(s, r["seed"])
        net, params = nets[r["norm"]]
        res = relative_losses(net, params, x, y, s.lrs)
        assert r["initial_loss"] == pytest.approx(res["initial_loss"], rel=1e-14)
        assert r["relative_loss"] == [None if v is None or not math.isfinite(v) else pytest.approx(v, rel=1e-14)
                                      for v in res["relative_loss"]]
        assert r["lr_explode"] == explosion_threshold(s.lrs, r["relative_loss"])
        assert net.layers == 1 and net.width == 4 and net.input_dim == 4 and net.bias_var == 0.0
    assert doc["heatmap"]["columns"] == ["1", "output"] and len(doc["heatmap"]["step_fractions"]) == 11
    assert [f["norm"] for f in doc["fraction"]] == ["none", "mean-last"]
