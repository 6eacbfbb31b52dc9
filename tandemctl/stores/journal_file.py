"""The operator journal file: append-only JSON Lines (default `<data>/runtime/tandemctl-journal.jsonl`),
fsynced, written while the store lock is held."""

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
    data, _ = reads.read_bytes(path)  # refuses symlinks and non-files, like every state file
    if data is None:
        return []
    return [entry for _, entry in jsonio.json_objects(data)
            if entry is not None and isinstance(entry.get("operation_id"), str) and isinstance(entry.get("rows"), list)]
