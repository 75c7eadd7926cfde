"""Lockstep training (asymexp.mnist.lockstep): parameters bit-identical to single runs of asymexp.mnist.train for
1 and 2 threads and from an empty kernel cache; what cannot be trained together is refused (docs/mnist.md,
"Lockstep")."""
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymexp.errors import DivergenceError, SpecError
from asymexp.mnist.lockstep import train_lockstep
from asymexp.mnist.train import CHECKPOINT, TrainConfig, load_checkpoint, train

SMALL = dict(widths="8,6", n_train=400, n_test=200, epochs=2)
# three gamma vectors, three seeds, two lr-scales: every per-configuration input differs
CONFIGS = [TrainConfig(gammas="0.7,1", seed=0, lr_scale=20.0, **SMALL),
           TrainConfig(gammas="1/2,1/2", seed=1, lr_scale=20.0, **SMALL),
           TrainConfig(gammas="1,0.7", seed=2, lr_scale=5.0, **SMALL)]


def _strip(history):
    return [{k: v for k, v in h.items() if "seconds" not in k} for h in history]


@pytest.fixture(scope="module")
def single_runs(tmp_path_factory):
    """(final theta, history) of each of CONFIGS trained alone by asymexp.mnist.train."""
    out = []
    for k, cfg in enumerate(CONFIGS):
        folder = tmp_path_factory.mktemp(f"single{k}")
        history = list(train(cfg, folder))
        out.append((load_checkpoint(folder / CHECKPOINT)[0], history))
    return out


@pytest.mark.parametrize("threads", [1, 2])
def test_lockstep_is_bit_identical_to_single_runs(single_runs, threads):
    runs = train_lockstep(CONFIGS, threads=threads)
    for run, (theta, history) in zip(runs, single_runs):
        assert run["status"] == "finished" and run["theta"].dtype == theta.dtype
        assert np.array_equal(run["theta"], theta)
        assert _strip(run["history"]) == _strip(history)  # same evaluation of the same parameters


def test_order_of_configurations_does_not_matter(single_runs):
    runs = train_lockstep(CONFIGS[::-1], threads=2)
    for run, (theta, _) in zip(runs, single_runs[::-1]):
        assert np.array_equal(run["theta"], theta)


def test_a_diverging_configuration_stops_alone_with_the_single_runs_message():
    cfgs = [TrainConfig(gammas="0.7,1", loss="mse", lr_scale=20.0, **SMALL),   # diverges in epoch 2
            TrainConfig(gammas="0.7,1", loss="mse", lr_scale=1.0, **SMALL)]
    bad, good = train_lockstep(cfgs, threads=2, evaluate=False)
    with pytest.raises(DivergenceError) as single:
        list(train(cfgs[0]))
    assert bad["status"] == "diverged" and bad["message"] == str(single.value)
    assert "diverged at epoch 2, step" in bad["message"] and [r["epoch"] for r in bad["history"]] == [1]
    assert good["status"] == "finished" and [r["epoch"] for r in good["history"]] == [1, 2]
    assert np.isfinite(good["theta"]).all()


def _single(cfg):
    """("finished", final theta) of ``train(cfg)``, or ("diverged", its message)."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            list(train(cfg, folder))
        except DivergenceError as e:
            return "diverged", str(e)
        return "finished", load_checkpoint(f"{folder}/{CHECKPOINT}")[0]


@settings(max_examples=8)
@given(widths=st.lists(st.integers(3, 9), min_size=1, max_size=3), data=st.data(),
       activation=st.sampled_from(["sigmoid", "tanh", "relu", "gelu"]), dtype=st.sampled_from(["float32", "float64"]),
       batch=st.sampled_from([7, 20]), n_train=st.integers(30, 120), loss=st.sampled_from(["ce", "mse", "paper-mse"]))
def test_any_small_grid_is_bit_identical_to_its_single_runs(widths, data, activation, dtype, batch, n_train, loss):
    """Depth 1 to 3, every trainer activation (gelu keeps its pre-activations), both dtypes, every loss, a last
    batch shorter than the others, K = 1 to 3 configurations with their own gammas, seeds and lr-scales."""
    cfgs = [TrainConfig(gammas=",".join(data.draw(st.sampled_from(["1/2", "7/10", "1"])) for _ in widths),
                        widths=",".join(map(str, widths)), activation=activation, dtype=dtype, batch=batch,
                        n_train=n_train, n_test=50, loss=loss, epochs=2, seed=data.draw(st.integers(0, 2 ** 16)),
                        lr_scale=data.draw(st.sampled_from([1.0, 20.0])))
            for _ in range(data.draw(st.integers(1, 3)))]
    for cfg, run in zip(cfgs, train_lockstep(cfgs, threads=2, evaluate=False)):
        status, single = _single(cfg)
        assert run["status"] == status
        if status == "finished":
            assert run["theta"].dtype == single.dtype and np.array_equal(run["theta"], single)
        else:
            assert run["message"] == single


@pytest.mark.parametrize("change, match", [
    (dict(widths="8,7"), "configuration 1: widths 8,7 differ from configuration 0's 8,6"),
    (dict(batch=10), "configuration 1: batch = 10 differs"),
    (dict(n_train=300), "configuration 1: n_train = 300 differs"),
    (dict(activation="tanh"), "configuration 1: activation 'tanh' differs"),
    (dict(norm="mean-last"), "configuration 1: norm = 'mean-last' is not allowed in lockstep; allowed: 'none'"),
    (dict(shuffle=True), "configuration 1: shuffle = True is not allowed in lockstep"),
])
def test_configurations_that_differ_in_shape_are_refused(change, match):
    with pytest.raises(SpecError, match=match):
        train_lockstep([CONFIGS[0], TrainConfig(**{**dict(gammas="1,1", **SMALL), **change})])
    with pytest.raises(SpecError, match="at least one"):
        train_lockstep([])


@pytest.mark.slow
def test_fresh_compile_gives_the_same_bits(single_runs, tmp_path):
    """The lockstep kernels compiled from an empty cache (a subprocess, about 1 min of compilation) give the
    bits of the single runs of this process (whose kernels may come from the cache): docs/mnist.md, "What runs
    fast" (a fast-math kernel can vectorize differently when linked against separately cached code)."""
    import os
    import subprocess
    import sys

    code = ("import sys, numpy as np; from asymexp.mnist.train import TrainConfig; "
            "from asymexp.mnist.lockstep import train_lockstep; "
            f"cfgs = [TrainConfig(**c) for c in {[c.__dict__ for c in CONFIGS]!r}]; "
            "np.save(sys.argv[1], np.stack([r['theta'] for r in train_lockstep(cfgs, threads=2, evaluate=False)]))")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "empty-cache"), NUMBA_NUM_THREADS="2")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "fresh.npy")], check=True, env=env)
    fresh = np.load(tmp_path / "fresh.npy")
    for k, (theta, _) in enumerate(single_runs):
        assert np.array_equal(fresh[k], theta)
