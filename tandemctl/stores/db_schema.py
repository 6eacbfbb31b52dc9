"""Names of the engine's v0.6.9+ database store (schema v5): files, tables, columns, markers,
PostgreSQL advisory-lock keys and the schema-marker rule. Constants and pure helpers only."""

import hashlib
import re
from dataclasses import dataclass
from typing import Final

from tandemctl.errors import UnsupportedStateError

SCHEMA_VERSION: Final = 5
LEGACY_MIGRATION_ID: Final = "legacy_stateful_runtime_v1"
MIGRATION_COMPLETE: Final = "complete"
TRANSFER_ID: Final = "stateful_backend_transfer_v1"
TRANSFER_IN_PROGRESS: Final = "in_progress"
TRANSFER_COMPLETE: Final = "complete"

SQLITE_FILE: Final = "stateful_runtime.sqlite3"
ENGINE_LOCK_FILE: Final = "stateful_runtime.engine.lock"
PG_SCHEMA_MARKER_FILE: Final = "stateful_runtime.pg_schema"
SQLITE_BUSY_TIMEOUT_MS: Final = 5000

SCHEMA_METADATA: Final = "schema_metadata"
STATEFUL_MIGRATIONS: Final = "stateful_migrations"
STATEFUL_MIGRATION_ATTEMPTS: Final = "stateful_migration_attempts"
MIGRATION_SOURCES: Final = "migration_sources"
BACKEND_TRANSFERS: Final = "stateful_backend_transfers"
STATEFUL_EVENTS: Final = "stateful_events"
AUTOMATION_RUNS: Final = "automation_runs"


@dataclass(frozen=True)
class ReliabilityTable:
    """One reliability table: where a collection of `stateful_reliability.json` lives."""

    name: str
    collection: str  # the array name in stateful_reliability.json
    id_column: str
    record_id_field: str  # the record key whose value is the id column and the envelope id
    payload_column: str
    kind: str  # protected-record kind bound in the envelope
    columns: tuple[str, ...]  # in stored order
    scope_index: str


def _scoped_first(id_column: str, payload_column: str) -> tuple[str, ...]:
    # The v1→v2 migration appended the scope columns, so they come last.
    return (id_column, "goal_id", "run_id", "status", payload_column, "updated_at_ms",
            "org_id", "workspace_id", "deployment_id")


DEAD_LETTERS: Final = ReliabilityTable(
    "dead_letters", "dead_letters", "dead_letter_id", "dead_letter_id", "record_json", "dead_letter",
    _scoped_first("dead_letter_id", "record_json"), "idx_dead_letters_scope")
COMPENSATIONS: Final = ReliabilityTable(
    "compensations", "compensations", "compensation_id", "compensation_id", "record_json", "compensation",
    _scoped_first("compensation_id", "record_json"), "idx_compensations_scope")
# The PK column is named effect_id but holds the outbox_id.
OUTBOX_EFFECTS: Final = ReliabilityTable(
    "outbox_effects", "outbox", "effect_id", "outbox_id", "effect_json", "outbox",
    _scoped_first("effect_id", "effect_json"), "idx_outbox_effects_scope")
# Created at v2 with the scope columns in the middle.
TOOL_EFFECTS: Final = ReliabilityTable(
    "tool_effects", "tool_effects", "effect_id", "effect_id", "effect_json", "tool_effect",
    ("effect_id", "goal_id", "run_id", "org_id", "workspace_id", "deployment_id", "status", "effect_json",
     "updated_at_ms"),
    "idx_tool_effects_scope_status")

RELIABILITY_TABLES: Final = (OUTBOX_EFFECTS, TOOL_EFFECTS, DEAD_LETTERS, COMPENSATIONS)
TABLE_BY_COLLECTION: Final = {table.collection: table for table in RELIABILITY_TABLES}

ENGINE_LOCK_PREFIX: Final = "tandem-stateful-engine-lock:"
WRITE_TXN_PREFIX: Final = "tandem-stateful-write-txn:"
_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def advisory_key(prefix: str, schema: str) -> int:
    """First 8 bytes of SHA-256(prefix + schema) as a big-endian signed int64 (orchestration_store.rs)."""
    digest = hashlib.sha256((prefix + schema).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def engine_lock_key(schema: str) -> int:
    """The session advisory lock the engine holds for its lifetime."""
    return advisory_key(ENGINE_LOCK_PREFIX, schema)


def write_txn_key(schema: str) -> int:
    """The transaction advisory lock taken by every "immediate" write."""
    return advisory_key(WRITE_TXN_PREFIX, schema)


def is_valid_schema_name(name: str) -> bool:
    """1–63 characters of [a-z0-9_], starting with a letter or `_`."""
    return _SCHEMA_NAME.fullmatch(name) is not None


def schema_from_marker(text: str) -> str:
    """The schema named by a `stateful_runtime.pg_schema` marker (name plus newline)."""
    name = text.strip()
    if not is_valid_schema_name(name):
        raise UnsupportedStateError(
            f"{PG_SCHEMA_MARKER_FILE} names {name!r}: not a valid schema (1-63 of [a-z0-9_], "
            "starting with a letter or _)")
    return name
