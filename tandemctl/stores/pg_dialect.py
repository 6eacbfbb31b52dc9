"""The PostgreSQL side of the database store (psycopg 3, imported only when PostgreSQL is used):
the schema from the `stateful_runtime.pg_schema` marker, the engine's advisory locks (spec 03 §2.8)."""

import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from tandemctl.errors import BusyError, DatabaseUnavailableError, TandemctlError, UnsupportedStateError
from tandemctl.stores import db_schema as s
from tandemctl.stores.engine_lock import ENGINE_RUNNING, hold_engine_lock

CONNECT_TIMEOUT_S: Final = 5
APPLICATION_NAME: Final = "tandemctl"
# Serialises tandemctl writers of one schema (on any host), so that a busy engine lock means an engine.
TANDEMCTL_LOCK_PREFIX: Final = "tandemctl-writer:"
_POLL_S: Final = 0.05


def redact(url: str) -> str:
    """The URL without its password (for messages and `-v`)."""
    url = re.sub(r"(password=)[^&\s]*", r"\1***", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable PostgreSQL URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}" if user else netloc))


class PostgresDialect:
    kind = "postgres"
    null_safe_eq = "IS NOT DISTINCT FROM"
    parallel_reads = False  # the server plans its own parallel scans
    rowid_is_key = False  # the engine's BIGSERIAL rowid column has no index
    # lower() follows the server's locale; the engine lower-cases ASCII only.
    normalized_run_id = ("replace(translate(btrim(run_id, ?), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
                         "'abcdefghijklmnopqrstuvwxyz'), '-', '_')")

    def __init__(self, url: str, schema: str, marker: Path, engine_lock_file: Path) -> None:
        self.url = url
        self.schema = schema
        self.anchor = marker
        self.lock_file: str | None = None  # tandemctl's writers take turns on an advisory lock
        self.engine_lock_file = engine_lock_file
        self.location = f"{redact(url)} schema {schema}"

    def connect(self) -> Any:
        connection = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                                     application_name=APPLICATION_NAME)
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        return connection

    def text_position(self, column: str) -> str:
        return f"strpos({column}, ?)"

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    @contextlib.contextmanager
    def write_transaction(self, connection: Any) -> Iterator[None]:
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (s.write_txn_key(self.schema),))
            yield

    @contextlib.contextmanager
    def writer_locks(self, connection: Any, lock_timeout: float) -> Iterator[None]:
        own = s.advisory_key(TANDEMCTL_LOCK_PREFIX, self.schema)
        self._wait_for(connection, own, lock_timeout)
        try:
            with self._local_engine_lock():
                engine = s.engine_lock_key(self.schema)
                if not _try_lock(connection, engine):
                    raise BusyError(f"{ENGINE_RUNNING} (it holds the advisory lock of schema {self.schema})")
                try:
                    yield
                finally:
                    connection.execute("SELECT pg_advisory_unlock(%s)", (engine,))
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (own,))

    def _local_engine_lock(self) -> contextlib.AbstractContextManager[None]:
        # An engine on this host holds the file lock too; other hosts are seen by the advisory lock.
        if self.engine_lock_file.parent.is_dir():
            return hold_engine_lock(self.engine_lock_file)
        return contextlib.nullcontext()

    def _wait_for(self, connection: Any, key: int, timeout_s: float) -> None:
        deadline = time.monotonic() + max(timeout_s, 0.0)
        while not _try_lock(connection, key):
            if time.monotonic() >= deadline:
                raise BusyError(f"{self.location}: another tandemctl is writing this database (waited "
                                f"{timeout_s:g}s); try again or raise --lock-timeout")
            time.sleep(_POLL_S)

    def translate(self, exc: Exception) -> TandemctlError | None:
        if isinstance(exc, pg_errors.UndefinedTable | pg_errors.UndefinedColumn | pg_errors.InvalidSchemaName):
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return UnsupportedStateError(f"{self.location}: not a Tandem schema v{s.SCHEMA_VERSION} store ({first})")
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1].strip()
            return DatabaseUnavailableError(f"{self.location}: cannot use the PostgreSQL database: {first}")
        if isinstance(exc, psycopg.Error):
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return DatabaseUnavailableError(f"{self.location}: PostgreSQL error: {first}")
        return None


def _try_lock(connection: Any, key: int) -> bool:
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
    return bool(row and row[0])
