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

HISTORY_COLUMNS: Final = ("operation_id", "at", "actor", "action", "rows", "reason", "undoes", "tenant", "dead_letters")


def emit_history(outcome: HistoryOutcome, *, fmt: OutputFormat, quiet: bool) -> None:
    entries = outcome.entries
    problems = [f"{outcome.source}: line {n} is not a readable journal entry; it is left out" for n in
                outcome.unreadable_lines]
    if fmt is OutputFormat.JSON:
        code = outcome.exit_code
        emit_envelope(envelope("history", ok=code == 0, exit_code=code, data=entries,
                               errors=[{"code": "journal_line_unreadable", "message": text, "line": n}
                                       for text, n in zip(problems, outcome.unreadable_lines, strict=True)]))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl(entries)
    elif fmt is OutputFormat.CSV:
        emit_csv(HISTORY_COLUMNS, [{**e, "rows": len(e["rows"]), "dead_letters": " ".join(_ids(e))}
                                   for e in entries])
    else:
        _history_table(entries)
    for problem in problems:
        message(f"error: {problem}", style="red")
    if not quiet:
        message(f"{len(entries)} operation(s) from {outcome.source}; {_scope(outcome)}", style="dim")
    if outcome.pending is not None:
        operation_id, intent = outcome.pending
        message(f"note: operation {operation_id} was interrupted ({intent}); the next tandemctl write to the store "
                "journals it if its change was applied", style="yellow")


def _scope(outcome: HistoryOutcome) -> str:
    if outcome.tenant is None:
        return "all tenants"
    text = f"tenant {outcome.tenant}"
    if outcome.hidden_elsewhere:
        text += f"; {outcome.hidden_elsewhere} more in other tenants; --all-tenants to see them"
    return text


def _ids(entry: Row) -> list[str]:
    return [str(row.get("dead_letter_id")) for row in entry["rows"]]


def _history_table(entries: list[Row]) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold", expand=False)
    table.add_column("OPERATION", no_wrap=True, min_width=28)
    table.add_column("TIME (UTC)", no_wrap=True, min_width=19)
    table.add_column("ACTOR", no_wrap=True, overflow="ellipsis", max_width=16)
    table.add_column("ACTION", no_wrap=True, min_width=7)
    table.add_column("ROWS", no_wrap=True, justify="right")
    table.add_column("REASON", overflow="ellipsis", no_wrap=True, min_width=12)
    table.add_column("DEAD LETTERS", min_width=35)  # wrapped between ids, never inside one
    for entry in entries:
        action = str(entry.get("action", ""))
        if entry.get("undoes"):
            action += f" {entry['undoes']}"
        at = str(entry.get("at", ""))[:19].replace("T", " ")
        table.add_row(Text(inert(str(entry["operation_id"]))), Text(inert(at)),
                      Text(inert(str(entry.get("actor", "")))), Text(inert(action)), str(len(entry["rows"])),
                      Text(inert(str(entry.get("reason") or "-"))), Text(inert(" ".join(_ids(entry)))))
    if entries:
        print_table(table)
