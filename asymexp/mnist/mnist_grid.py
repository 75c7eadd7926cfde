"""``asymexp sweep mnist``: the paper's gamma grid through the shared resumable executor (asymexp.executor).

``--grid "gammas=0.5,0.7,1.0" --layers 3`` makes every gamma_l range over the list: 27 configurations for three
hidden layers, 9 for two; ``--only 1,1,1 --only ...`` keeps just the listed vectors (:func:`grid_vectors`).
Further axes: ``seed=0,1,2`` (or ``--seeds``), ``lr_scale=...``, ``loss=...``. ``--norm``, ``--norm-placement``,
``--init`` and ``--optimizer`` apply to every run (asymexp mnist's options), and so do ``--eval-every`` and
``--checkpoint-every`` (the schedule; they change no trained parameter, so they are not part of a task's identity
and a rerun with other values continues every task). Each task trains one network single-threaded and checkpoints
every epoch (or every ``--checkpoint-every``) under ``OUT/runs/<key>/``, so an interrupted sweep resumes inside
unfinished tasks too. Tasks are submitted longest remaining work first (epochs still to train, read from their
checkpoints), so that a resumed grid keeps both worker processes busy to the end. Tasks store that folder relative
to OUT (resolved at run time), so a sweep folder can be moved or renamed; their ``identity`` leaves out ``epochs``,
so a rerun with more epochs continues every task (docs/mnist.md). ``summarize`` writes ``OUT/summary.json`` and
``OUT/figure.png`` (the figure of ``asymexp plot``).
"""
from __future__ import annotations

import itertools
import os
from pathlib import Path

from asymexp import budget

from asymexp.executor import SweepError, Task, parse_grid
from asymexp.mnist.lr_choice import CRITERIA
from asymexp.mnist.norm_net import DEFAULTS
from asymexp.mnist.train_options import SWEEP, add_trainer_arguments

HELP = "the paper's MNIST gamma grid (27 configurations for 3 layers), resumable"
AXES = ("gammas", "seed", "lr_scale", "loss")


def add_arguments(parser):
    """asymexp mnist's options that a grid shares (:data:`asymexp.mnist.train_options.SWEEP`), the grid's own
    (--lr-scale-from, --seeds) among them."""
    def shared(first, last):
        add_trainer_arguments(parser, SWEEP[SWEEP.index(first):SWEEP.index(last) + 1],
                              layers={"default": 3, "help": "hidden layers L (each gamma_l runs over the grid)"})

    shared("--layers", "--lr-scale")
    parser.add_argument("--lr-scale-from", default=None, metavar="SCAN", action="append",
                        help="each configuration's lr-scale from an lr-scale scan (a sweep mnist folder with an "
                        "lr_scale axis): the one with the highest final training accuracy (docs/mnist.md); "
                        "repeat to pool a scan with one that extends its range")
    parser.add_argument("--lr-choice-by", default=CRITERIA[0], choices=CRITERIA,
                        help="with --lr-scale-from: choose the highest final training accuracy (default) or the "
                        "lowest final training loss (mean over the scan's seeds)")
    parser.add_argument("--only", action="append", default=None, metavar="G1,...,GL",
                        help="run only this gamma vector of the grid (repeatable; each gamma_l one of the gammas "
                        "axis' values), e.g. --only 1,1,1 --only 1/2,1/2,1/2")
    shared("--preset", "--dtype")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (an extra grid axis)")
    shared("--shuffle", "--checkpoint-every")
    budget.add_long_run_argument(parser)


def _task_key(gammas, seed, extra):
    """File-safe key: gammas as written in the grid, a fraction's slash as '-' (1/2 -> 1-2)."""
    key = "g=" + ",".join(g.replace("/", "-") for g in gammas) + f"+seed={seed}"
    for name, value in extra:
        key += f"+{name}={value}"
    return key


def build_tasks(args):
    """The grid as :class:`asymexp.executor.Task` list and the worker :func:`train_worker`."""
    from asymexp.mnist.train import TrainConfig, build_spec

    axes = parse_grid(args.grid)
    unknown = sorted(set(axes) - set(AXES))
    if unknown:
        raise SweepError(f"--grid axis {', '.join(unknown)} is unknown for mnist; allowed: {', '.join(AXES)}")
    if "gammas" not in axes:
        raise SweepError('asymexp sweep mnist needs --grid "gammas=V1,V2,..." (each gamma_l runs over the list)')
    if args.layers < 1:
        raise SweepError(f"--layers {args.layers} is not allowed; at least 1 hidden layer")
    seeds = axes.pop("seed", None) or [s.strip() for s in str(args.seeds).split(",")]
    try:
        seeds = [int(s) for s in seeds]
    except ValueError:
        raise SweepError(f"seeds {seeds} must be integers") from None
    lr_axis = "lr_scale" in axes
    lr_scales = [float(v) for v in axes.pop("lr_scale", [args.lr_scale])]
    losses = axes.pop("loss", [args.loss])

    def config(gammas, seed, lr, loss):
        return TrainConfig(gammas=",".join(gammas), widths=args.widths, layers=args.layers, preset=args.preset,
                           activation=args.activation, loss=loss, lr_scale=lr, epochs=args.epochs, batch=args.batch,
                           dtype=args.dtype, seed=seed, shuffle=args.shuffle, threads=1, dataset=args.dataset,
                           data_dir=args.data_dir, n_train=args.n_train, n_test=args.n_test,
                           **_options(args), **_schedule(args))

    vectors = grid_vectors(axes["gammas"], args.layers, getattr(args, "only", None))
    if getattr(args, "lr_choice_by", "train_acc") != "train_acc" and not getattr(args, "lr_scale_from", None):
        raise SweepError(f"--lr-choice-by {args.lr_choice_by} needs --lr-scale-from SCAN (it says how to choose "
                         "from a scan)")
    chosen = None
    if getattr(args, "lr_scale_from", None):
        chosen = _lr_choice(args, lr_axis, losses, _config_dict(config(vectors[0], seeds[0], 1.0, losses[0])),
                            [",".join(g) for g in vectors])
    out = os.path.abspath(args.out)
    tasks = []
    for gammas in vectors:
        if chosen is not None:
            lr_scales = [chosen[",".join(gammas)]]
        for seed, lr, loss in itertools.product(seeds, lr_scales, losses):
            extra = []
            if len(lr_scales) > 1:
                extra.append(("lr", lr))
            if len(losses) > 1:
                extra.append(("loss", loss))
            key = _task_key(gammas, seed, extra)
            cfg = config(gammas, seed, lr, loss)
            build_spec(cfg)  # validate every configuration before starting any
            run_dir = f"runs/{key}"
            tasks.append(Task(key, {"config": _config_dict(cfg), "checkpoint_dir": run_dir},
                              identity={"config": cfg.canonical_identity(), "checkpoint_dir": run_dir},
                              local={"sweep_dir": out}))
    if tasks:
        _check_size(args, len(tasks), cfg)
    return balanced(tasks, args.epochs, out), train_worker


def grid_vectors(gammas: list[str], layers: int, only: list[str] | None = None) -> list[tuple[str, ...]]:
    """The gamma vectors of the grid: every product of ``gammas`` over ``layers`` hidden layers, in grid order, or
    with ``only`` (``--only``, each "g_1,...,g_L") just those, in grid order and spelt as the grid spells them
    ("0.5" in ``only`` is the grid's "1/2"). A vector of the wrong length, or with a value not on the axis, is a
    :class:`SweepError` that names it and what is allowed."""
    from fractions import Fraction

    vectors = list(itertools.product(gammas, repeat=layers))
    if not only:
        return vectors

    def exact(values):
        try:
            return tuple(Fraction(v.strip()) for v in values)
        except (ValueError, ZeroDivisionError):
            return None

    by_value = {exact(v): v for v in vectors}
    wanted = set()
    for item in only:
        parts = item.split(",")
        key = exact(parts)
        if len(parts) != layers or key not in by_value:
            shown = repr(item) if len(item) <= 60 else f"{item[:40]!r}... ({len(item)} characters)"
            raise SweepError(f"--only {shown} is not a vector of the grid; allowed: {layers} comma-separated values "
                             f"from the gammas axis ({', '.join(gammas)})")
        wanted.add(key)
    return [v for v in vectors if exact(v) in wanted]


def _lr_choice(args, lr_axis: bool, losses: list, sample: dict, vectors: list[str]) -> dict[str, float]:
    """``{gammas: lr_scale}`` for the gamma ``vectors`` from the scan ``args.lr_scale_from``
    (:func:`asymexp.mnist.lr_choice.choices_for`; ``sample`` one task's config), kept on ``args`` for the
    manifest (:func:`folder_identity`). Refuses an lr_scale axis, an --lr-scale or several losses besides it."""
    from asymexp.mnist.lr_choice import choices_for

    if lr_axis or args.lr_scale != 1.0:
        raise SweepError("--lr-scale-from chooses each configuration's lr-scale; drop --lr-scale and the lr_scale "
                         "grid axis")
    if len(losses) > 1:
        raise SweepError("--lr-scale-from takes one --loss (the scan's); drop the loss grid axis")
    args._lr_chosen = choices_for(args.lr_scale_from, sample, vectors, getattr(args, "lr_choice_by", "train_acc"))
    return args._lr_chosen


def balanced(tasks, epochs: int, out) -> list:
    """``tasks`` ordered longest remaining work first (``epochs`` minus the epoch of each task's checkpoint under
    ``out``; ties keep the grid order): the greedy longest-first rule, so that with two workers neither idles
    while the other trains a long remainder. A fresh grid keeps its order (every task has all epochs to go)."""
    from asymexp.mnist.train import CHECKPOINT, checkpoint_epoch

    left = {t.key: max(epochs - checkpoint_epoch(Path(out) / t.params["checkpoint_dir"] / CHECKPOINT), 0)
            for t in tasks}
    return sorted(tasks, key=lambda t: -left[t.key])


def _check_size(args, count: int, cfg) -> None:
    """Price the whole grid before anything starts: :func:`asymexp.mnist.train.size_estimate` of one run, its
    memory times the local workers, its work times the runs; asymexp.budget.check refuses what cannot fit or would
    run for more than a day without --yes-long-run. Runs once: build_tasks is called again by summarize."""
    from asymexp.mnist.train import build_spec, size_estimate

    if getattr(args, "_budget_checked", False):
        return
    spec = build_spec(cfg)
    one = size_estimate(cfg, spec)
    workers = getattr(args, "workers", None)
    workers = 1 if workers == 0 else (workers or os.cpu_count() or 1)
    est = budget.Estimate(f"sweep mnist ({count} runs, widths {','.join(map(str, spec.widths))}, "
                          f"{args.epochs} epochs)", one.bytes * min(workers, count), one.flops * count)
    budget.check(est, getattr(args, "yes_long_run", False), prog="asymexp sweep")
    args._budget_checked = True


def folder_identity(args) -> tuple[dict, dict]:
    """``(parameters, continuable)`` of the sweep's manifest (:func:`asymexp.run_folder.claim_folder`): every
    setting that shapes the grid or its networks, canonical where the spec gives a form; ``epochs`` may change."""
    from asymexp.mnist.train import TrainConfig, build_spec

    axes = parse_grid(args.grid)
    spec = build_spec(TrainConfig(gammas=axes["gammas"][0], widths=args.widths, layers=args.layers,
                                  preset=args.preset, activation=args.activation))
    seeds = [int(s) for s in axes.pop("seed", None) or str(args.seeds).split(",")]
    params = {"layers": args.layers, "widths": list(spec.widths), "activation": args.activation or spec.activation,
              "preset": args.preset, "batch": args.batch, "dtype": args.dtype, "shuffle": bool(args.shuffle),
              "dataset": args.dataset, "data_dir": args.data_dir, "n_train": args.n_train, "n_test": args.n_test,
              "gammas": axes["gammas"], "seeds": seeds,
              **({"only": [",".join(v) for v in grid_vectors(axes["gammas"], args.layers, args.only)]}
                 if getattr(args, "only", None) else {}),
              "lr_scale": [float(v) for v in axes.get("lr_scale", [args.lr_scale])],
              "loss": axes.get("loss", [args.loss])}
    params |= {k: v for k, v in _options(args).items() if v != DEFAULTS[k]}  # old sweep folders still match
    if getattr(args, "lr_scale_from", None):
        if getattr(args, "_lr_chosen", None) is None:
            build_tasks(args)  # sets args._lr_chosen (run() has called it already)
        scans = [os.path.abspath(d) for d in args.lr_scale_from]
        params["lr_scale"] = {"from": scans[0] if len(scans) == 1 else scans, "chosen": args._lr_chosen}
        if getattr(args, "lr_choice_by", "train_acc") != "train_acc":  # older folders keep their identity
            params["lr_scale"]["by"] = args.lr_choice_by
    return params, {"epochs": args.epochs} | _schedule(args, changed_only=True)


def _options(args) -> dict:
    """The options of :mod:`asymexp.mnist.norm_net` as :class:`TrainConfig` fields (defaults when absent)."""
    return {k: getattr(args, k, v) for k, v in DEFAULTS.items()}


def _schedule(args, changed_only: bool = False) -> dict:
    """``eval_every`` and ``checkpoint_every`` of the sweep (defaults when absent; only those that differ from the
    defaults with ``changed_only``)."""
    from asymexp.mnist.train import SCHEDULE_DEFAULTS

    values = {k: getattr(args, k, v) for k, v in SCHEDULE_DEFAULTS.items()}
    return {k: v for k, v in values.items() if not changed_only or v != SCHEDULE_DEFAULTS[k]}


def _config_dict(cfg) -> dict:
    """The task's config: the :class:`TrainConfig` fields, less the schedule options at their defaults, so that a
    task of a folder written before they existed has the same params (and is skipped when finished)."""
    import dataclasses

    from asymexp.mnist.train import SCHEDULE_DEFAULTS

    return {k: v for k, v in dataclasses.asdict(cfg).items()
            if not (k in SCHEDULE_DEFAULTS and v == SCHEDULE_DEFAULTS[k])}


def train_worker(params: dict) -> dict:
    """Train one configuration (single-threaded); returns its history and final numbers (JSON-ready).

    A diverged run is a result (``status: "diverged"`` with the message), not a crash of the sweep."""
    from asymexp.errors import DivergenceError
    from asymexp.mnist.train import TrainConfig, train

    cfg = TrainConfig(**params["config"])
    run_dir = params.get("checkpoint_dir")
    if run_dir is not None and not os.path.isabs(run_dir):
        run_dir = os.path.join(params.get("sweep_dir", "."), run_dir)
    previous: list = []
    history: list = []
    status, error = "finished", None
    try:
        for record in train(cfg, run_dir, resumed=previous):
            history.append(record)
    except DivergenceError as exc:
        status, error = "diverged", str(exc)
    history = previous + history
    return {"status": status, "error": error, "history": history,
            "final_test_acc": history[-1]["test_acc"] if history else None,
            "seconds_per_epoch": (sum(h["seconds"] for h in history) / len(history)) if history else None}


def summarize(args, results: dict) -> dict:
    """Analysis of the finished grid (:func:`asymexp.mnist.grid_report.analyse`); also writes summary.json and
    figure.png into ``args.out``."""
    from asymexp.json_out import dumps
    from asymexp.mnist.grid_report import analyse, draw_figure, load_runs

    runs = load_runs(args.out)
    summary = analyse(runs)
    draw_figure(runs, Path(args.out) / "figure.png")
    summary["figure"] = str(Path(args.out) / "figure.png")
    (Path(args.out) / "summary.json").write_text(dumps(summary, indent=1))
    return summary
