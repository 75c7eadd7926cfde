"""asymexp sweep KIND: run a grid of tasks through the resumable executor (asymexp.executor).

KIND modules (``SWEEP_KINDS``) define ``HELP``, ``add_arguments(parser)``, ``build_tasks(args) -> (tasks, worker)``,
``folder_identity(args) -> (parameters, continuable)`` (the --out folder's manifest, asymexp.run_folder) and
``summarize(args, results) -> dict``. This module adds the common options --grid, --out, --workers,
--scheduler and --json.
"""
import importlib

from asymexp.cli._common import add_json_argument, check_workers, emit_json, integer, print_text

HELP = "run a resumable grid (validate or mnist) on local processes or a Dask cluster"
SWEEP_KINDS = {"validate": "asymexp.validation.validation_grid", "mnist": "asymexp.mnist.mnist_grid"}
#: Ctrl-C (asymexp.cli.main): with --out, the finished parts stay in the folder and a rerun resumes.
INTERRUPTED = "interrupted; finished results are kept"


def add_arguments(parser):
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True, parser_class=type(parser))
    for kind, module_name in SWEEP_KINDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that layer is not installed in this checkout
            raise
        p = kinds.add_parser(kind, help=module.HELP, description=module.HELP)
        p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                       help="a grid axis (repeatable)")
        p.add_argument("--out", required=True, help="result folder; finished tasks there are skipped on rerun")
        p.add_argument("--workers", type=integer(0), default=None,
                       help="local processes (default: CPU count; 0: this process)")
        p.add_argument("--scheduler", default=None,
                       help="Dask scheduler: 'local' or an address such as tcp://host:8786 (needs asymexp[dask]; "
                            "default: none, local processes)")
        add_json_argument(p)
        module.add_arguments(p)
        p.set_defaults(_sweep_module=module)


def run(args):
    from asymexp.executor import run_tasks
    from asymexp.run_folder import check_out_folder, claim_folder

    module = args._sweep_module
    check_workers(args.workers, args.scheduler)
    check_out_folder(args.out)
    tasks, worker = module.build_tasks(args)
    parameters, continuable = module.folder_identity(args)
    with claim_folder(args.out, f"sweep {args.kind}", parameters, continuable):  # docs/interfaces.md
        results = run_tasks(tasks, worker, args.out, workers=args.workers, scheduler=args.scheduler,
                            desc=f"sweep {args.kind}")
        summary = module.summarize(args, results)
    if args.json:
        emit_json(summary)
    else:
        print_text(summary)
