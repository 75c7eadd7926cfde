"""asymexp lr-train: mini-batch SGD of deep ReLU MLPs on MNIST (and Fashion-MNIST when installed) with and without
batch norm across learning rates: test accuracy, training loss and time to accuracy against the rate, the largest
trainable rate, the paired difference at a small rate, activation norms over depth above the unnormalized
threshold (docs/batchnorm.md, "Training at larger rates (Bjorck et al.)"; contract in docs/interfaces.md)."""
from __future__ import annotations

from asymexp import budget
from asymexp.cli._common import add_json_argument, integer
from asymexp.cli._write import WRITES_AT_END, finish

HELP = ("SGD of deep ReLU MLPs on MNIST/Fashion-MNIST with and without batch norm across learning rates: accuracy, "
        "loss and time to accuracy against the rate, the largest trainable rate, activation growth over depth "
        "(Bjorck et al.; docs/batchnorm.md)")

INTERRUPTED = WRITES_AT_END  # Ctrl-C (asymexp.cli.main)


def add_arguments(parser):
    from asymexp.bn.bjorck.sgd import LOSSES
    from asymexp.bn.bjorck.study import NORMS

    parser.add_argument("--data", default="mnist,fashion-mnist",
                        help="datasets, comma-separated, of mnist (the embedded 8000/2000 split) and fashion-mnist "
                             "(Debian's dataset-fashion-mnist; skipped with one line when not installed)")
    parser.add_argument("--norm", default="none,bn", help=f"norms, comma-separated, of {', '.join(NORMS)}")
    parser.add_argument("--layers", type=integer(1), default=6, help="H hidden layers")
    parser.add_argument("--width", type=integer(2), default=128, help="width M of every hidden layer")
    parser.add_argument("--lr-min", default="1e-3", help="smallest learning rate of the log grid")
    parser.add_argument("--lr-max", default="10", help="largest learning rate of the log grid")
    parser.add_argument("--lr-per-decade", type=integer(1), default=2, help="grid rates per decade")
    parser.add_argument("--seeds", type=integer(1), default=3, help="R seeds (network draw and shuffling)")
    parser.add_argument("--seed", type=integer(0), default=0, help="first seed")
    parser.add_argument("--epochs", type=integer(1), default=10, help="epochs of every run")
    parser.add_argument("--batch", type=integer(2), default=64, help="mini-batch size B")
    parser.add_argument("--loss", choices=LOSSES, default="cross-entropy", help="the training loss")
    parser.add_argument("--target", default="0.9", help="the test accuracy whose first reaching is timed")
    parser.add_argument("--evals-per-epoch", type=integer(1), default=2, help="test evaluations per epoch")
    parser.add_argument("--record", type=integer(0), default=20,
                        help="mini-batches after the first whose per-layer activation RMS is kept")
    parser.add_argument("--tolerance", default="0.02",
                        help="a rate is trainable when no seed diverged and its mean test accuracy is within this "
                             "of the norm's best")
    parser.add_argument("--train-samples", type=integer(2), default=None, help="use the first n training samples")
    parser.add_argument("--test-samples", type=integer(2), default=None, help="use the first n test samples")
    parser.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--out", default=None,
                        help="folder for lr_train.json and the figures lr_train_rates, lr_train_activations "
                             "(PNG, PDF)")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def run(args):
    from asymexp.api.bjorck import lr_train

    result = lr_train(data=args.data, norm=args.norm, layers=args.layers, width=args.width, lr_min=args.lr_min,
                      lr_max=args.lr_max, lr_per_decade=args.lr_per_decade, seeds=args.seeds, seed=args.seed,
                      epochs=args.epochs, batch=args.batch, loss=args.loss, target=args.target,
                      evals_per_epoch=args.evals_per_epoch, record=args.record, tolerance=args.tolerance,
                      train_samples=args.train_samples, test_samples=args.test_samples, out=args.out,
                      yes_long_run=args.yes_long_run, progress=not args.no_progress)
    return finish(args, result, _print)


def _f(v, digits=4) -> str:
    return "-" if v is None else f"{v:.{digits}g}"


def _pm(v, se, digits=4) -> str:
    return "-" if v is None else f"{v:.{digits}g} +- {_f(se, 2)}"


def _print(doc: dict) -> None:
    from asymexp.stats.interval_verdicts import verdict_lines

    for s in doc["skipped"]:
        print(f"{s['data']}: skipped (not installed; {s['install']})")
    for rep in doc["datasets"]:
        print(f"{rep['data']}: {rep['n_train']} training, {rep['n_test']} test samples, {rep['steps']} updates a run")
        print(f"{'norm':>9s} {'lr':>8s} {'diverged':>8s} {'test accuracy':>18s} {'train loss':>20s} "
              f"{'updates to target':>22s}")
        for r in rep["rows"]:
            tta = (f"{_pm(r['steps_to_target'], r['steps_to_target_se'])} ({r['reached_target']}/{r['seeds']})"
                   if r["reached_target"] else "not reached")
            print(f"{r['norm']:>9s} {r['lr']:8.3g} {r['diverged']:>4d}/{r['seeds']:<3d} "
                  f"{_pm(r['test_accuracy'], r['test_accuracy_se']):>18s} "
                  f"{_pm(r['train_loss'], r['train_loss_se']):>20s} {tta:>22s}")
        for g in rep["largest"]:
            print(f"{g['norm']:>9s}: largest trainable rate {_f(g['lr_trainable'])} (grid bracket "
                  f"{g['lr_trainable_bracket']}), largest non-diverging {_f(g['lr_finite'])}, best accuracy "
                  f"{_f(g['best_accuracy'])} at lr {_f(g['best_lr'])}")
        for p in rep["paired"]:
            print(f"bn - none test accuracy at lr {p['lr']:.3g}: {_pm(p['difference'], p['se'])} ({p['seeds']} seeds)")
    print("\n".join(verdict_lines(doc)))
