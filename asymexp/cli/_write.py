"""The tail every study command shares: the ``--json`` document, or the text report followed by one
``figure: PATH`` line per file written under ``--out`` (docs/interfaces.md)."""
from __future__ import annotations

from asymexp.cli._common import emit_json

#: The Ctrl-C line (``INTERRUPTED``, :mod:`asymexp.cli`) of the commands that write their files only once they
#: have finished (the studies, ``derive``): their claim of ``{out}`` is released (asymexp.run_folder).
WRITES_AT_END = ("interrupted; nothing was written (this command writes its files when it finishes); the files "
                 "already in {out} are unchanged")


def finish(args, result, print_report) -> int:
    """Print ``result`` (a study result of :mod:`asymexp.api.study_results`) as the command does: with --json its
    ``to_dict()``, else ``print_report(document)`` and the paths of its figures and files; returns 0."""
    if args.json:
        emit_json(result.to_dict())
        return 0
    print_report(result.document)
    for path in result.figures:
        print(f"figure: {path}")
    return 0
