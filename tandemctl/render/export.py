"""Output of `tandemctl export`: the document on stdout (or a summary when written to a file);
sealed rows always named on stderr."""

from tandemctl.commands.export import ExportOutcome
from tandemctl.constants import OutputFormat
from tandemctl.render.console import emit_envelope, envelope, message, write_stdout
from tandemctl.render.text import inert

SHOWN_IDS = 20


def emit_export(outcome: ExportOutcome, *, fmt: OutputFormat, quiet: bool) -> None:
    if outcome.sealed:
        shown = ", ".join(inert(item) for item in outcome.sealed[:SHOWN_IDS])
        more = f" and {len(outcome.sealed) - SHOWN_IDS} more" if len(outcome.sealed) > SHOWN_IDS else ""
        message(f"{len(outcome.sealed)} sealed row(s) not exported (their payload cannot be read here): "
                f"{shown}{more}", style="yellow")
    if outcome.decrypted and not quiet:
        message(f"{outcome.decrypted} row(s) decrypted with the local memory key are exported in plaintext",
                style="yellow")
    if outcome.output_file is None:
        write_stdout(outcome.document)
        return
    total = sum(outcome.counts.values())
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope("export", ok=True, exit_code=0, data={
            "output_file": str(outcome.output_file), "counts": outcome.counts, "sealed": outcome.sealed,
            "decrypted": outcome.decrypted, "source": outcome.source}))
    elif not quiet:
        message(f"exported {total} record(s) from {outcome.source} to {outcome.output_file}", style="dim")
