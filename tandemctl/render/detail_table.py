"""Tables with a free-text DETAIL column that never split an id: the detail stays in its column
when every detail fits on one line, else it goes on its own indented lines under each row."""

import textwrap
from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from tandemctl.render.console import print_table, stdout_console

GAP = 2
INDENT = "    "


def print_with_detail(headers: Sequence[str], rows: Sequence[tuple[Sequence[Text], str]]) -> None:
    """`rows`: the cells of the fixed columns (short values, ids) and the row's detail text."""
    if not rows:
        return
    console = stdout_console()
    widths = [max([len(h)] + [len(cells[i].plain) for cells, _ in rows]) for i, h in enumerate(headers)]
    fixed = sum(widths) + GAP * len(widths)
    if fixed + max(len(detail) for _, detail in rows) <= console.width:
        table = Table(box=None, pad_edge=False, header_style="bold", expand=False, padding=(0, GAP, 0, 0))
        for header in (*headers, "DETAIL"):
            table.add_column(header, no_wrap=True)
        for cells, detail in rows:
            table.add_row(*cells, Text(detail))
        print_table(table)
        return
    console.print(Text("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), style="bold"))
    wrap_at = max(console.width - len(INDENT), 20)
    for cells, detail in rows:
        line = Text()
        for index, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            padded = cell.copy()
            if index < len(cells) - 1:
                padded.pad_right(width - len(cell.plain) + GAP)
            line.append_text(padded)
        console.print(line, soft_wrap=True)
        for part in textwrap.wrap(detail, wrap_at, break_long_words=False, break_on_hyphens=False):
            console.print(Text(INDENT + part), soft_wrap=True)
