"""The engine's schema v5 (spec 03 §2.3/§2.4) as data, rendered as SQLite or PostgreSQL DDL.

Where the spec names a column but not its type or constraint (bookkeeping tables), the
choice here is marked `guessed`; the reliability tables, runs and events follow the spec."""

from dataclasses import dataclass
from typing import Literal

from tandemctl.stores import db_schema as s

Dialect = Literal["sqlite", "postgres"]


@dataclass(frozen=True)
class Column:
    name: str
    type: Literal["TEXT", "INTEGER"]
    constraint: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    serial_rowid: bool = False  # PostgreSQL adds `rowid BIGSERIAL` for ORDER BY updated_at_ms, rowid


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False


def _text(name: str, constraint: str = "") -> Column:
    return Column(name, "TEXT", constraint)


def _int(name: str, constraint: str = "") -> Column:
    return Column(name, "INTEGER", constraint)


def _scoped_first(table: s.ReliabilityTable) -> Table:
    return Table(table.name, (
        _text(table.id_column, "PRIMARY KEY"), _text("goal_id"), _text("run_id"), _text("status", "NOT NULL"),
        _text(table.payload_column, "NOT NULL"), _int("updated_at_ms", "NOT NULL"),
        _text("org_id", "NOT NULL DEFAULT ''"), _text("workspace_id", "NOT NULL DEFAULT ''"),
        _text("deployment_id")), serial_rowid=True)


TOOL_EFFECTS = Table("tool_effects", (
    _text("effect_id", "PRIMARY KEY"), _text("goal_id"), _text("run_id"), _text("org_id", "NOT NULL"),
    _text("workspace_id", "NOT NULL"), _text("deployment_id"), _text("status", "NOT NULL"),
    _text("effect_json", "NOT NULL"), _int("updated_at_ms", "NOT NULL")), serial_rowid=True)

AUTOMATION_RUNS = Table(s.AUTOMATION_RUNS, (
    _text("run_id", "PRIMARY KEY"), _text("automation_id", "NOT NULL"), _text("org_id", "NOT NULL"),
    _text("workspace_id", "NOT NULL"), _text("deployment_id"), _text("status", "NOT NULL"),
    _int("is_hot", "NOT NULL DEFAULT 1"), _text("run_json", "NOT NULL"), _int("created_at_ms", "NOT NULL"),
    _int("updated_at_ms", "NOT NULL")))

# guessed: constraints other than `seq INTEGER NOT NULL` and the (run_id, seq) unique index.
STATEFUL_EVENTS = Table(s.STATEFUL_EVENTS, (
    _text("event_id", "PRIMARY KEY"), _text("goal_id"), _text("run_id", "NOT NULL"), _int("seq", "NOT NULL"),
    _text("event_json", "NOT NULL"), _int("created_at_ms", "NOT NULL"), _text("org_id", "NOT NULL"),
    _text("workspace_id", "NOT NULL"), _text("deployment_id")), serial_rowid=True)

# guessed: types and NOT NULL of the bookkeeping tables beyond what spec 03 §2.3 names.
BOOKKEEPING = (
    Table(s.SCHEMA_METADATA, (_int("schema_version", "NOT NULL"),)),
    Table(s.STATEFUL_MIGRATIONS, (
        _text("migration_id", "PRIMARY KEY"), _text("status", "NOT NULL"), _text("source_fingerprint"),
        _int("record_count"), _int("started_at_ms"), _int("completed_at_ms"))),
    Table(s.STATEFUL_MIGRATION_ATTEMPTS, (
        _int("attempt_id", "PRIMARY KEY AUTOINCREMENT"), _text("migration_id", "NOT NULL"),
        _text("source_fingerprint"), _int("started_at_ms", "NOT NULL"), _text("outcome"),
        _int("completed_at_ms"))),
    Table(s.MIGRATION_SOURCES, (
        _text("source_kind", "NOT NULL"), _text("source_path", "NOT NULL"), _int("imported_at_ms", "NOT NULL"),
        _int("record_count", "NOT NULL"))),
    Table(s.BACKEND_TRANSFERS, (
        _text("transfer_id", "PRIMARY KEY"), _text("source_backend", "NOT NULL"), _text("target_backend", "NOT NULL"),
        _text("source_fingerprint"), _text("target_fingerprint"), _int("record_count"), _text("status", "NOT NULL"),
        _int("started_at_ms", "NOT NULL"), _int("completed_at_ms"))),
)

TABLES = (
    *BOOKKEEPING,
    _scoped_first(s.OUTBOX_EFFECTS), _scoped_first(s.DEAD_LETTERS), _scoped_first(s.COMPENSATIONS), TOOL_EFFECTS,
    AUTOMATION_RUNS, STATEFUL_EVENTS,
)

INDEXES = (
    *(Index(t.scope_index, t.name, ("org_id", "workspace_id")) for t in (s.OUTBOX_EFFECTS, s.DEAD_LETTERS,
                                                                        s.COMPENSATIONS)),
    Index(s.TOOL_EFFECTS.scope_index, "tool_effects", ("org_id", "workspace_id", "status")),
    Index("idx_automation_runs_scope_status", s.AUTOMATION_RUNS, ("org_id", "workspace_id", "status")),  # name guessed
    Index("idx_stateful_events_run_seq", s.STATEFUL_EVENTS, ("run_id", "seq"), unique=True),  # name guessed
)


def column_names(table_name: str) -> tuple[str, ...]:
    """The spec'd columns of a table in stored order (without PostgreSQL's extra rowid)."""
    table = next(table for table in TABLES if table.name == table_name)
    return tuple(column.name for column in table.columns)


def _column_sql(column: Column, dialect: Dialect) -> str:
    if dialect == "postgres" and "AUTOINCREMENT" in column.constraint:
        return f"{column.name} BIGSERIAL PRIMARY KEY"
    sql_type = "BIGINT" if dialect == "postgres" and column.type == "INTEGER" else column.type
    return f"{column.name} {sql_type} {column.constraint}".rstrip()


def create_statements(dialect: Dialect) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements for the whole v5 schema."""
    statements = []
    for table in TABLES:
        columns = [_column_sql(column, dialect) for column in table.columns]
        if dialect == "postgres" and table.serial_rowid:
            columns.append("rowid BIGSERIAL")
        statements.append(f"CREATE TABLE {table.name} ({', '.join(columns)})")
    for index in INDEXES:
        unique = "UNIQUE " if index.unique else ""
        statements.append(f"CREATE {unique}INDEX {index.name} ON {index.table} ({', '.join(index.columns)})")
    return statements
