"""asymexp info: versions, Numba threads, datasets found."""
import platform

from asymexp.cli._common import add_json_argument, emit_json, print_text

HELP = "versions, Numba threads and the datasets found"


def add_arguments(parser):
    add_json_argument(parser)


def run(args):
    import importlib.metadata as md

    from asymexp import __version__
    from asymexp.inputs.datasets import available

    versions = {"asymexp": __version__, "python": platform.python_version()}
    for pkg in ("numpy", "scipy", "numba", "sympy", "mpmath", "matplotlib", "tqdm", "dask", "distributed"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    import numba

    from asymexp.jit import CACHE_FOLDER, cache_root

    doc = {"versions": versions, "numba_threads": numba.config.NUMBA_NUM_THREADS,
           "machine": platform.machine(), "datasets": available(),
           "kernel_cache": CACHE_FOLDER or f"off ({cache_root()} is not writable)"}
    if args.json:
        emit_json(doc)
    else:
        print_text(doc)
