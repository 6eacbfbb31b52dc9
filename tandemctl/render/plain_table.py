"""A box-less table of plain text cells drawn the way Rich draws it when nothing limits the width
(piped or redirected output), without Rich's per-cell layout machinery: 250 rows of `list` in a
few milliseconds instead of about a tenth of a second. Any table it cannot draw exactly (a box, a
title, styles to print, a multi-line cell or one with combining marks, a fixed or centred column) is
left to Rich;
`tests/render/test_plain_table.py` compares the two on random tables."""


import unicodedata

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text


def plain_lines(table: Table) -> list[str] | None:
    """Each line of the table without trailing blanks, or None when Rich must draw it."""
    if not _drawable(table):
        return None
    columns = table.columns
    cells: list[list[str]] = []
    for column in columns:
        texts = [_text(column.header), *(_text(cell) for cell in column.cells)]
        if any(text is None for text in texts):
            return None
        cells.append([text for text in texts if text is not None])
    top, right, bottom, left = table.padding
    if top or bottom:
        return None
    gaps = _gaps(table, left, right)
    widths = [_content_width(table, index, texts, gaps[index]) for index, texts in enumerate(cells)]
    lines: list[str] = []
    for row in range(len(cells[0]) if cells else 0):
        parts: list[str] = []
        for index, column in enumerate(columns):
            text = cells[index][row]
            if column.justify == "right":
                text = text.rstrip()  # Rich drops a right-justified cell's trailing blanks (after measuring it)
            pad = " " * (widths[index] - cell_len(text))
            lead, trail = gaps[index]
            body = pad + text if column.justify == "right" else text + pad
            parts.append(" " * lead + body + " " * trail)
        lines.append("".join(parts).rstrip())
    return lines


def _drawable(table: Table) -> bool:
    return (table.box is None and not table.title and not table.caption and table.show_header
            and not table.show_footer and not table.show_lines and not table.leading and not table.expand
            and all(column.width is None and column.max_width is None and column.ratio is None
                    and column.justify in ("left", "right") for column in table.columns))


def _content_width(table: Table, index: int, texts: list[str], gap: tuple[int, int]) -> int:
    """The column's width inside its cells' padding. A minimum width counts Rich's own idea of the
    padding (`Table._get_padding_width`, which differs from the padding drawn when it collapses)."""
    widest = max(map(cell_len, texts))
    minimum = table.columns[index].min_width
    if minimum is None:
        return widest
    return max(widest, minimum + table._get_padding_width(index) - sum(gap))


def _gaps(table: Table, left: int, right: int) -> list[tuple[int, int]]:
    """Each column's (left, right) padding, as Rich's `Table._get_cells` works it out."""
    last = len(table.columns) - 1
    gaps = []
    for index in range(last + 1):
        lead, trail = left, right
        if table.collapse_padding and index:
            lead = max(0, left - right)
        if not table.pad_edge:
            lead = 0 if index == 0 else lead
            trail = 0 if index == last else trail
        gaps.append((lead, trail))
    return gaps


def _text(cell: object) -> str | None:
    """The cell's text when it is printable, on one line, and every character one or two cells wide
    (what this module measures exactly as Rich does)."""
    if isinstance(cell, Text):
        if cell.justify is not None or cell.end != "\n":
            return None
        text = cell.plain
    elif isinstance(cell, str):
        text = cell
    else:
        return None
    return text if _simple(text) else None


def _simple(text: str) -> bool:
    if text.isascii():
        return text.isprintable()
    return text.isprintable() and not any(unicodedata.category(char) in ("Mn", "Me") or 0xFE00 <= ord(char) <= 0xFE0F
                                          for char in text)


