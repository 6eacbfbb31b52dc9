"""The triage table of `dead-letters list` (with --wide, --time or --needs-attention): columns
declared as specs, so adding one is one line. Record text is always inert."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from tandemctl.commands.list_dead_letters import ListOutcome
from tandemctl.commands.list_view import actor_cell, disposition_cell, next_retry_ms, tool_cell
from tandemctl.engine.dispositions import dead_letter_retry_dispatch_count, tenant_label, tenant_of
from tandemctl.engine.rows import Row
from tandemctl.render.console import STATUS_STYLES, message, stdout_console
from tandemctl.render.text import age, inert


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[Row, "Clock"], str]
    justify: str = "left"
    grow: int | None = None  # ratio for flexible text columns; None keeps the column at its content
    wide_only: bool = False


@dataclass(frozen=True)
class Clock:
    now_ms: int
    absolute: bool

    def show(self, ms: int | None) -> str:
        if ms is None:
            return "-"
        if self.absolute:
            return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        if ms <= self.now_ms and self.now_ms - ms < 1000:
            return "now"
        return age(self.now_ms, ms) if ms > self.now_ms else f"{age(self.now_ms, ms)} ago"


def _tenant(row: Row, _: Clock) -> str:
    return tenant_label(tenant_of(row))


def _next(row: Row, clock: Clock) -> str:
    when = next_retry_ms(row)
    if when is None:
        return "-"
    return "now" if when <= clock.now_ms and not clock.absolute else clock.show(when)


COLUMNS: Sequence[Column] = (
    Column("ID", lambda row, _: str(row["dead_letter_id"])),
    Column("STATUS", lambda row, _: str(row["status"])),
    Column("TENANT", _tenant, grow=1),
    Column("TOOL", lambda row, _: tool_cell(row), grow=1),
    Column("DISP", lambda row, _: str(dead_letter_retry_dispatch_count(row)), justify="right"),
    Column("NEXT", _next, justify="right"),
    Column("CHANGED", lambda row, clock: clock.show(row.get("updated_at_ms")), justify="right"),
    Column("RUN", lambda row, _: str(row.get("run_id") or "-"), grow=1, wide_only=True),
    Column("ACTOR", lambda row, _: actor_cell(row), grow=1, wide_only=True),
    Column("DISPOSITION", lambda row, _: disposition_cell(row), grow=2, wide_only=True),
    Column("REASON", lambda row, _: str(row.get("reason", "")), grow=3),
)


FLEX_MIN = 8  # a text column narrower than this says nothing
DROP_ORDER = ("TENANT", "ACTOR", "RUN", "TOOL", "DISPOSITION")  # what goes first when the terminal is narrow


def _fit(columns: list[Column], fixed: dict[str, int], width: int) -> list[Column]:
    """Leave out the least useful text columns until the rest fit at a readable width."""
    def needed(chosen: list[Column]) -> int:
        return sum(FLEX_MIN if c.grow is not None else fixed[c.header] for c in chosen) + len(chosen) - 1

    for header in DROP_ORDER:
        if needed(columns) <= width:
            break
        columns = [c for c in columns if c.header != header]
    return columns


def emit_triage_table(outcome: ListOutcome, *, wide: bool, absolute: bool, quiet: bool) -> None:
    console = stdout_console()
    if outcome.rows:
        console.print(triage_table(outcome, wide=wide, absolute=absolute, width=console.width))
    if quiet:
        return
    summary = f"{len(outcome.rows)} dead letter(s)"
    cursor = outcome.next_cursor
    if cursor:
        summary += f"; more remain: --after-id {cursor['after_id']}"
        if "before_created_at_ms" in cursor:
            summary += f" --before-created-at-ms {cursor['before_created_at_ms']}"
    message(summary, style="dim")


def triage_table(outcome: ListOutcome, *, wide: bool, absolute: bool, width: int) -> Table:
    clock = Clock(outcome.now_ms, absolute)
    candidates = [c for c in COLUMNS if wide or not c.wide_only]
    cells = {c.header: [inert(c.cell(row, clock)) for row in outcome.rows] for c in candidates}
    fixed = {c.header: max([len(c.header), *map(len, cells[c.header])]) for c in candidates}
    columns = _fit(candidates, fixed, width)
    table = Table(box=None, pad_edge=False, header_style="bold", expand=True, padding=(0, 1, 0, 0))
    grid = [[cells[c.header][index] for c in columns] for index in range(len(outcome.rows))]
    for column in columns:
        flexible = column.grow is not None
        # Fixed columns (ids, counts, times) are never cut: operators copy them into the next command.
        table.add_column(column.header, justify=column.justify,  # type: ignore[arg-type]
                         no_wrap=True, overflow="ellipsis", ratio=column.grow,
                         min_width=FLEX_MIN if flexible else fixed[column.header])
    for row, line in zip(outcome.rows, grid, strict=True):
        texts: list[Any] = [Text(cell) for cell in line]
        texts[1].stylize(STATUS_STYLES.get(str(row["status"]), ""))
        table.add_row(*texts)
    return table
