from pathlib import Path
from typing import Any

import psycopg
import pytest

from tandemctl.engine import protected_records as pr
from tandemctl.stores import db_schema as s
from tests.factories import dead_letter, tenant
from tests.stores import expected_v5 as spec
from tests.stores.pg_builder import build_postgres, write_schema_marker
from tests.stores.records import compensation, outbox, tool_effect
from tests.stores.sqlite_builder import TEST_KEY, StoreBuilder

SCHEMA = "tandem_rt_0123456789abcdef"
PG_TYPES = {"text": "TEXT", "bigint": "INTEGER"}  # spec 03 §2.4: BIGINT where SQLite says INTEGER
RECORDS = {
    "dead_letters": [dead_letter("dead-letter-effect-1", updated=3000),
                     dead_letter("dead-letter-effect-2", updated=2000, tenant_context=tenant("o", "w", "d"))],
    "compensations": [compensation("comp-1")],
    "outbox": [outbox("outbox-1", tenant_context=tenant("o", "w"))],
    "tool_effects": [tool_effect("effect-1", status="succeeded")],
}


@pytest.fixture
def store(pg_url: str) -> psycopg.Connection[Any]:
    builder = StoreBuilder()
    for collection, records in RECORDS.items():
        builder.extend(collection, records, encoding="local" if collection == "compensations" else "plain")
    build_postgres(builder, pg_url, SCHEMA)
    connection = psycopg.connect(pg_url, autocommit=True)
    connection.execute(f'SET search_path TO "{SCHEMA}"')
    return connection


def _columns(connection: psycopg.Connection[Any], table: str) -> list[tuple[str, str, bool, str | None]]:
    return connection.execute(
        "SELECT column_name, data_type, is_nullable = 'NO', column_default FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position", (SCHEMA, table)).fetchall()


def test_tables_live_in_the_schema(store: psycopg.Connection[Any]) -> None:
    names = {name for (name,) in store.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (SCHEMA,))}
    assert names == set(spec.COLUMNS)
    assert store.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"
                         ).fetchone() == (0,)


@pytest.mark.parametrize("table", sorted(spec.COLUMNS))
def test_columns_follow_the_spec_with_bigint_and_rowid(store: psycopg.Connection[Any], table: str) -> None:
    columns = _columns(store, table)
    rowid = [column for column in columns if column[0] == "rowid"]
    actual: list[spec.Col] = [(name, PG_TYPES[kind], not_null, default and default.removesuffix("::text"))
                              for name, kind, not_null, default in columns if name != "rowid"]
    assert spec.masked(spec.COLUMNS[table], actual) == spec.COLUMNS[table]
    if table in spec.SERIAL_ROWID_TABLES:
        [(_, kind, _, default)] = rowid
        assert kind == "bigint" and default.startswith("nextval(")
    else:
        assert rowid == []


def test_primary_keys(store: psycopg.Connection[Any]) -> None:
    rows = store.execute(
        "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name) "
        "WHERE tc.table_schema = %s AND tc.constraint_type = 'PRIMARY KEY'", (SCHEMA,)).fetchall()
    assert {table: [column] for table, column in rows} == spec.PRIMARY_KEYS
    [(default,)] = store.execute("SELECT column_default FROM information_schema.columns WHERE table_schema = %s "
                                 "AND table_name = 'stateful_migration_attempts' AND column_name = 'attempt_id'",
                                 (SCHEMA,)).fetchall()
    assert default.startswith("nextval(")


def test_indexes_follow_the_spec(store: psycopg.Connection[Any]) -> None:
    rows = store.execute(
        "SELECT i.relname, t.relname, x.indisunique, ARRAY(SELECT a.attname FROM unnest(x.indkey) "
        "WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
        "ORDER BY k.n) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_namespace ns ON ns.oid = t.relnamespace WHERE ns.nspname = %s AND NOT x.indisprimary",
        (SCHEMA,)).fetchall()
    found = {name: (table, columns, unique) for name, table, unique, columns in rows}
    for name, index in spec.INDEXES.items():
        assert found.pop(name) == index
    assert sorted(found.values()) == sorted(spec.UNNAMED_INDEXES)


@pytest.mark.parametrize("table", s.RELIABILITY_TABLES, ids=lambda t: t.name)
def test_rows_decode_back_to_the_records(store: psycopg.Connection[Any], table: s.ReliabilityTable) -> None:
    rows = store.execute(f"SELECT {table.id_column}, {table.payload_column}, org_id, workspace_id, deployment_id "
                         f"FROM {table.name} ORDER BY updated_at_ms, rowid").fetchall()
    decoded = [pr.decode_payload(text, kind=table.kind, record_id=row_id, columns=(org, ws, dep), key=TEST_KEY)
               for row_id, text, org, ws, dep in rows]
    assert [item.record for item in decoded] == sorted(RECORDS[table.collection], key=lambda r: r["updated_at_ms"])


def test_rowid_follows_insertion_order(store: psycopg.Connection[Any]) -> None:
    rows = store.execute("SELECT dead_letter_id, goal_id, deployment_id FROM dead_letters ORDER BY rowid").fetchall()
    assert rows == [("dead-letter-effect-1", None, None), ("dead-letter-effect-2", None, "d")]


def test_bookkeeping_knobs(pg_url: str) -> None:
    build_postgres(StoreBuilder().with_schema_version(4).with_transfer(), pg_url, "tandem_rt_knobs")
    with psycopg.connect(pg_url) as connection:
        connection.execute("SET search_path TO tandem_rt_knobs")
        assert connection.execute("SELECT schema_version FROM schema_metadata").fetchall() == [(4,)]
        assert connection.execute("SELECT status FROM stateful_backend_transfers").fetchall() == [("in_progress",)]
        assert connection.execute("SELECT status FROM stateful_migrations").fetchall() == [("complete",)]


def test_advisory_keys_are_valid_bigint_lock_keys(store: psycopg.Connection[Any]) -> None:
    key = s.engine_lock_key(SCHEMA)
    assert store.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone() == (True,)
    assert store.execute("SELECT pg_advisory_unlock(%s)", (key,)).fetchone() == (True,)


def test_schema_marker_file(tmp_path: Path) -> None:
    path = write_schema_marker(tmp_path / "data", SCHEMA)
    assert path == tmp_path / "data" / "stateful_runtime.pg_schema"
    assert path.read_bytes() == SCHEMA.encode() + b"\n"
    assert s.schema_from_marker(path.read_text()) == SCHEMA
