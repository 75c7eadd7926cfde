"""asymexp demo: the main job on the embedded data, written to a report folder."""
from asymexp.demo import run_demo

HELP = "run the demonstration (spec, data, and each layer's quick check) into a report folder"
#: Ctrl-C (asymexp.cli.main): report.md keeps the sections of the steps that finished (asymexp.demo).
INTERRUPTED = "interrupted; finished results are kept"


def add_arguments(parser):
    parser.add_argument("--out", default="demo-output", help="report folder (default: demo-output)")
    parser.add_argument("--quick", action="store_true", help="smallest sizes (used by the tests)")


def run(args):
    from asymexp.run_folder import claim_folder

    with claim_folder(args.out, "demo", {"quick": bool(args.quick)}):  # lock and manifest: docs/interfaces.md
        return run_demo(args.out, quick=args.quick)
