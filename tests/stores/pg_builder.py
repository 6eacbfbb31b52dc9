"""Builds the same v5 store as `sqlite_builder` inside one PostgreSQL schema (BIGINT, explicit
`rowid BIGSERIAL`), and writes the `stateful_runtime.pg_schema` marker."""

from pathlib import Path

import psycopg
from psycopg import sql

from tandemctl.stores import db_schema as s
from tests.stores.schema_v5 import create_statements
from tests.stores.sqlite_builder import StoreBuilder, insert_sql


def build_postgres(builder: StoreBuilder, conninfo: str, schema: str) -> None:
    """Create `schema` with the v5 tables and the builder's rows, in one transaction."""
    if not s.is_valid_schema_name(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        cursor.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        for statement in create_statements("postgres"):
            cursor.execute(statement)
        for table, rows in builder.bookkeeping().items():
            cursor.executemany(insert_sql(table, "%s"), rows)
        for row in builder.rows:
            cursor.execute(insert_sql(row.table.name, "%s"), tuple(row.values.values()))


def write_schema_marker(data_dir: Path, schema: str) -> Path:
    """`<data_dir>/stateful_runtime.pg_schema`: the schema name plus a newline."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / s.PG_SCHEMA_MARKER_FILE
    path.write_text(schema + "\n", encoding="utf-8")
    return path
