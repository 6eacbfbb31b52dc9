import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine import protected_records as pr
from tandemctl.stores import db_schema as s
from tests.factories import dead_letter, tenant
from tests.stores import expected_v5 as spec
from tests.stores.records import compensation, outbox, tool_effect
from tests.stores.sqlite_builder import TEST_KEY, StoreBuilder, build_sqlite

TENANT_B = tenant("org-b", "ws-b", deployment="dep-b")


def _records() -> dict[str, list[dict[str, Any]]]:
    return {
        "dead_letters": [dead_letter("dead-letter-effect-1", updated=3000),
                         dead_letter("dead-letter-effect-2", status="retry_requested", updated=2000,
                                     tenant_context=TENANT_B, metadata={"retry_dispatch_count": 2}),
                         dead_letter("dead-letter-wait-1", run_id=None, source_type="stateful_wait")],
        "compensations": [compensation("comp-1", tenant_context=TENANT_B)],
        "outbox": [outbox("outbox-1")],
        "tool_effects": [tool_effect("effect-1", status="succeeded", tenant_context=TENANT_B)],
    }


def _built(tmp_path: Path, builder: StoreBuilder | None = None) -> sqlite3.Connection:
    if builder is None:
        builder = StoreBuilder()
        for collection, records in _records().items():
            builder.extend(collection, records)
    return sqlite3.connect(build_sqlite(builder, tmp_path / "data"))


def _decode_all(connection: sqlite3.Connection, table: s.ReliabilityTable) -> list[pr.DecodedPayload]:
    query = (f"SELECT {table.id_column}, {table.payload_column}, org_id, workspace_id, deployment_id "
             f"FROM {table.name} ORDER BY updated_at_ms, rowid")
    return [pr.decode_payload(text, kind=table.kind, record_id=row_id, columns=(org, ws, dep), key=TEST_KEY)
            for row_id, text, org, ws, dep in connection.execute(query)]


def test_store_file_is_in_wal_mode(tmp_path: Path) -> None:
    connection = _built(tmp_path)
    assert (tmp_path / "data" / "stateful_runtime.sqlite3").is_file()
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_tables_are_exactly_those_of_schema_v5(tmp_path: Path) -> None:
    names = {name for (name,) in _built(tmp_path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    assert names == set(spec.COLUMNS)


@pytest.mark.parametrize("table", sorted(spec.COLUMNS))
def test_columns_follow_the_spec_in_stored_order(tmp_path: Path, table: str) -> None:
    info = _built(tmp_path).execute(f"PRAGMA table_info({table})").fetchall()
    actual: list[spec.Col] = [(name, kind, bool(not_null), default) for _, name, kind, not_null, default, _ in info]
    assert spec.masked(spec.COLUMNS[table], actual) == spec.COLUMNS[table]
    assert [name for _, name, _, _, _, pk in info if pk] == spec.PRIMARY_KEYS.get(table, [])


def test_indexes_follow_the_spec(tmp_path: Path) -> None:
    connection = _built(tmp_path)
    found = {}
    for (table,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for _, name, unique, origin, _ in connection.execute(f"PRAGMA index_list({table})"):
            if origin == "c":
                columns = [column for _, _, column in connection.execute(f"PRAGMA index_info({name})")]
                found[name] = (table, columns, bool(unique))
    for name, index in spec.INDEXES.items():
        assert found.pop(name) == index
    assert sorted(found.values()) == sorted(spec.UNNAMED_INDEXES)


def test_autoincrement_attempt_ids(tmp_path: Path) -> None:
    sql = _built(tmp_path).execute(
        "SELECT sql FROM sqlite_master WHERE name = 'stateful_migration_attempts'").fetchone()[0]
    assert "attempt_id INTEGER PRIMARY KEY AUTOINCREMENT" in sql


@pytest.mark.parametrize("table", s.RELIABILITY_TABLES, ids=lambda t: t.name)
def test_rows_decode_back_to_the_records(tmp_path: Path, table: s.ReliabilityTable) -> None:
    decoded = _decode_all(_built(tmp_path), table)
    expected = sorted(_records()[table.collection], key=lambda record: record["updated_at_ms"])
    assert [item.record for item in decoded] == expected
    assert {item.encoding for item in decoded} == {"plain_envelope"}


def test_index_columns_are_filled_like_the_engine(tmp_path: Path) -> None:
    rows = _built(tmp_path).execute(
        "SELECT dead_letter_id, goal_id, run_id, status, updated_at_ms, org_id, workspace_id, deployment_id "
        "FROM dead_letters ORDER BY rowid").fetchall()
    assert rows == [
        ("dead-letter-effect-1", None, "run-a", "open", 3000, "local", "local", None),
        ("dead-letter-effect-2", None, "run-a", "retry_requested", 2000, "org-b", "ws-b", "dep-b"),
        ("dead-letter-wait-1", None, None, "open", 1000, "local", "local", None),
    ]


@pytest.mark.parametrize("encoding", ["plain", "bare", "local"])
def test_per_row_encoding(tmp_path: Path, encoding: Any) -> None:
    record = dead_letter("dl-1", tenant_context=TENANT_B)
    connection = _built(tmp_path, StoreBuilder().dead_letters(record, encoding=encoding))
    [decoded] = _decode_all(connection, s.DEAD_LETTERS)
    assert decoded.record == record
    assert decoded.encoding == {"plain": "plain_envelope", "bare": "bare", "local": "local_encrypted"}[encoding]


def test_bookkeeping_of_a_complete_import(tmp_path: Path) -> None:
    connection = _built(tmp_path)
    assert connection.execute("SELECT schema_version FROM schema_metadata").fetchall() == [(5,)]
    assert connection.execute("SELECT migration_id, status FROM stateful_migrations").fetchall() == [
        ("legacy_stateful_runtime_v1", "complete")]
    assert connection.execute("SELECT outcome FROM stateful_migration_attempts").fetchall() == [("complete",)]
    assert connection.execute("SELECT COUNT(*) FROM stateful_backend_transfers").fetchone() == (0,)


def test_knobs_for_schema_version_marker_and_transfer(tmp_path: Path) -> None:
    builder = StoreBuilder().with_schema_version(4).with_migration("in_progress").with_transfer()
    connection = _built(tmp_path, builder)
    assert connection.execute("SELECT schema_version FROM schema_metadata").fetchall() == [(4,)]
    assert connection.execute("SELECT status, completed_at_ms FROM stateful_migrations").fetchall() == [
        ("in_progress", None)]
    assert connection.execute("SELECT outcome FROM stateful_migration_attempts").fetchall() == [(None,)]
    assert connection.execute("SELECT transfer_id, status FROM stateful_backend_transfers").fetchall() == [
        ("stateful_backend_transfer_v1", "in_progress")]


def test_absent_marker_and_schema_row(tmp_path: Path) -> None:
    connection = _built(tmp_path, StoreBuilder().with_migration(None).with_schema_version(None))
    assert connection.execute("SELECT COUNT(*) FROM stateful_migrations").fetchone() == (0,)
    assert connection.execute("SELECT COUNT(*) FROM schema_metadata").fetchone() == (0,)


@pytest.mark.parametrize(("field", "value"), [
    ("kind", "compensation"), ("id", "dl-other"), ("org_id", "org-x"), ("workspace_id", "ws-x"),
    ("deployment_id", None)])
def test_mismatched_row(tmp_path: Path, field: str, value: Any) -> None:
    builder = StoreBuilder().mismatched("dead_letters", dead_letter("dl-1", tenant_context=TENANT_B), field, value)
    with pytest.raises(pr.PayloadMismatchError) as caught:
        _decode_all(_built(tmp_path, builder), s.DEAD_LETTERS)
    assert caught.value.field == field


def test_garbage_and_hosted_rows(tmp_path: Path) -> None:
    connection = _built(tmp_path, StoreBuilder().garbage("dead_letters", dead_letter("dl-1")))
    with pytest.raises(pr.PayloadDecodeError):
        _decode_all(connection, s.DEAD_LETTERS)
    connection = _built(tmp_path / "hosted", StoreBuilder().hosted("dead_letters", dead_letter("dl-1")))
    with pytest.raises(pr.SealedPayloadError):
        _decode_all(connection, s.DEAD_LETTERS)
    assert connection.execute("SELECT status FROM dead_letters").fetchone() == ("open",)
