"""Helpers shared by the subcommands: spec arguments and JSON output."""
from __future__ import annotations

import argparse
import sys

from asymexp.input_checks import integer  # noqa: F401 - the argparse type of the commands, one home
from asymexp.spec import ACTIVATIONS, PRESETS, NetworkSpec


def add_spec_arguments(parser, widths_required: bool = False, gammas_required: bool = True,
                       activations: tuple = ACTIVATIONS) -> None:
    """--gammas, --widths, --activation, --preset (as docs/interfaces.md writes them); ``activations``: the
    --activation choices (a command that also serves other activations checks the spec's own in its run)."""
    parser.add_argument("--gammas", required=gammas_required,
                        help="gamma_1..gamma_L in [1/2, 1], comma-separated (0.7 or 7/10; symbols such as g1)")
    parser.add_argument("--widths", required=widths_required,
                        help="N_1..N_L, comma-separated integers >= 1 (default: none, widths left open)")
    parser.add_argument("--activation", choices=activations, default=None, help="default: the preset's (sigmoid)")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="theory",
                        help="initial laws: theory (C symmetric, mean zero) or paper-mnist")


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """argparse help that shows each option's default: "(default: X)" is appended unless the help text already
    names its default, the option is required, or it is a flag (off unless given)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (not action.option_strings or action.required or action.nargs == 0 or "default" in text.lower()
                or action.default in (None, argparse.SUPPRESS)):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


def spec_from_args(args) -> NetworkSpec:
    return NetworkSpec.from_strings(gammas=args.gammas, widths=args.widths, activation=args.activation,
                                    preset=args.preset)


def check_workers(workers: int | None, scheduler: str | None) -> None:
    """Refuse --workers where it would be ignored or mean something else: 0 (this process) with --scheduler,
    any count with a remote Dask scheduler (its cluster brings its own workers)."""
    from asymexp.errors import AsymexpError

    if scheduler is not None and workers == 0:
        raise AsymexpError(f"--workers 0 runs in this process and cannot be combined with --scheduler {scheduler}; "
                           "give --workers N >= 1 with --scheduler local, or drop one of them")
    if scheduler not in (None, "local") and workers is not None:
        raise AsymexpError(f"--workers {workers} sets local processes; the Dask cluster at {scheduler} brings its "
                           "own workers: drop --workers")


def print_text(document: dict, indent: int = 0) -> None:
    """A document as aligned ``key  value`` lines for people (nested tables indented; no Python reprs)."""
    width = max((len(str(k)) for k in document), default=0)
    for key, value in document.items():
        pad = " " * indent
        if isinstance(value, dict):
            print(f"{pad}{key}")
            print_text(value, indent + 2)
        elif isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list, tuple)) for v in value):
            print(f"{pad}{key:{width}s}  {', '.join(_plain(v) for v in value)}")
        elif isinstance(value, (list, tuple)):
            print(f"{pad}{key}")
            for i, item in enumerate(value):
                print_text(item if isinstance(item, dict) else {str(i): item}, indent + 2)
        else:
            print(f"{pad}{key:{width}s}  {_plain(value)}")


def _plain(value) -> str:
    return "-" if value is None else str(value)


def add_json_argument(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def emit_json(document) -> None:
    """Exactly one JSON document on stdout, encoded by :func:`asymexp.json_out.dumps` (NaN and inf as null,
    NumPy values as numbers and lists, fractions as "p/q"), as the verbs' ``to_json`` encode it."""
    from asymexp.json_out import dumps

    sys.stdout.write(dumps(document) + "\n")
    sys.stdout.flush()
