"""asymexp data: load and verify a dataset."""
from asymexp.cli._common import add_json_argument, emit_json
from asymexp.inputs.datasets import DATASETS, load

HELP = "load and verify a dataset (embedded MNIST by default)"


def add_arguments(parser):
    parser.add_argument("--dataset", choices=DATASETS, default="mnist")
    parser.add_argument("--data-dir", default=None, help="folder with the IDX files (default: $ASYMEXP_DATA, "
                        "else the embedded MNIST test set / Debian's Fashion-MNIST)")
    add_json_argument(parser)


def run(args):
    summary = load(args.dataset, args.data_dir).summary()
    if args.json:
        emit_json(summary)
    else:
        print(f"{summary['dataset']} from {summary['source']}: train {summary['train']['n']}, "
              f"test {summary['test']['n']}, images {summary['train']['shape']}, md5 ok: {summary['md5_ok']}")
