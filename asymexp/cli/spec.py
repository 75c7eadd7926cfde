"""asymexp spec: print the validated, normalized network specification."""
from asymexp.cli._common import add_json_argument, add_spec_arguments, emit_json, spec_from_args

HELP = "validate a network specification and print it normalized"


def add_arguments(parser):
    add_spec_arguments(parser)
    add_json_argument(parser)


def run(args):
    spec = spec_from_args(args)
    doc = spec.to_dict()
    if args.json:
        emit_json(doc)
    else:
        for key, value in doc.items():
            print(f"{key:12s} {value}")
