"""Output of `dead-letters list`: the table for people, the envelope, JSON Lines and CSV.

Record text is never interpreted as markup or terminal escapes."""

from typing import Any

from rich.table import Table
from rich.text import Text

from tandemctl.commands.list_dead_letters import ListOutcome
from tandemctl.constants import OutputFormat
from tandemctl.engine.dispositions import dead_letter_retry_dispatch_count, tenant_label, tenant_of
from tandemctl.engine.sealed import SEALED_KEY, is_readable
from tandemctl.render.console import STATUS_STYLES, emit_envelope, envelope, message, print_table, stdout_console
from tandemctl.render.tabular import emit_csv, emit_jsonl
from tandemctl.render.text import age, inert


def emit_list(outcome: ListOutcome, *, fmt: OutputFormat, command: str, quiet: bool = False) -> None:
    for note in outcome.notes:  # how far to trust the answer matters even with -q
        message(note, style="yellow")
    if fmt is OutputFormat.JSON:
        extra: dict[str, Any] = {"next": outcome.next_cursor} if outcome.next_cursor else {}
        if outcome.notes:
            extra["notes"] = list(outcome.notes)
        emit_envelope(envelope(command, ok=True, exit_code=0, data=outcome.rows, **extra))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl(outcome.rows)
    elif fmt is OutputFormat.CSV:
        emit_csv(CSV_COLUMNS, map(_csv_row, outcome.rows))
    if fmt in (OutputFormat.JSONL, OutputFormat.CSV) and outcome.next_cursor and not quiet:
        # The page is all a script sees on stdout: say on stderr that it is not everything.
        message(f"{len(outcome.rows)} dead letter(s); {_more(outcome.next_cursor)}", style="dim")
    if fmt is OutputFormat.TABLE:
        _table(outcome, quiet=quiet)


SOURCE_LABELS = {"tool_effect": "effect", "stateful_wait": "wait"}
CSV_COLUMNS = ("dead_letter_id", "status", "org_id", "workspace_id", "deployment_id", "run_id",
               "source_type", "source_id", "attempts", "retry_dispatch_count", "created_at_ms",
               "updated_at_ms", "operator_disposition", "reason")


def _csv_row(row: dict[str, Any]) -> list[Any]:
    tenant = tenant_of(row)
    if not is_readable(row):
        # Only the index columns are known; the reason column says why and how to read it.
        return [row["dead_letter_id"], row["status"], tenant.get("org_id"), tenant.get("workspace_id"),
                tenant.get("deployment_id", ""), row.get("run_id") or "", "sealed", "", "", "", "",
                row["updated_at_ms"], "", _sealed_reason(row)]
    return [
        row["dead_letter_id"], row["status"], tenant.get("org_id"), tenant.get("workspace_id"),
        tenant.get("deployment_id", ""), row.get("run_id", ""), row["source_type"], row["source_id"],
        row.get("attempts", 0), dead_letter_retry_dispatch_count(row), row["created_at_ms"],
        row["updated_at_ms"], row.get("operator_disposition", ""), row["reason"],
    ]


def _sealed_reason(row: dict[str, Any]) -> str:
    return f"sealed: {row[SEALED_KEY]['note']}"


WIDE = 140  # below this, the table keeps what a person needs to act: full id, status, tenant, age, reason


def _table(outcome: ListOutcome, *, quiet: bool) -> None:
    console = stdout_console()
    wide = console.width >= WIDE
    id_width = max((len(row["dead_letter_id"]) for row in outcome.rows), default=2)
    # Ids are what operators copy into the next command: never truncate them.
    table = Table(box=None, pad_edge=False, header_style="bold", expand=True, collapse_padding=True,
                  padding=(0, 1, 0, 0))
    table.add_column("ID", no_wrap=True, min_width=min(id_width, 48), overflow="fold")
    table.add_column("STATUS", overflow="ellipsis", no_wrap=True, min_width=8, max_width=22 if wide else 15)
    table.add_column("TENANT", overflow="ellipsis", no_wrap=True, ratio=2, min_width=7)
    if wide:
        table.add_column("RUN", overflow="ellipsis", no_wrap=True, ratio=3, min_width=8)
        table.add_column("SOURCE", no_wrap=True)
        table.add_column("ATT", justify="right", no_wrap=True)
    table.add_column("DISP", justify="right", no_wrap=True)
    table.add_column("AGE", justify="right", no_wrap=True, min_width=4)
    table.add_column("REASON", overflow="ellipsis", no_wrap=True, ratio=4, min_width=8)
    for row in outcome.rows:
        if not is_readable(row):
            table.add_row(*_sealed_cells(row, outcome.now_ms, wide))
            continue
        status = row["status"]
        cells: list[Text | str] = [
            Text(inert(row["dead_letter_id"])), Text(status, style=STATUS_STYLES.get(status, "")),
            Text(inert(tenant_label(tenant_of(row))))]
        if wide:
            cells += [Text(inert(row.get("run_id") or "-")),
                      Text(inert(SOURCE_LABELS.get(row["source_type"], row["source_type"]))),
                      str(row.get("attempts", 0))]
        cells += [str(dead_letter_retry_dispatch_count(row)), age(outcome.now_ms, row["created_at_ms"]),
                  Text(inert(row["reason"]))]
        table.add_row(*cells)
    if outcome.rows:
        print_table(table)
    sealed = sum(1 for row in outcome.rows if not is_readable(row))
    if sealed and not quiet:
        message(f"{sealed} sealed row(s): their payload is encrypted; only id, run, status, tenant and update "
                "time are shown (see the README, 'Sealed rows')", style="yellow")
    summary = f"{len(outcome.rows)} dead letter(s)"
    if outcome.next_cursor:
        summary += f"; {_more(outcome.next_cursor)}"
    summary += "; all tenants" if outcome.tenant is None else f"; tenant {outcome.tenant}"
    if outcome.elsewhere:
        summary += f"; {outcome.elsewhere} more in other tenants; --all-tenants to see them"
    for note in outcome.notes:
        summary += f"; {note}"
    if not quiet:
        message(summary, style="dim")


def _more(cursor: dict[str, Any]) -> str:
    text = f"more remain: --after-id {cursor['after_id']}"
    if "before_created_at_ms" in cursor:
        text += f" --before-created-at-ms {cursor['before_created_at_ms']}"
    return text


def _sealed_cells(row: dict[str, Any], now_ms: int, wide: bool) -> list[Text | str]:
    """A sealed row: what its index columns say; SOURCE shows "sealed" and AGE the last update."""
    status = row["status"]
    cells: list[Text | str] = [Text(inert(row["dead_letter_id"])), Text(status, style=STATUS_STYLES.get(status, "")),
                               Text(inert(tenant_label(tenant_of(row))))]
    if wide:
        cells += [Text(inert(row.get("run_id") or "-")), Text("sealed", style="yellow"), "-"]
    cells += ["-", age(now_ms, row["updated_at_ms"]), Text(inert(_sealed_reason(row)))]
    return cells
