"""Builds engine-shaped v5 stores from reliability records: `StoreBuilder` collects rows and
knobs (dialect-neutral), `build_sqlite` writes `stateful_runtime.sqlite3` in WAL mode."""

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from tandemctl.engine import protected_records as pr
from tandemctl.stores import db_schema as s
from tests.stores.schema_v5 import column_names, create_statements

RowEncoding = Literal["plain", "bare", "local", "hosted"]
TEST_KEY = bytes(range(32))
STARTED_MS = 1_700_000_000_000
FINGERPRINT = "sha256:" + "ab" * 32
# A hosted KMS row: the extra `envelope` (wrapped DEK) is what no local key can open.
HOSTED_SEALED = pr.SEALED_PREFIX + orjson.dumps({
    "version": 2, "ciphertext": pr.CIPHERTEXT_PREFIX + "00" * 40,
    "envelope": {"key_id": "kms://tenant/dek", "wrapped_dek": "c2VhbGVk"}}).decode()


@dataclass
class Row:
    table: s.ReliabilityTable
    values: dict[str, Any]  # column -> value, in the table's stored order


@dataclass
class StoreBuilder:
    """Rows and bookkeeping for one store; `None` knobs leave that bookkeeping row out."""

    key: bytes = TEST_KEY
    schema_version: int | None = s.SCHEMA_VERSION
    migration_status: str | None = s.MIGRATION_COMPLETE
    transfer_status: str | None = None
    rows: list[Row] = field(default_factory=list)
    runs: list[tuple[Any, ...]] = field(default_factory=list)  # automation_runs rows, in column order

    def add(self, collection: str, record: dict[str, Any], *, encoding: RowEncoding = "plain",
            payload: str | None = None, envelope: dict[str, Any] | None = None,
            columns: dict[str, Any] | None = None) -> "StoreBuilder":
        """One row; `payload` replaces the column text, `envelope`/`columns` override keys/columns."""
        table = s.TABLE_BY_COLLECTION[collection]
        values = engine_columns(table, record)
        values.update(columns or {})
        record_id = record[table.record_id_field]
        text = payload if payload is not None else self._encode(table, record, record_id, encoding, envelope)
        values[table.payload_column] = text
        self.rows.append(Row(table, {name: values[name] for name in table.columns}))
        return self

    def extend(self, collection: str, records: Iterable[dict[str, Any]], *,
               encoding: RowEncoding = "plain") -> "StoreBuilder":
        for record in records:
            self.add(collection, record, encoding=encoding)
        return self

    def dead_letters(self, *records: dict[str, Any], encoding: RowEncoding = "plain") -> "StoreBuilder":
        return self.extend("dead_letters", records, encoding=encoding)

    def mismatched(self, collection: str, record: dict[str, Any], field: str, value: Any) -> "StoreBuilder":
        """A row whose envelope disagrees with its columns on `field` (kind, id or a scope column)."""
        if field in ("kind", "id"):
            return self.add(collection, record, envelope={field: value})
        return self.add(collection, record, columns={field: value})

    def garbage(self, collection: str, record: dict[str, Any], text: str = '{"truncated": ') -> "StoreBuilder":
        return self.add(collection, record, payload=text)

    def hosted(self, collection: str, record: dict[str, Any]) -> "StoreBuilder":
        return self.add(collection, record, encoding="hosted")

    def add_run(self, run: dict[str, Any], *, is_hot: bool = True) -> "StoreBuilder":
        """An `automation_runs` row: a plaintext envelope bound to the run's own tenant_context."""
        context = run.get("tenant_context") or dict(pr.LOCAL_IMPLICIT_TENANT)
        text = orjson.dumps({"tenant_context": context, "kind": "run", "id": run["run_id"], "payload": run}).decode()
        self.runs.append((run["run_id"], run["automation_id"], context["org_id"], context["workspace_id"],
                          context.get("deployment_id"), run["status"], 1 if is_hot else 0, text,
                          run["created_at_ms"], run["updated_at_ms"]))
        return self

    def with_schema_version(self, version: int | None) -> "StoreBuilder":
        self.schema_version = version
        return self

    def with_migration(self, status: str | None) -> "StoreBuilder":
        """`complete`, another status (an unfinished import), or None (no marker: JSON mode)."""
        self.migration_status = status
        return self

    def with_transfer(self, status: str | None = s.TRANSFER_IN_PROGRESS) -> "StoreBuilder":
        self.transfer_status = status
        return self

    def bookkeeping(self) -> dict[str, list[tuple[Any, ...]]]:
        """Rows of the bookkeeping tables, in their column order."""
        tables: dict[str, list[tuple[Any, ...]]] = {}
        if self.schema_version is not None:
            tables[s.SCHEMA_METADATA] = [(self.schema_version,)]
        if self.migration_status is not None:
            done = self.migration_status == s.MIGRATION_COMPLETE
            finished = STARTED_MS + 1 if done else None
            tables[s.STATEFUL_MIGRATIONS] = [(s.LEGACY_MIGRATION_ID, self.migration_status, FINGERPRINT,
                                              len(self.rows) if done else None, STARTED_MS, finished)]
            tables[s.STATEFUL_MIGRATION_ATTEMPTS] = [(1, s.LEGACY_MIGRATION_ID, FINGERPRINT, STARTED_MS,
                                                      self.migration_status if done else None, finished)]
        if self.transfer_status is not None:
            done = self.transfer_status == s.TRANSFER_COMPLETE
            tables[s.BACKEND_TRANSFERS] = [(s.TRANSFER_ID, "sqlite", "postgres", FINGERPRINT,
                                            FINGERPRINT if done else None, len(self.rows) if done else None,
                                            self.transfer_status, STARTED_MS, STARTED_MS + 2 if done else None)]
        if self.runs:
            tables[s.AUTOMATION_RUNS] = list(self.runs)
        return tables

    def _encode(self, table: s.ReliabilityTable, record: dict[str, Any], record_id: str,
                encoding: RowEncoding, envelope: dict[str, Any] | None) -> str:
        if encoding == "bare":
            return orjson.dumps(record).decode()
        if encoding == "hosted":
            return HOSTED_SEALED
        text = pr.encode_plain_envelope(record, kind=table.kind, record_id=record_id)
        if envelope:
            text = orjson.dumps({**orjson.loads(text), **envelope}).decode()
        if encoding == "local":
            return pr.encrypt_local(text, kind=table.kind, record_id=record_id,
                                    columns=pr.scope_columns(record), key=self.key)
        return text


def engine_columns(table: s.ReliabilityTable, record: dict[str, Any]) -> dict[str, Any]:
    """Index columns as the engine fills them: status, run_id, scope (NULL deployment), goal_id NULL."""
    org_id, workspace_id, deployment_id = pr.scope_columns(record)
    return {table.id_column: record[table.record_id_field], "goal_id": None, "run_id": record.get("run_id"),
            "status": record["status"], "updated_at_ms": record["updated_at_ms"], "org_id": org_id,
            "workspace_id": workspace_id, "deployment_id": deployment_id}


def build_sqlite(builder: StoreBuilder, data_dir: Path) -> Path:
    """Create `<data_dir>/stateful_runtime.sqlite3` (WAL) holding the builder's rows."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / s.SQLITE_FILE
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("BEGIN IMMEDIATE")
        for statement in create_statements("sqlite"):
            connection.execute(statement)
        for table, rows in builder.bookkeeping().items():
            _insert(connection, table, rows)
        for row in builder.rows:
            _insert(connection, row.table.name, [tuple(row.values.values())])
        connection.execute("COMMIT")
    finally:
        connection.close()
    return path


def insert_sql(table: str, placeholder: str) -> str:
    """INSERT naming every spec'd column, so PostgreSQL fills its rowid itself."""
    names = column_names(table)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([placeholder] * len(names))})"


def _insert(connection: sqlite3.Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    connection.executemany(insert_sql(table, "?"), rows)
