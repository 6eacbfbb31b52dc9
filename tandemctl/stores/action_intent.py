"""The journal's write-ahead intent: an action's journal entry made durable before its store write,
so a crash between the store write and the journal append never leaves a change unexplained.

`<store>.tandemctl.intent` (next to the store, guarded by the store's lock) holds the complete
journal entry. After the store write the entry is appended to the journal and the intent removed.
The next tandemctl writer of that store (an action, an undo or a sweep) that finds an intent
journals it, marked `"recovered": true`, if its write landed — some row is exactly as the entry
says the operation left it (its `updated_at_ms`/`disposition_at_ms` are the operation's clock, so
this is a fingerprint) — and otherwise just removes it: that operation never happened.
"""

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tandemctl.engine import jsonio
from tandemctl.engine.rows import Row
from tandemctl.errors import CorruptStateError, WriteError
from tandemctl.fs import atomic, reads, temps
from tandemctl.stores import journal_file

INTENT_SUFFIX: Final = ".tandemctl.intent"
INTENT_VERSION: Final = 1
_ABSENT: Final = object()


def intent_path(store: Path) -> Path:
    return store.with_name(store.name + INTENT_SUFFIX)


def check_journal_writable(path: Path) -> None:
    """Refuse before the store is written when the journal could not take the line afterwards."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return  # the append creates it
    except OSError as exc:
        raise WriteError(f"{path}: the journal cannot be used: {exc.strerror or exc}; nothing was changed") from None
    if stat.S_ISLNK(st.st_mode):
        raise CorruptStateError(f"{path}: the journal is a symbolic link (to {path.readlink()}); tandemctl does not "
                                "follow linked state files; nothing was changed")
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise CorruptStateError(f"{path}: the journal is {kind}, expected a file; nothing was changed")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise WriteError(f"{path}: the journal cannot be written: {exc.strerror or exc}; nothing was changed") from None
    os.close(fd)


@dataclass
class PendingJournal:
    """The intent of one invocation: written before the store write, committed after it."""

    store: Path
    journal: Path
    written: bool = False
    store_written: bool = False

    @property
    def path(self) -> Path:
        return intent_path(self.store)

    def write(self, entry: Row) -> None:
        check_journal_writable(self.journal)
        document = {"tandemctl_action_intent": INTENT_VERSION, "store": str(self.store),
                    "journal": str(self.journal), "entry": entry}
        atomic.write_atomic(self.path, jsonio.dumps_pretty(document))
        self.written = True

    def commit(self, entry: Row) -> None:
        """The store write landed: append the journal line, then drop the intent."""
        self.store_written = True
        try:
            journal_file.append(self.journal, entry)
        except (WriteError, CorruptStateError) as exc:
            raise WriteError(
                f"the change was written to {self.store}, but its journal line was not: {exc.message}; the next "
                f"tandemctl write to this store journals it from {self.path}"
            ) from None
        remove_intent(self.path)
        self.written = False

    def discard(self) -> None:
        """Nothing was (or will be) written by this invocation: its intent is void."""
        if self.written and not self.store_written:
            remove_intent(self.path)
            self.written = False


def remove_intent(path: Path) -> None:
    atomic.unlink_durable(path, "action intent")


def recover_pending(store: Path, current_rows: Callable[[], list[Row]]) -> str | None:
    """Finish an interrupted action (call with the store's lock held, before writing the store).

    Returns the operation id journaled by this recovery, or None.
    """
    path = intent_path(store)
    temps.remove_stale_temps(path)
    data, _ = reads.read_bytes(path)
    if data is None:
        return None
    entry, journal_path = _parse_intent(data, path)
    recovered = None
    known = {e["operation_id"] for e in journal_file.read_entries(journal_path)}
    if entry["operation_id"] not in known and write_landed(entry, current_rows()):
        check_journal_writable(journal_path)
        journal_file.append(journal_path, {**entry, "recovered": True})
        recovered = str(entry["operation_id"])
    remove_intent(path)
    return recovered


def pending_operation(store: Path) -> str | None:
    """The operation id of an interrupted action's intent, if one is waiting (read-only, tolerant)."""
    path = intent_path(store)
    try:
        data, _ = reads.read_bytes(path)
        return None if data is None else str(_parse_intent(data, path)[0]["operation_id"])
    except CorruptStateError:
        return "(unreadable)"


def _parse_intent(data: bytes, path: Path) -> tuple[Row, Path]:
    try:
        document = jsonio.parse_strict(data, path)
    except CorruptStateError:
        document = None
    entry = document.get("entry") if isinstance(document, dict) else None
    journal_path = document.get("journal") if isinstance(document, dict) else None
    if (not isinstance(document, dict) or document.get("tandemctl_action_intent") != INTENT_VERSION
            or not isinstance(entry, dict) or not isinstance(entry.get("operation_id"), str)
            or not isinstance(entry.get("rows"), list) or not isinstance(journal_path, str) or not journal_path):
        raise CorruptStateError(
            f"{path}: unreadable intent left by an interrupted tandemctl action; compare `tandemctl history` with "
            "the dead letters, then remove this file to continue"
        )
    return entry, Path(journal_path)


def write_landed(entry: Row, rows: list[Row]) -> bool:
    """Whether some row is exactly as the journaled operation left it (its changed fields)."""
    current: dict[Any, Row] = {}
    for row in rows:
        current.setdefault(row.get("dead_letter_id"), row)
    for record in entry["rows"]:
        if not isinstance(record, dict):
            continue
        now = current.get(record.get("dead_letter_id"))
        fields, after = record.get("fields"), record.get("after")
        if now is None or not isinstance(fields, list) or not fields or not isinstance(after, dict):
            continue
        if all(now.get(name, _ABSENT) == after.get(name, _ABSENT) for name in fields):
            return True
    return False
