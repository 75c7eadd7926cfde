"""The ``asymexp`` command line (contracts in docs/interfaces.md).

Each subcommand lives in its own module of this package, named in ``COMMANDS``, and defines ``HELP``,
``add_arguments(parser)`` and ``run(args)``. Bad input raises :class:`asymexp.errors.AsymexpError`; ``main``
turns it, and an ``OSError`` about a path the user gave (a folder where a file is needed, a path under a file),
into one line on stderr and exit status 2, never a traceback.

Ctrl-C ends a command with exit status 130 and one line on stderr saying what it left: the module's
``INTERRUPTED`` (``{out}`` stands for the ``--out`` folder), or :data:`NOTHING_WRITTEN` for a module without one
and whenever ``--out`` was not given (docs/interfaces.md, "Output folders").
"""
from __future__ import annotations

import argparse
import importlib
import sys

from asymexp.errors import AsymexpError

#: The Ctrl-C line of a command that has written nothing (docs/interfaces.md, "Output folders").
NOTHING_WRITTEN = "interrupted; nothing was written"

COMMANDS = ["info", "spec", "data", "derive", "theory", "validate", "mnist", "sweep", "plot", "demo", "rmt", "warmup",
            "fim", "gram", "lr-scan", "one-step", "lr-train", "process"]


def one_line(message: str) -> str:
    """``message`` with line breaks and other control characters escaped (a value typed by the user may hold
    them), so that an error is always one line."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in message)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2; help shows the defaults."""

    def __init__(self, *args, **kwargs):
        from asymexp.cli._common import DefaultsHelpFormatter

        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):  # noqa: D102
        sys.stderr.write(f"{self.prog}: error: {one_line(message)}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="asymexp", description="Width asymptotics of 1/N^gamma-normalized networks.")
    from asymexp import __version__

    parser.add_argument("--version", action="version", version=f"asymexp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = importlib.import_module(f"asymexp.cli.{name.replace('-', '_')}")  # lr-scan -> lr_scan
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run, _interrupted=getattr(module, "INTERRUPTED", NOTHING_WRITTEN))
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        status = args._run(args)
    except AsymexpError as exc:
        sys.stderr.write(f"asymexp {args.command}: error: {one_line(str(exc))}\n")
        return 2
    except OSError as exc:
        if exc.filename is None:  # not about a path the user gave: a genuine failure, with its traceback
            raise
        where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        sys.stderr.write(f"asymexp {args.command}: error: {one_line(str(where))}: {exc.strerror or exc} "
                         "(a readable file or a writable folder is required)\n")
        return 2
    except KeyboardInterrupt:
        out = getattr(args, "out", "")
        line = NOTHING_WRITTEN if out is None else args._interrupted.format(out=out)
        sys.stderr.write(f"asymexp {args.command}: {one_line(line)}\n")
        return 130
    return int(status or 0)
