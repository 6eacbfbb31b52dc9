"""Loads generated reliability records into a 0.6.9+ database store (schema v5, plaintext binding
envelopes, the legacy migration marked complete): SQLite `<data>/stateful_runtime.sqlite3`, or one
PostgreSQL schema plus the `<data>/stateful_runtime.pg_schema` marker.

Records come from the JSON generator's planner in batches (each batch its own seed), so a million
dead letters never sit in memory at once; rows go in with executemany/COPY, one transaction per batch.
"""

import random
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._writer import _rendered, reliability_rows
from tandemctl.engine import protected_records as pr
from tandemctl.stores import db_schema as s
from tests.stores.schema_v5 import create_statements
from tests.stores.sqlite_builder import StoreBuilder, engine_columns, insert_sql

BATCH_DEAD_LETTERS = 50_000
PlanBatch = Callable[[int, int], Any]  # (dead letters, seed) -> benchmarks._planner.Plan


@dataclass
class LoadSummary:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(s.TABLE_BY_COLLECTION, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def table_rows(plan: Any) -> Iterator[tuple[s.ReliabilityTable, list[tuple[Any, ...]]]]:
    """Each reliability table's rows for one planned batch, columns in stored order."""
    for collection, rows in reliability_rows(plan.actions, plan.waits).items():
        table = s.TABLE_BY_COLLECTION[collection]
        out = []
        for record in _rendered(rows):
            values = engine_columns(table, record)
            record_id = record[table.record_id_field]
            values[table.payload_column] = pr.encode_plain_envelope(record, kind=table.kind, record_id=record_id)
            out.append(tuple(values[name] for name in table.columns))
        yield table, out


def batches(dead_letters: int, seed: int, plan_batch: PlanBatch) -> Iterator[Any]:
    """Plans of at most BATCH_DEAD_LETTERS dead letters each, with seeds derived from `seed`."""
    seeds = random.Random(seed)
    left = dead_letters
    while left > 0:
        size = min(left, BATCH_DEAD_LETTERS)
        yield plan_batch(size, seeds.getrandbits(48))
        left -= size


def bookkeeping(total_rows: int) -> dict[str, list[tuple[Any, ...]]]:
    """schema_metadata v5 and the legacy migration marked complete, as `StoreBuilder` writes them."""
    tables = StoreBuilder().bookkeeping()
    migration = tables[s.STATEFUL_MIGRATIONS][0]
    tables[s.STATEFUL_MIGRATIONS] = [(*migration[:3], total_rows, *migration[4:])]
    return tables


def load_sqlite(data_dir: Path, plans: Iterator[Any]) -> LoadSummary:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / s.SQLITE_FILE
    if path.exists():
        raise FileExistsError(f"{path} exists")
    summary = LoadSummary()
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("BEGIN IMMEDIATE")
        for statement in create_statements("sqlite"):
            connection.execute(statement)
        connection.execute("COMMIT")
        for plan in plans:
            connection.execute("BEGIN IMMEDIATE")
            for table, rows in table_rows(plan):
                connection.executemany(insert_sql(table.name, "?"), rows)
                summary.counts[table.collection] += len(rows)
            connection.execute("COMMIT")
        connection.execute("BEGIN IMMEDIATE")
        for name, rows in bookkeeping(summary.total).items():
            connection.executemany(insert_sql(name, "?"), rows)
        connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return summary


def load_postgres(data_dir: Path, plans: Iterator[Any], conninfo: str, schema: str) -> LoadSummary:
    """Create `schema` in the database at `conninfo` and COPY the rows in, one transaction per batch."""
    import psycopg
    from psycopg import sql

    from tests.stores.pg_builder import write_schema_marker
    from tests.stores.schema_v5 import column_names

    if not s.is_valid_schema_name(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    summary = LoadSummary()
    with psycopg.connect(conninfo) as connection:
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            cursor.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            for statement in create_statements("postgres"):
                cursor.execute(statement)
        for plan in plans:
            with connection.transaction(), connection.cursor() as cursor:
                for table, rows in table_rows(plan):
                    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
                        sql.Identifier(schema, table.name),
                        sql.SQL(", ").join(sql.Identifier(name) for name in column_names(table.name)))
                    with cursor.copy(copy) as writer:
                        for row in rows:
                            writer.write_row(row)
                    summary.counts[table.collection] += len(rows)
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
            for name, rows in bookkeeping(summary.total).items():
                cursor.executemany(insert_sql(name, "%s"), rows)
    write_schema_marker(data_dir, schema)
    return summary
