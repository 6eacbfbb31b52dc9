"""Output of `dead-letters list --watch`: a live table on a terminal (Rich Live), JSON Lines of
what changed when piped (or with -o json|jsonl)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.text import Text

from tandemctl.commands.durations import duration_text
from tandemctl.commands.list_dead_letters import ListOutcome
from tandemctl.constants import OutputFormat
from tandemctl.render.console import stdout_console
from tandemctl.render.list_view import triage_table
from tandemctl.render.tabular import emit_jsonl
from tandemctl.render.text import when

Show = Callable[[ListOutcome, list[dict[str, Any]]], None]


@contextmanager
def watch_view(*, fmt: OutputFormat, wide: bool, absolute: bool, interval_ms: int) -> Iterator[Show]:
    console = stdout_console()
    if fmt in (OutputFormat.JSON, OutputFormat.JSONL) or not console.is_terminal:
        def lines(_: ListOutcome, changes: list[dict[str, Any]]) -> None:
            emit_jsonl(changes)

        yield lines
        return
    with Live(console=console, auto_refresh=False, transient=False) as live:
        def screen(outcome: ListOutcome, changes: list[dict[str, Any]]) -> None:
            title = Text(f"{len(outcome.rows)} dead letter(s) at {when(None, outcome.now_ms)}; "
                         f"{len(changes)} change(s); every {duration_text(interval_ms)}; Ctrl-C stops", style="dim")
            live.update(Group(title, triage_table(outcome, wide=wide, absolute=absolute, width=console.width)),
                        refresh=True)

        yield screen
