"""The terminal policy: consoles with markup off, stdout for data and stderr for everything else, the
versioned JSON envelope, and errors (one line on stderr; an envelope too under `-o json`)."""

import os
import sys
from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tandemctl.constants import OutputFormat
from tandemctl.errors import TandemctlError
from tandemctl.render.plain_table import plain_lines
from tandemctl.render.text import inert

ENVELOPE_VERSION = 1
STATUS_STYLES = {
    "open": "bold red",
    "retry_requested": "yellow",
    "retrying": "cyan",
    "ignored": "dim",
    "linked_to_compensation": "magenta",
    "resolved": "green",
}


PIPE_WIDTH = 100_000  # piped or redirected: no width limit, so `| grep` sees every value whole


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal; `TTY_COMPATIBLE=1`/`0` (Rich's own variable) overrides the check."""
    forced = os.environ.get("TTY_COMPATIBLE", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        return sys.stdout.isatty()
    except ValueError:  # a closed stream
        return False


def stdout_console() -> Console:
    width = None if stdout_is_terminal() else PIPE_WIDTH
    return Console(markup=False, highlight=False, emoji=False, soft_wrap=False, width=width)


def panel_console() -> Console:
    """Panels wrap (never cut) at the terminal's width, or COLUMNS (else 80) when piped: unlike a table's
    cells, nothing in them is lost to a width, so piped output stays readable."""
    return Console(markup=False, highlight=False, emoji=False, soft_wrap=False)


def print_table(table: Table) -> None:
    """Print a table; off a terminal every cell is printed whole (no ellipsis, no width limit)."""
    console = stdout_console()
    if stdout_is_terminal():
        console.print(table)
        return
    table.expand = False
    for column in table.columns:
        column.max_width, column.no_wrap, column.ratio = None, True, None
    plain = plain_lines(table) if console.color_system is None else None  # FORCE_COLOR: Rich prints the styles
    if plain is not None:
        write_stdout("".join(line + "\n" for line in plain).encode("utf-8"))
        return
    with console.capture() as captured:
        console.print(table)
    # Cells are padded to their column's width: drop the trailing blanks that padding leaves.
    write_stdout("".join(line.rstrip() + "\n" for line in captured.get().splitlines()).encode("utf-8"))


def stderr_console() -> Console:
    return Console(stderr=True, markup=False, highlight=False, emoji=False)


def write_stdout(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def envelope(command: str, *, ok: bool, exit_code: int, data: Any, errors: Sequence[dict[str, Any]] = (),
             **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"version": ENVELOPE_VERSION, "command": command, "ok": ok,
                            "exit_code": exit_code, "data": data, "errors": list(errors)}
    body.update(extra)
    return body


def emit_envelope(body: dict[str, Any]) -> None:
    write_stdout(orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n")


def error_entry(exc: TandemctlError) -> dict[str, Any]:
    entry: dict[str, Any] = {"code": exc.code, "message": exc.message}
    entry.update({k: v for k, v in exc.details.items() if isinstance(v, str | int | float | bool | list | dict)})
    return entry


def emit_error(exc: TandemctlError, *, command: str, fmt: OutputFormat) -> None:
    """One line on stderr; in JSON mode also the failure envelope on stdout."""
    message(f"error: {exc.message}", style="red")
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope(command, ok=False, exit_code=int(exc.exit_code), data=None,
                               errors=[error_entry(exc)]))


def message(text: str, *, style: str | None = None) -> None:
    stderr_console().print(Text(inert(text), style=style or ""), soft_wrap=True)
