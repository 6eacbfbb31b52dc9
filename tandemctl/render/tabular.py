"""The flat machine formats: one CSV writer and one JSON Lines writer for every command."""

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from tandemctl.render.console import write_stdout


def cell(value: Any) -> str:
    """One CSV cell: empty for null, JSON for objects and arrays, lowercase booleans."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode("utf-8") if value else ""
    return str(value)


def emit_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> None:
    """A header line, then one line per row; a row is a mapping (by column name) or a sequence."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        values = [row.get(name) for name in columns] if isinstance(row, Mapping) else list(row)
        writer.writerow([cell(value) for value in values])
    write_stdout(buffer.getvalue().encode("utf-8"))


def emit_jsonl(records: Iterable[Any]) -> None:
    """One compact JSON document per line."""
    write_stdout(b"".join(orjson.dumps(record) + b"\n" for record in records))
