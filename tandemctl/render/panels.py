"""Key/value panels for the `show` screens (dead letter, run, doctor): one Rich panel per topic,
record text always inert."""

from collections.abc import Sequence

from rich.console import Console, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tandemctl.render.text import inert

Pairs = Sequence[tuple[str, str | Text]]


def kv_panel(title: str, pairs: Pairs) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for key, value in pairs:
        grid.add_row(key, value if isinstance(value, Text) else Text(inert(value)))
    return Panel(grid, title=title, title_align="left", expand=True)


def table_panel(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> Panel:
    body: RenderableType
    if not rows:
        body = Text(empty, style="dim")
    else:
        table = Table(box=None, pad_edge=False, header_style="bold", expand=True, padding=(0, 1, 0, 0))
        for index, column in enumerate(columns):
            last = index == len(columns) - 1
            table.add_column(column, no_wrap=not last, overflow="fold" if last else "ellipsis")
        for row in rows:
            table.add_row(*(Text(inert(cell)) for cell in row))
        body = table
    return Panel(body, title=title, title_align="left", expand=True)


def print_panels(console: Console, panels: Sequence[Panel]) -> None:
    for panel in panels:
        console.print(panel)
