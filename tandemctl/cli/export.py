"""`tandemctl export`: a thin adapter."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli.runner import run_command

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation


def export_command(
    ctx: typer.Context,
    output_file: Annotated[str | None, typer.Option(
        "--output-file", help="Write the document to this file (atomically) instead of stdout.")] = None,
) -> None:
    """Export the reliability records as a 0.6.6-format stateful_reliability.json document.

    Works on every store (JSON files, SQLite, PostgreSQL); the layout is the engine's own. Rows
    whose payload is sealed are left out and named on stderr, never invented.

    Example: tandemctl export --output-file /tmp/reliability-snapshot.json
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.export import run_export
        from tandemctl.render.export import emit_export

        outcome = run_export(inv.store(), output_file=Path(output_file) if output_file else None,
                             store_file=inv.paths.reliability_file)
        emit_export(outcome, fmt=inv.output, quiet=inv.quiet)
        return 0

    run_command(ctx, "export", body)
