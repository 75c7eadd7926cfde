"""asymexp demo: the main job on the embedded data, written to a report folder."""
from asymexp.demo import run_demo

HELP = "run the demonstration (spec, data, and each layer's quick check) into a report folder"


def add_arguments(parser):
    parser.add_argument("--out", default="demo-output", help="report folder (default: demo-output)")
    parser.add_argument("--quick", action="store_true", help="smallest sizes (used by the tests)")


def run(args):
    return run_demo(args.out, quick=args.quick)
