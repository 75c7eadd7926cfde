"""asymexp plot: the paper-style figure and summary table of an ``asymexp sweep mnist`` folder."""
from asymexp.cli._common import add_json_argument, emit_json
from asymexp.mnist.lr_choice import CRITERIA

HELP = ("figure (test accuracy vs epoch per gamma_L) and summary table of an MNIST gamma sweep, or several "
        "sweeps side by side")


def add_arguments(parser):
    parser.add_argument("--sweep", required=True, action="append",
                        help="folder written by `asymexp sweep mnist --out DIR`; repeat to compare grids at --epoch")
    parser.add_argument("--epoch", type=int, action="append", default=None, metavar="E",
                        help="analyse as of epoch E (an epoch every run evaluated); needed with several --sweep: "
                        "once for all, or once per --sweep in their order")
    parser.add_argument("--out", required=True, help="figure file (.png, .pdf or .svg)")
    parser.add_argument("--lr-choice-by", default=None, choices=CRITERIA,
                        help="for an lr-scale scan: choose and draw by the final training accuracy (default) or "
                        "training loss, as `sweep mnist --lr-choice-by` would")
    add_json_argument(parser)


def _runs(folder, epoch):
    from asymexp.errors import AsymexpError
    from asymexp.mnist.grid_compare import at_epoch
    from asymexp.mnist.grid_report import load_runs
    from asymexp.run_folder import read_manifest

    manifest = read_manifest(folder)
    if manifest is not None and manifest["command"] != "sweep mnist":
        raise AsymexpError(f"--sweep {folder} holds an `asymexp {manifest['command']}` run; plot reads the "
                           "folders of `asymexp sweep mnist`")
    runs = load_runs(folder)
    return runs if epoch is None else at_epoch(runs, epoch, str(folder))


def run(args):
    from asymexp.errors import AsymexpError
    from asymexp.mnist.grid_report import analyse, draw_figure
    from asymexp.mnist.lr_choice import is_scan
    from asymexp.run_folder import check_out_file

    check_out_file(args.out, (".png", ".pdf", ".svg"))
    bad = [e for e in args.epoch or [] if e < 1]
    if bad:
        raise AsymexpError(f"--epoch {bad[0]} is not allowed; an epoch >= 1")
    if args.epoch and len(args.epoch) not in (1, len(args.sweep)):
        raise AsymexpError(f"{len(args.epoch)} --epoch values for {len(args.sweep)} --sweep folders; give one for "
                           "all, or one per folder")
    if len(args.sweep) > 1:
        if args.lr_choice_by:
            raise AsymexpError("--lr-choice-by reads one lr-scale scan; give one --sweep")
        return _compare(args)
    runs = _runs(args.sweep[0], args.epoch[0] if args.epoch else None)
    by = args.lr_choice_by or CRITERIA[0]
    if args.lr_choice_by and not is_scan(runs):
        raise AsymexpError(f"--lr-choice-by {by} chooses among an lr-scale scan's scales; {args.sweep[0]} has one "
                           "lr-scale per configuration; drop the option")
    summary = analyse(runs, by)
    summary["figure"] = str(draw_figure(runs, args.out, by))
    if args.json:
        emit_json(summary)
        return 0
    L = summary["depth"]
    if summary.get("kind") == "lr-scale scan":
        _print_scan(summary)
        return 0
    print(f"{'gammas':<22} {'seeds':>5} {'epochs':>6} {'final test acc':>16} {'final train loss':>18} {'best':>7}")
    for row in summary["table"]:
        acc = "-" if row["final_test_acc"] is None else f"{row['final_test_acc']:.4f}"
        if row["final_test_acc_sd"] is not None:
            acc += f" +- {row['final_test_acc_sd']:.4f}"
        loss = "-" if row["final_train_loss"] is None else f"{row['final_train_loss']:.4f}"
        if row["final_train_loss_sd"] is not None:
            loss += f" +- {row['final_train_loss_sd']:.4f}"
        best = "-" if row["best_test_acc"] is None else f"{row['best_test_acc']:.4f}"
        div = f" ({row['diverged']} diverged)" if row["diverged"] else ""
        print(f"{','.join(row['gammas']):<22} {row['seeds']:>5} {row['epochs']:>6} {acc:>16} {loss:>18} "
              f"{best:>7}{div}")
    print(f"\n{summary['statement']} (depth {L})")
    print(f"figure: {summary['figure']}")
    return 0


def _print_scan(summary: dict) -> None:
    """Text form of an lr-scale scan (:func:`asymexp.mnist.lr_choice.scan_summary`)."""
    lrs, by = summary["lr_scales"], summary["criterion"]
    print(f"final {by.replace('_', ' ')}, mean over seeds")
    print(f"{'gammas':<22} " + " ".join(f"{v:>8g}" for v in lrs) + "   chosen")
    for row in summary["scan"]:
        cells = {c["lr_scale"]: "div" if c[by] is None else f"{c[by]:.4f}"
                 for c in row["candidates"]}
        chosen = "-" if row["lr_scale"] is None else f"{row['lr_scale']:g}"
        edge = f" (open {row['open_side']})" if row["open_side"] else ""
        edge += "" if row["determined"] or row["lr_scale"] is None else " (undetermined)"
        print(f"{','.join(row['gammas']):<22} " + " ".join(f"{cells.get(v, '-'):>8}" for v in lrs)
              + f"   {chosen}{edge}")
    print(f"\n{summary['statement']}")
    print(f"figure: {summary['figure']}")


def _compare(args) -> int:
    """Several sweeps at one epoch (:mod:`asymexp.mnist.grid_compare`): table, verdicts, rank agreement, figure."""
    import os

    from asymexp.errors import AsymexpError
    from asymexp.mnist.grid_compare import compare, figure
    from asymexp.mnist.grid_report import save_figure

    if not args.epoch:
        raise AsymexpError("several --sweep folders are compared at one epoch; add --epoch E (an epoch every run "
                           "evaluated, e.g. 301 with --eval-every 10)")
    names = [os.path.basename(os.path.normpath(f)) for f in args.sweep]
    if len(set(names)) < len(names):
        names = [os.path.normpath(f) for f in args.sweep]
    epochs = dict(zip(names, args.epoch * len(names) if len(args.epoch) == 1 else args.epoch))
    summary = compare({n: _runs(f, epochs[n]) for n, f in zip(names, args.sweep)}, epochs)
    summary["figure"] = str(save_figure(figure(summary), args.out))
    if args.json:
        emit_json(summary)
        return 0
    at = ", ".join(f"{n} {e}" for n, e in epochs.items())
    print(f"test accuracy at the epochs {at} (mean +- sd over seeds; seeds that left chance, mean epoch; "
          "training loss)")
    print(f"{'gammas':<16} " + " ".join(f"{n[:24]:>38}" for n in names))
    for row in summary["table"]:
        cells = []
        for n in names:
            c = row[n]
            if c is None or c["test_acc"] is None:
                cells.append(f"{'-':>38}")
                continue
            sd = f"+-{c['test_acc_sd']:.3f}" if c["test_acc_sd"] is not None else ""
            ep = f"{c['left_chance_epoch']:.0f}" if c["left_chance_epoch"] is not None else "-"
            cells.append(f"{c['test_acc']:.3f}{sd} [{c['left_chance']}/{c['seeds']}, {ep}] {c['train_loss']:.3f}"
                         .rjust(38))
        print(f"{','.join(row['gammas']):<16} " + " ".join(cells))
    for n, text in summary["verdicts"].items():
        print(f"\n{n}: {text}")
    for r in summary["rank_agreement"]:
        tau = "-" if r["tau"] is None else f"{r['tau']:.3f} (p = {r['p_value']:.2g})"
        print(f"Kendall tau of the {r['configurations']} configurations, {summary['rank_agreement_with']} vs "
              f"{r['against']}: {tau}")
    print(f"figure: {summary['figure']}")
    return 0
