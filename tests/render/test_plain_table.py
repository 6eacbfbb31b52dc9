"""The piped table drawn without Rich's layout equals what Rich draws, character for character, on
random tables shaped like tandemctl's (box-less, padded, left and right columns, wide characters),
and Rich still draws what the fast path does not measure."""

import io

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tandemctl.render.plain_table import plain_lines

WIDTH = 100_000
CELL = st.text(alphabet=st.sampled_from("abcXYZ 019-_/:.()'é配信失敗ö€한글"), max_size=12)


def rich_lines(table: Table) -> list[str]:
    console = Console(file=io.StringIO(), width=WIDTH, markup=False, highlight=False, emoji=False, soft_wrap=False,
                      color_system=None)
    with console.capture() as captured:
        console.print(table)
    return [line.rstrip() for line in captured.get().splitlines()]


@st.composite
def tables(draw: st.DrawFn) -> Table:
    padding = draw(st.sampled_from([(0, 1, 0, 0), (0, 2, 0, 0), (0, 1), (0, 3, 0, 1)]))
    table = Table(box=None, pad_edge=draw(st.booleans()), collapse_padding=draw(st.booleans()), padding=padding,
                  header_style="bold", expand=False)
    columns = draw(st.integers(1, 5))
    for index in range(columns):
        table.add_column(draw(CELL) or f"H{index}", justify=draw(st.sampled_from(["left", "right"])),
                         min_width=draw(st.none() | st.integers(0, 20)), no_wrap=True)
    for _ in range(draw(st.integers(0, 6))):
        table.add_row(*[Text(draw(CELL), style="bold") if draw(st.booleans()) else draw(CELL)
                        for _ in range(columns)])
    return table


@settings(max_examples=300, deadline=None)
@given(tables())
def test_the_fast_path_draws_exactly_what_rich_draws(table: Table) -> None:
    lines = plain_lines(table)
    assert lines is not None
    assert lines == rich_lines(table)


def test_what_it_cannot_measure_is_left_to_rich() -> None:
    for cell in ("two\nlines", "e\u0301", "tab\there", "\u2764\ufe0f"):
        table = Table(box=None)
        table.add_column("A")
        table.add_row(cell)
        assert plain_lines(table) is None, cell
    boxed = Table()
    boxed.add_column("A")
    boxed.add_row("x")
    assert plain_lines(boxed) is None
