"""The MNIST trainer's options, declared once (docs/mnist.md): name, type, default, allowed values (from their
real tables: activations from :mod:`asymexp.activations`, losses from :mod:`asymexp.kernel_codes`, norms,
placements, initializations and optimizers from :mod:`asymexp.mnist.norm_net`, presets from :mod:`asymexp.spec`,
data sets from :mod:`asymexp.inputs.datasets`) and help text.

``asymexp mnist`` adds them all (:func:`add_trainer_arguments`); ``asymexp sweep mnist`` adds the ones a grid
shares (:data:`SWEEP`) and its grid options on top; :class:`asymexp.mnist.train.TrainConfig` checks a config
given in Python against the same records (:func:`check_config`), with the same messages.
"""
from __future__ import annotations

from asymexp.activations import TRAINER_ACTIVATIONS, TRAINER_ONLY
from asymexp.input_checks import Option, add_options, integer
from asymexp.inputs.datasets import DATASETS
from asymexp.kernel_codes import LOSS_BY_NAME
from asymexp.mnist.norm_net import INITS, NORMS, OPTIMIZERS, PLACEMENTS
from asymexp.spec import PRESETS

DTYPES = ("float32", "float64")

_OPTIONS = [
    Option("layers", None, "L hidden layers (a single --gammas/--widths value is then used for every layer; "
           "default: one per --gammas entry)", type=int, checked=False),
    Option("gammas", help="gamma_1..gamma_L in [1/2, 1], comma-separated", required=True, checked=False),
    Option("widths", "100", "N_1..N_L, comma-separated (default 100 each)", checked=False),
    Option("epochs", 1, "default 1", type=int, minimum=0, note=" (epochs)"),
    Option("batch", 20, "mini-batch size of --optimizer sgd (default 20)", type=int, minimum=1,
           note=" (a batch size)"),
    Option("optimizer", "sgd", "sgd: mini-batches of --batch (default); gd: full-batch gradient descent, one step "
           "per epoch on all training images (--batch is not used)", choices=OPTIMIZERS),
    Option("norm", "none", "none (default: the paper's network); bn: batch norm of every hidden layer; ln: layer "
           "norm of every hidden layer; mean-last: subtract the batch mean of each output's pre-activation. "
           "Evaluation uses the running statistics (bn, mean-last), as PyTorch's eval mode (docs/mnist.md)",
           choices=NORMS),
    Option("norm_placement", "pre", "bn and ln: normalize before the activation (pre, default) or after it (post)",
           choices=PLACEMENTS),
    Option("init", "paper", "initial weights: paper (default: the preset's laws), he N(0, 2/fan_in), xavier "
           "N(0, 2/(fan_in + fan_out)); biases keep the preset's law", choices=INITS),
    Option("loss", "ce", "ce: softmax cross-entropy; mse: 1/2 |out - onehot|^2 on raw outputs (the theory's loss); "
           "paper-mse: MSE of log-softmax outputs vs one-hot, as the authors' code", choices=tuple(LOSS_BY_NAME)),
    Option("lr_scale", 1.0, "base rate alpha multiplying every layer's rate alpha_m "
           "(docs/theory/2-learning-rates.md)", type=float, checked=False),
    Option("preset", "paper-mnist", "initial laws (default paper-mnist: the authors' set-up)",
           choices=tuple(sorted(PRESETS)), checked=False),
    Option("activation", None, "default: the preset's (sigmoid); " + ", ".join(TRAINER_ONLY)
           + " takes the gammas' learning rates, the expansion's other rules do not cover it", choices=TRAINER_ACTIVATIONS, checked=False),
    Option("bias", None, "trainable biases", action="store_true", checked=False),
    Option("bias", help="no biases", action="store_false", flag="--no-bias", checked=False),
    Option("dtype", "float32", "default float32 (the normalization layers compute in float64)", choices=DTYPES),
    Option("seed", 0, "default 0", type=integer(0), minimum=0),
    Option("shuffle", help="reshuffle the training set every epoch (default: batches in file order, as the paper)",
           action="store_true", checked=False),
    Option("threads", None, "Numba threads for evaluation passes (training is sequential; results do not depend on "
           "it; default: NUMBA_NUM_THREADS)", type=integer(1), checked=False),
    Option("dataset", "mnist", "default mnist", choices=DATASETS, checked=False),
    Option("data_dir", None, "IDX folder (default: $ASYMEXP_DATA, else the embedded MNIST, 8000/2000)",
           checked=False),
    Option("n_train", None, "use only the first N training images (default: all)", type=int, checked=False),
    Option("n_test", None, "use only the first N test images (default: all)", type=int, checked=False),
    Option("eval_every", 1, "evaluate (and print and record) epochs 1, K+1, 2K+1, ... and the last only (default 1: "
           "every epoch); the trained parameters do not depend on K (docs/mnist.md, \"Throughput\")",
           type=integer(1), metavar="K", minimum=1, note=" (epochs)"),
    Option("checkpoint_every", 1, "with --out, write the checkpoint after epochs C, 2C, ... and the last only "
           "(default 1: every epoch); an interrupted run resumes from the last one written", type=integer(1),
           metavar="C", minimum=1, note=" (epochs)"),
]
#: The trainer's options by flag (``--no-bias`` apart from ``--bias``), in the order ``asymexp mnist`` lists them.
OPTIONS: dict[str, Option] = {o.option: o for o in _OPTIONS}
#: The options ``asymexp sweep mnist`` shares with ``asymexp mnist``, in its order (``--layers`` with its own
#: default; ``--gammas`` and ``--seed`` are grid axes there).
SWEEP = ("--layers", "--widths", "--epochs", "--batch", "--loss", "--lr-scale", "--preset", "--activation", "--dtype",
         "--shuffle", "--dataset", "--data-dir", "--n-train", "--n-test", "--norm", "--norm-placement", "--init",
         "--optimizer", "--eval-every", "--checkpoint-every")


def add_trainer_arguments(parser, names=tuple(OPTIONS), **changes: dict) -> None:
    """Add the trainer's options ``names`` (flags, in order) to ``parser``; ``changes``: ``{dest: {field: value}}``
    for a command's own default or help (:func:`asymexp.input_checks.add_options`)."""
    add_options(parser, OPTIONS, names, **{OPTIONS_BY_DEST[d].option: c for d, c in changes.items()})


OPTIONS_BY_DEST: dict[str, Option] = {o.dest: o for o in _OPTIONS if o.flag is None}


def check_config(cfg) -> None:
    """Check a :class:`asymexp.mnist.train.TrainConfig` against the records: an unknown choice (loss, dtype,
    norm, ...) or an integer below its minimum (epochs, batch, seed, the schedule) is one SpecError line naming the
    flag and what is allowed."""
    for option in _OPTIONS:
        option.check(getattr(cfg, option.dest))
