"""asymexp plot: the paper-style figure and summary table of an ``asymexp sweep mnist`` folder."""
from asymexp.cli._common import add_json_argument, emit_json

HELP = "figure (test accuracy vs epoch per gamma_L) and summary table of an MNIST gamma sweep"


def add_arguments(parser):
    parser.add_argument("--sweep", required=True, help="folder written by `asymexp sweep mnist --out DIR`")
    parser.add_argument("--out", required=True, help="figure file (.png, .pdf or .svg)")
    add_json_argument(parser)


def run(args):
    from asymexp.errors import AsymexpError
    from asymexp.mnist.grid_report import analyse, draw_figure, load_runs
    from asymexp.run_folder import check_out_file, read_manifest

    check_out_file(args.out, (".png", ".pdf", ".svg"))
    manifest = read_manifest(args.sweep)
    if manifest is not None and manifest["command"] != "sweep mnist":
        raise AsymexpError(f"--sweep {args.sweep} holds an `asymexp {manifest['command']}` run; plot reads the "
                           "folders of `asymexp sweep mnist`")
    runs = load_runs(args.sweep)
    summary = analyse(runs)
    summary["figure"] = str(draw_figure(runs, args.out))
    if args.json:
        emit_json(summary)
        return 0
    L = summary["depth"]
    print(f"{'gammas':<22} {'seeds':>5} {'epochs':>6} {'final test acc':>16} {'best':>7}")
    for row in summary["table"]:
        acc = "-" if row["final_test_acc"] is None else f"{row['final_test_acc']:.4f}"
        if row["final_test_acc_sd"] is not None:
            acc += f" +- {row['final_test_acc_sd']:.4f}"
        best = "-" if row["best_test_acc"] is None else f"{row['best_test_acc']:.4f}"
        div = f" ({row['diverged']} diverged)" if row["diverged"] else ""
        print(f"{','.join(row['gammas']):<22} {row['seeds']:>5} {row['epochs']:>6} {acc:>16} {best:>7}{div}")
    print(f"\n{summary['statement']} (depth {L})")
    print(f"figure: {summary['figure']}")
    return 0
