"""Output of `history` in every format."""

from typing import Final

from rich.table import Table
from rich.text import Text

from tandemctl.commands.history import HistoryOutcome
from tandemctl.constants import OutputFormat
from tandemctl.engine.rows import Row
from tandemctl.render.console import emit_envelope, envelope, message, print_table
from tandemctl.render.tabular import emit_csv, emit_jsonl
from tandemctl.render.text import inert

HISTORY_COLUMNS: Final = ("operation_id", "at", "actor", "action", "rows", "reason", "undoes", "tenant")


def emit_history(outcome: HistoryOutcome, *, fmt: OutputFormat, quiet: bool) -> None:
    entries = outcome.entries
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope("history", ok=True, exit_code=0, data=entries))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl(entries)
    elif fmt is OutputFormat.CSV:
        emit_csv(HISTORY_COLUMNS, [{**e, "rows": len(e["rows"])} for e in entries])
    else:
        _history_table(entries)
    if not quiet:
        message(f"{len(entries)} operation(s) from {outcome.source}", style="dim")
    if outcome.pending is not None:
        operation_id, intent = outcome.pending
        message(f"note: operation {operation_id} was interrupted ({intent}); the next tandemctl write to the store "
                "journals it if its change was applied", style="yellow")


def _history_table(entries: list[Row]) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold", expand=False)
    table.add_column("OPERATION", no_wrap=True, min_width=28)
    table.add_column("TIME (UTC)", no_wrap=True, min_width=19)
    table.add_column("ACTOR", no_wrap=True, overflow="ellipsis", max_width=16)
    table.add_column("ACTION", no_wrap=True, min_width=7)
    table.add_column("ROWS", no_wrap=True, justify="right")
    table.add_column("REASON", overflow="ellipsis", no_wrap=True, min_width=12)
    for entry in entries:
        action = str(entry.get("action", ""))
        if entry.get("undoes"):
            action += f" {entry['undoes']}"
        at = str(entry.get("at", ""))[:19].replace("T", " ")
        table.add_row(Text(inert(str(entry["operation_id"]))), Text(inert(at)),
                      Text(inert(str(entry.get("actor", "")))), Text(inert(action)), str(len(entry["rows"])),
                      Text(inert(str(entry.get("reason") or "-"))))
    if entries:
        print_table(table)
