"""asymexp mnist: train a 1/N^gamma-normalized sigmoid MLP on MNIST with plain SGD (or full-batch GD), optionally
with normalization layers (--norm).

stdout: one JSON line per epoch ``{"epoch", "train_loss", "train_acc", "test_acc", "seconds", ...}`` (with
--json; else a readable line), then a final summary line. Progress bar on stderr. Exit status: 0 finished,
2 bad input, 3 training diverged (the message names epoch, step and layers; the last good checkpoint is kept).
"""
import sys

from asymexp.cli._common import add_json_argument, emit_json
from asymexp.mnist.train_options import add_trainer_arguments
from asymexp import budget

HELP = "train an MLP on MNIST with the theory's per-layer learning rates (hand-written Numba SGD)"
EXIT_DIVERGED = 3
#: Ctrl-C (asymexp.cli.main): with --out, the finished parts stay in the folder and a rerun resumes.
INTERRUPTED = "interrupted; finished results are kept"


def add_arguments(parser):
    add_trainer_arguments(parser)  # the trainer's options, declared once (asymexp.mnist.train_options)
    parser.add_argument("--out", default=None, help="checkpoint folder: written every epoch (--checkpoint-every); "
                        "rerun to resume (default: none)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    budget.add_long_run_argument(parser)
    add_json_argument(parser)


def _check_size(args, cfg, spec) -> None:
    """Refuse widths / sizes whose memory cannot fit, or whose work is above a day without --yes-long-run
    (:func:`asymexp.mnist.train.size_estimate`, asymexp.budget), before the data are loaded; the estimate is
    printed when large."""
    from asymexp.mnist.train import size_estimate

    budget.check(size_estimate(cfg, spec), args.yes_long_run, prog="asymexp mnist")


def config_from_args(args):
    from asymexp.mnist.train import TrainConfig

    return TrainConfig(gammas=args.gammas, widths=args.widths, layers=args.layers, preset=args.preset,
                       activation=args.activation, bias=args.bias, loss=args.loss, lr_scale=args.lr_scale,
                       epochs=args.epochs, batch=args.batch, dtype=args.dtype, seed=args.seed,
                       shuffle=args.shuffle, threads=args.threads, dataset=args.dataset, data_dir=args.data_dir,
                       n_train=args.n_train, n_test=args.n_test, norm=args.norm,
                       norm_placement=args.norm_placement, init=args.init, optimizer=args.optimizer,
                       eval_every=args.eval_every, checkpoint_every=args.checkpoint_every)


def _print(args, record):
    if args.json:
        emit_json(record)
    elif record.get("summary"):
        print(f"{record['status']}: {record['epochs']} epochs, final test accuracy {record['final_test_acc']}, "
              f"best {record['best_test_acc']} (epoch {record['best_epoch']}), "
              f"{record['seconds_per_epoch']} s/epoch")
    else:
        print(f"epoch {record['epoch']:4d}  train loss {record['train_loss']:.5f}  train acc "
              f"{record['train_acc']:.4f}  test acc {record['test_acc']:.4f}  {record['seconds']:.3f} s")
    sys.stdout.flush()


def run(args):
    import contextlib

    from asymexp.mnist.train import build_spec
    from asymexp.run_folder import check_out_folder, claim_folder

    if args.out is not None:
        check_out_folder(args.out)
    cfg = config_from_args(args)
    spec = build_spec(cfg)  # validate before any work
    _check_size(args, cfg, spec)
    with contextlib.ExitStack() as stack:
        if args.out is not None:  # the run's identity leaves out epochs (raised: continue) and threads
            stack.enter_context(claim_folder(args.out, "mnist", cfg.canonical_identity(), continuable(cfg)))
        return _train(args, cfg)


def continuable(cfg) -> dict:
    """The manifest's ``continuable`` settings of a run: ``epochs``, and the schedule options (``eval_every``,
    ``checkpoint_every``) where they differ from their defaults (so manifests of default runs are unchanged)."""
    from asymexp.mnist.train import SCHEDULE_DEFAULTS

    return {"epochs": cfg.epochs} | {k: getattr(cfg, k) for k, v in SCHEDULE_DEFAULTS.items() if getattr(cfg, k) != v}


def _train(args, cfg):
    from tqdm import tqdm

    from asymexp.errors import DivergenceError
    from asymexp.mnist.train import run_summary, train

    previous: list = []
    history: list = []
    bar = tqdm(total=cfg.epochs, desc="mnist", unit="epoch", file=sys.stderr,
               disable=args.no_progress or None)
    try:
        runner = train(cfg, args.out, resumed=previous)
        first = True
        for record in runner:
            if first:
                for old in previous:
                    _print(args, old)
                history.extend(previous)
                bar.update(previous[-1]["epoch"] if previous else 0)
                first = False
            history.append(record)
            _print(args, record)
            bar.update(record["epoch"] - bar.n)  # --eval-every: records skip epochs
            bar.set_postfix(test_acc=f"{record['test_acc']:.4f}")
        if first and previous:  # nothing left to train: replay the finished run
            for old in previous:
                _print(args, old)
            history.extend(previous)
    except DivergenceError as exc:
        bar.close()
        if first:
            for old in previous:
                _print(args, old)
            history.extend(previous)
        _print(args, run_summary(cfg, history, status="diverged") | {"error": str(exc)})
        sys.stderr.write(f"asymexp mnist: error: {exc}\n")
        return EXIT_DIVERGED
    finally:
        bar.close()
    if history and history[-1]["epoch"] > cfg.epochs:
        sys.stderr.write(f"asymexp mnist: note: {args.out} already holds {history[-1]['epoch']} epochs, more than "
                         f"--epochs {cfg.epochs}; nothing to train, reporting the finished epochs (raise --epochs to "
                         "continue)\n")
    _print(args, run_summary(cfg, history))
    return 0
