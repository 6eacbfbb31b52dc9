"""The operator journal: one JSON line per applied action: who, when, why, what changed.

Append-only JSONL (default `<data>/runtime/tandemctl-journal.jsonl`), fsynced, written while
the store lock is held. `read_journal` reports unreadable lines by number (history and undo show
them); `read_entries` skips them (recovery only asks which operations are already journaled).
"""

import os
from pathlib import Path

import orjson

from tandemctl.engine import jsonio
from tandemctl.engine.rows import Row
from tandemctl.errors import CorruptStateError
from tandemctl.fs import atomic, reads


def append(path: Path, entry: Row) -> None:
    """Append one entry as one line; a torn last line (crash mid-append) is closed off first."""
    line = orjson.dumps(entry) + b"\n"
    if not _ends_with_newline(path):
        line = b"\n" + line
    atomic.append_durable(path, line)


def _ends_with_newline(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            if handle.seek(0, os.SEEK_END) == 0:
                return True
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise CorruptStateError(f"{path}: cannot read the journal: {exc.strerror or exc}") from None


def read_entries(path: Path) -> list[Row]:
    """Every well-formed entry, oldest first; unreadable lines are skipped."""
    return read_journal(path)[0]


def read_journal(path: Path) -> tuple[list[Row], list[int]]:
    """Every well-formed entry, oldest first, and the (1-based) numbers of the lines that are not."""
    data, _ = reads.read_bytes(path)  # refuses symlinks and non-files, like every state file
    if data is None:
        return [], []
    entries: list[Row] = []
    bad: list[int] = []
    for number, entry in jsonio.json_objects(data):
        if entry is not None and isinstance(entry.get("operation_id"), str) and isinstance(entry.get("rows"), list):
            entries.append(entry)
        else:
            bad.append(number)
    return entries, bad
