"""The tail every study command shares: the ``--json`` document, or the text report followed by one
``figure: PATH`` line per file written under ``--out`` (docs/interfaces.md)."""
from __future__ import annotations

from asymexp.cli._common import emit_json


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
