"""The generator's database mode: a v5 store (SQLite file or PostgreSQL schema) the engine would open."""

import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import _database
from benchmarks.generate import generate_database, generate_state
from tandemctl.engine import protected_records as pr
from tandemctl.stores import db_schema as s

N = 300


def _check_rows(rows: Iterable[tuple[Any, ...]], table: s.ReliabilityTable) -> int:
    count = 0
    for values in rows:
        row = dict(zip(table.columns, values, strict=True))
        columns = (row["org_id"], row["workspace_id"], row["deployment_id"])
        decoded = pr.decode_payload(row[table.payload_column], kind=table.kind, record_id=row[table.id_column],
                                    columns=columns, key=None)
        assert decoded.encoding == "plain_envelope"
        assert decoded.record["status"] == row["status"]
        assert decoded.record["updated_at_ms"] == row["updated_at_ms"]
        count += 1
    return count


def _json_counts(tmp_path: Path) -> dict[str, int]:
    state = generate_state(tmp_path / "json", dead_letters=N, seed=11)
    return {"outbox": state.outbox, "tool_effects": state.tool_effects, "dead_letters": state.dead_letters,
            "compensations": state.compensations}


def test_sqlite_store_holds_envelopes_matching_their_columns_and_the_markers(tmp_path: Path) -> None:
    counts = generate_database(tmp_path / "db", store="sqlite", dead_letters=N, seed=3)
    assert counts["dead_letters"] == N
    # Same planner as the JSON store: the same mix of related rows per dead letter (within noise).
    json_counts = _json_counts(tmp_path)
    for name in ("outbox", "tool_effects", "compensations"):
        assert abs(counts[name] - json_counts[name]) <= 0.25 * json_counts[name], name
    db = sqlite3.connect(tmp_path / "db" / "data" / s.SQLITE_FILE)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute(f"SELECT schema_version FROM {s.SCHEMA_METADATA}").fetchall() == [(s.SCHEMA_VERSION,)]
        assert db.execute(f"SELECT migration_id, status, record_count FROM {s.STATEFUL_MIGRATIONS}").fetchall() == [
            (s.LEGACY_MIGRATION_ID, s.MIGRATION_COMPLETE, sum(counts.values()))]
        for collection, table in s.TABLE_BY_COLLECTION.items():
            rows = db.execute(f"SELECT {', '.join(table.columns)} FROM {table.name}").fetchall()
            assert _check_rows(rows, table) == counts[collection]
    finally:
        db.close()


def test_batches_keep_ids_distinct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_database, "BATCH_DEAD_LETTERS", 70)
    counts = generate_database(tmp_path / "db", store="sqlite", dead_letters=N, seed=3)
    assert counts["dead_letters"] == N  # 5 batches, no primary-key collision


def test_postgres_store_and_schema_marker(tmp_path: Path, pg_url: str) -> None:
    counts = generate_database(tmp_path / "db", store="postgres", dead_letters=N, seed=3, postgres_url=pg_url,
                               schema="bench_v5")
    marker = tmp_path / "db" / "data" / s.PG_SCHEMA_MARKER_FILE
    assert marker.read_text() == "bench_v5\n"
    with psycopg.connect(pg_url) as connection:
        assert connection.execute("SELECT schema_version FROM bench_v5.schema_metadata").fetchall() == [(5,)]
        assert connection.execute("SELECT status, record_count FROM bench_v5.stateful_migrations").fetchall() == [
            (s.MIGRATION_COMPLETE, sum(counts.values()))]
        for collection, table in s.TABLE_BY_COLLECTION.items():
            rows = connection.execute(f"SELECT {', '.join(table.columns)} FROM bench_v5.{table.name}").fetchall()
            assert _check_rows(rows, table) == counts[collection]
