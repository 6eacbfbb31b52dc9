"""The same records seeded into each kind of store (the 0.6.x JSON file, SQLite, PostgreSQL), with
raw access to what is stored, for the store contract suite and the database tests."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psycopg

from tandemctl.engine import protected_records as pr
from tandemctl.stores import db_schema as s
from tandemctl.stores.base import Store, StoreSelection
from tandemctl.stores.open import open_store
from tandemctl.stores.paths import resolve_state_paths
from tests.conftest import StateDir
from tests.factories import write_store
from tests.stores.pg_builder import build_postgres, write_schema_marker
from tests.stores.sqlite_builder import StoreBuilder, build_sqlite

KINDS = ("json", "sqlite", "postgres")
Record = dict[str, Any]


@dataclass
class Seeded:
    kind: str
    state: StateDir
    pg_url: str | None = None
    schema: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def store(self) -> Store:
        paths = resolve_state_paths({}, state_dir=str(self.state.root))
        return open_store(paths, self.env, StoreSelection())

    def raw(self, collection: str = "dead_letters") -> dict[str, str]:
        """Each row as stored: the payload column text, or the record's JSON in the file."""
        if self.kind == "json":
            top = orjson.loads(self.state.reliability.read_bytes())
            key = s.TABLE_BY_COLLECTION[collection].record_id_field
            return {row[key]: orjson.dumps(row).decode() for row in top[collection]}
        table = s.TABLE_BY_COLLECTION[collection]
        return dict(self.query(f"SELECT {table.id_column}, {table.payload_column} FROM {table.name}"))

    def records(self, collection: str = "dead_letters") -> dict[str, Record]:
        table = s.TABLE_BY_COLLECTION[collection]
        out = {}
        for key, text in self.raw(collection).items():
            value = orjson.loads(text)
            out[key] = value["payload"] if isinstance(value, dict) and "payload" in value and "kind" in value \
                else value
            assert out[key][table.record_id_field] == key
        return out

    def columns(self, dead_letter_id: str) -> tuple[Any, ...]:
        rows = self.query("SELECT status, updated_at_ms, run_id, org_id, workspace_id, deployment_id FROM "
                          "dead_letters WHERE dead_letter_id = ?", (dead_letter_id,))
        return tuple(rows[0])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            import sqlite3

            connection = sqlite3.connect(self.state.data / s.SQLITE_FILE, isolation_level=None)
            try:
                return connection.execute(sql, tuple(params)).fetchall()
            finally:
                connection.close()
        assert self.pg_url is not None and self.schema is not None
        with psycopg.connect(self.pg_url, options=f"-c search_path={self.schema}") as connection:
            cursor = connection.execute(sql.replace("?", "%s"), tuple(params))
            return cursor.fetchall() if cursor.description else []

    def engine_write(self, record: Record) -> None:
        """What an engine-style writer does to one existing dead letter: a full-row update."""
        if self.kind == "json":
            top = orjson.loads(self.state.reliability.read_bytes())
            top["dead_letters"] = [record if row["dead_letter_id"] == record["dead_letter_id"] else row
                                   for row in top["dead_letters"]]
            write_store(self.state.reliability, top["dead_letters"], tool_effects=top["tool_effects"])
            return
        text = pr.encode_plain_envelope(record, kind="dead_letter", record_id=record["dead_letter_id"])
        self.query("UPDATE dead_letters SET status = ?, record_json = ?, updated_at_ms = ? WHERE dead_letter_id = ?",
                   (record["status"], text, record["updated_at_ms"], record["dead_letter_id"]))


def seed(kind: str, state: StateDir, dead_letters: Sequence[Record], *, tool_effects: Sequence[Record] = (),
         builder: StoreBuilder | None = None, pg_url: str | None = None) -> Seeded:
    """The records in a store of `kind` (a builder adds knobs and extra rows for the databases)."""
    if kind == "json":
        write_store(state.reliability, list(dead_letters), tool_effects=list(tool_effects))
        return Seeded(kind, state)
    builder = builder or StoreBuilder()
    seeded = StoreBuilder(key=builder.key, schema_version=builder.schema_version,
                          migration_status=builder.migration_status, transfer_status=builder.transfer_status,
                          runs=builder.runs)
    seeded.extend("dead_letters", dead_letters).extend("tool_effects", tool_effects)
    seeded.rows += builder.rows
    if kind == "sqlite":
        build_sqlite(seeded, state.data)
        return Seeded(kind, state)
    assert pg_url is not None, "postgres needs the pg_url fixture"
    schema = f"tandem_rt_{uuid.uuid4().hex[:16]}"
    build_postgres(seeded, pg_url, schema)
    write_schema_marker(state.data, schema)
    env = {"TANDEM_STORAGE_BACKEND": "postgres", "TANDEM_STORAGE_POSTGRES_URL": pg_url}
    return Seeded(kind, state, pg_url, schema, env)


def db_path(state: StateDir) -> Path:
    return state.data / s.SQLITE_FILE
