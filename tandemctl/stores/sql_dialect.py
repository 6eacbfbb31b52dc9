"""What differs between the SQLite and PostgreSQL stores, behind one small adapter: connecting,
placeholders, NULL-safe equality, the write transaction and the writer's locks. This module holds
the protocol and the SQLite side (stdlib sqlite3); `pg_dialect.py` holds PostgreSQL."""

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from tandemctl.errors import (
    BusyError,
    CorruptStateError,
    DatabaseUnavailableError,
    TandemctlError,
    UnsupportedStateError,
)
from tandemctl.fs import locks
from tandemctl.stores import db_schema as s
from tandemctl.stores.engine_lock import hold_engine_lock


class Dialect(Protocol):
    kind: str  # "sqlite" or "postgres"
    location: str  # a path, or a URL without credentials
    anchor: Path  # the local file next to which an action's intent is kept
    lock_file: str | None  # tandemctl's own write lock when it is a file (None: a database lock)
    null_safe_eq: str  # the operator comparing a nullable column with a parameter
    parallel_reads: bool  # scan a large table as rowid ranges on several connections at once
    rowid_is_key: bool  # `rowid` finds a row at once (SQLite's table key), else fetch by the primary key
    # `run_id` normalised like the engine's run filter (trim the `?` characters, `-` → `_`, ASCII lower case)
    normalized_run_id: str

    def text_position(self, column: str) -> str:
        """SQL for where the next `?` parameter first occurs in `column` (0: nowhere)."""
        ...

    def connect(self) -> Any:
        """A DB-API connection in autocommit mode (reads are single statements)."""
        ...

    def sql(self, text: str) -> str:
        """`text` written with `?` placeholders, in this dialect's style."""
        ...

    def write_transaction(self, connection: Any) -> contextlib.AbstractContextManager[None]: ...

    def writer_locks(self, connection: Any, lock_timeout: float) -> contextlib.AbstractContextManager[None]: ...

    def translate(self, exc: Exception) -> TandemctlError | None:
        """The one-line tandemctl error for a driver exception, or None when it is not one."""
        ...


class SqliteDialect:
    """`stateful_runtime.sqlite3`: opened on the existing file only, WAL left as the engine set it."""

    kind = "sqlite"
    null_safe_eq = "IS"
    parallel_reads = True  # each connection steps without the GIL: one core per range
    rowid_is_key = True
    normalized_run_id = "replace(lower(trim(run_id, ?)), '-', '_')"  # SQLite's lower() is ASCII-only

    def __init__(self, path: Path, engine_lock_file: Path) -> None:
        self.path = path
        self.engine_lock_file = engine_lock_file
        self.location = str(path)
        self.anchor = path
        self.lock_file: str | None = str(path.with_name(path.name + locks.LOCK_SUFFIX))

    def connect(self) -> sqlite3.Connection:
        uri = f"file:{quote(str(self.path))}?mode=rw"  # never creates the file
        connection = sqlite3.connect(uri, uri=True, isolation_level=None,
                                     timeout=s.SQLITE_BUSY_TIMEOUT_MS / 1000)
        connection.execute(f"PRAGMA busy_timeout={s.SQLITE_BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def sql(self, text: str) -> str:
        return text

    def text_position(self, column: str) -> str:
        return f"instr({column}, ?)"

    @contextlib.contextmanager
    def write_transaction(self, connection: Any) -> Iterator[None]:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextlib.contextmanager
    def writer_locks(self, connection: Any, lock_timeout: float) -> Iterator[None]:
        # tandemctl's own lock first, so a second tandemctl waits instead of passing for an engine.
        with locks.exclusive_lock(self.path, lock_timeout), hold_engine_lock(self.engine_lock_file):
            yield

    def translate(self, exc: Exception) -> TandemctlError | None:
        if not isinstance(exc, sqlite3.Error):
            return None
        text = str(exc)
        if "locked" in text or "busy" in text:
            return BusyError(f"{self.path}: the database stayed locked by another writer for "
                             f"{s.SQLITE_BUSY_TIMEOUT_MS // 1000}s ({text}); nothing was written")
        if "no such table" in text or "no such column" in text:
            return UnsupportedStateError(f"{self.path}: not a Tandem schema v{s.SCHEMA_VERSION} store ({text})")
        if "unable to open" in text or "readonly" in text or "disk I/O" in text:
            return DatabaseUnavailableError(f"{self.path}: cannot use the database: {text}")
        return CorruptStateError(f"{self.path}: {text} (a damaged or truncated SQLite file?)")
