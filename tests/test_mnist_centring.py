"""Per-class centring of saved checkpoints (asymexp.mnist.centring; docs/mnist.md, "Prediction rule or learning").

The checks are exact identities, not statistics: the plain outputs reproduce the trainer's own evaluation (float64
runs, so only summation order differs: tolerance 1e-9 relative), and centring is blind to a constant offset of the
outputs, which is what it is for."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from asymexp.errors import AsymexpError
from asymexp.mnist.centring import binomial_se, centred, check_checkpoint, outputs
from asymexp.mnist.checkpoints import load_checkpoint, save_checkpoint
from asymexp.mnist.train import TrainConfig, build_spec, train
from asymexp.nn.layout import build_layout

# 1001 training images: more than two evaluation chunks of 500 and more than 784 (the input size), and a last
# batch of one image (1001 = 50 x 20 + 1), so that the chunking and the step count are both exercised.
SMALL = dict(widths="8,6", gammas="1/2,1", n_train=1001, n_test=150, lr_scale=20.0, seed=3, dtype="float64",
             epochs=3)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("centring")
    list(train(TrainConfig(**SMALL), folder))
    return folder / "checkpoint.npz"


def test_plain_outputs_reproduce_the_trainers_evaluation(run):
    r = check_checkpoint(run)
    assert r["epoch"] == 3 and r["steps"] == 3 * 51 and r["n_train"] == 1001
    assert r["offset_spread"] == pytest.approx(max(r["offset"]) - min(r["offset"]))
    assert r["plain"]["train_loss"] == pytest.approx(r["recorded"]["train_loss"], rel=1e-9)
    assert r["plain"]["train_acc"] == r["recorded"]["train_acc"]
    assert r["plain"]["test_acc"] == r["recorded"]["test_acc"]


def test_centring_ignores_a_constant_output_offset(run, tmp_path):
    """Adding c to the output bias moves every output by c: the plain net then answers the class of the largest
    c_k for every image, and the centred outputs, hence the centred accuracies, do not change."""
    theta, meta = load_checkpoint(run)
    layout = build_layout(build_spec(TrainConfig(**meta["config"])))
    shifted = theta.copy()
    c = np.zeros(10)
    c[3] = 1e3
    layout.bias(shifted, layout.n_layers - 1)[:] += c
    path = tmp_path / "shifted.npz"
    save_checkpoint(path, shifted, meta)
    a, b = check_checkpoint(run), check_checkpoint(path)
    from asymexp.mnist.prepare import load_sparse
    _, test, _ = load_sparse("mnist", None, "float64", SMALL["n_train"], SMALL["n_test"])
    assert b["plain"]["test_acc"] == pytest.approx(float(np.mean(test.labels == 3)))
    assert b["centred"]["test_acc"] == a["centred"]["test_acc"]
    assert b["centred"]["train_acc"] == a["centred"]["train_acc"]
    assert b["centred"]["train_loss"] == pytest.approx(a["centred"]["train_loss"], rel=1e-9)
    assert b["offset"][3] - a["offset"][3] == pytest.approx(1e3, rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.just(10)), elements=st.floats(-50, 50)),
       arrays(np.float64, st.tuples(st.integers(1, 10), st.just(10)), elements=st.floats(-50, 50)))
def test_centred_train_outputs_have_zero_class_means(train_out, test_out):
    a, b, m = centred(train_out, test_out)
    assert np.allclose(a.mean(axis=0), 0.0, atol=1e-12 * 50 * train_out.shape[0])
    assert np.allclose(b - test_out, -m, atol=1e-12)


def test_binomial_se():
    assert binomial_se(0.25, 2000) == pytest.approx(math.sqrt(0.25 * 0.75 / 2000))
    assert binomial_se(0.0, 10) == 0.0


def test_normalized_runs_are_refused():
    cfg = TrainConfig(**(SMALL | {"norm": "mean-last"}))
    with pytest.raises(AsymexpError, match="plain runs"):
        outputs(np.zeros(1), cfg, np.zeros((1, 784)))
