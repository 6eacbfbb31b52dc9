"""Building a small fixed state for the triage commands through one helper that takes the store kind,
so the same tests run on every store (`STORE_KINDS`; the database stores join when they land)."""

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tests.factories import write_store
from tests.stores.sqlite_builder import StoreBuilder, build_sqlite
from tests.sweep_fixtures import SweepDir

STORE_KINDS = ("json", "sqlite")
Rows = list[dict[str, Any]]


@dataclass
class Triage:
    """What a state holds; `build_state` writes it in the chosen store's format."""

    dead_letters: Rows
    runs: Rows = field(default_factory=list)
    shards: Rows = field(default_factory=list)
    definitions: Rows = field(default_factory=list)
    events: Rows = field(default_factory=list)
    tool_effects: Rows = field(default_factory=list)
    outbox: Rows = field(default_factory=list)
    compensations: Rows = field(default_factory=list)
    journal: Rows = field(default_factory=list)


def build_state(kind: str, root: Path, state: Triage) -> None:
    """The state as a 0.6.x engine (`json`) or a 0.6.9+ engine on SQLite (`sqlite`: reliability records
    and hot runs in the database, shards, definitions, events and journal as files) leaves it."""
    if kind not in STORE_KINDS:
        raise NotImplementedError(f"store kind {kind!r}")
    d = SweepDir(root)
    if kind == "sqlite":
        _build_sqlite(d, state)
    elif state.runs:
        d.write_runs(state.runs)
    for shard in state.shards:
        d.write_shard(shard)
    if state.definitions:
        d.write_definitions(*state.definitions)
    if kind == "json":
        write_store(d.paths.reliability_file, state.dead_letters, tool_effects=state.tool_effects,
                    outbox=state.outbox, compensations=state.compensations)
    d.paths.runtime_dir.mkdir(parents=True, exist_ok=True)
    if state.events:
        events = d.paths.runtime_dir / "events.jsonl"
        events.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in state.events))
    if state.journal:
        d.paths.journal_file.write_bytes(b"".join(orjson.dumps(entry) + b"\n" for entry in state.journal))


def _build_sqlite(d: SweepDir, state: Triage) -> None:
    builder = StoreBuilder()
    builder.extend("dead_letters", state.dead_letters)
    builder.extend("tool_effects", state.tool_effects)
    builder.extend("outbox", state.outbox)
    builder.extend("compensations", state.compensations)
    for run in state.runs:
        builder.add_run(run)
    build_sqlite(builder, d.paths.data_dir)


def store_file(kind: str, root: Path) -> Path:
    """The file that holds the dead letters for this kind of store."""
    data = SweepDir(root).paths.data_dir
    return data / "stateful_runtime.sqlite3" if kind == "sqlite" else data / "runtime" / "stateful_reliability.json"


def corrupt_store(kind: str, root: Path) -> None:
    """A dead letter the engine cannot read: a record missing its fields (JSON), garbage in a payload
    column (SQLite)."""
    if kind == "json":
        store_file(kind, root).write_text('{"schema_version": 1, "dead_letters": [{"nope": 1}]}')
        return
    with sqlite3.connect(store_file(kind, root)) as connection:
        connection.execute("UPDATE dead_letters SET record_json = '{\"truncated\": '")


def unchanged_by_reads(kind: str, path: Path) -> bool:
    """Whether a file's bytes must stay the same when the store is only read: SQLite's own WAL index
    (`-shm`, `-wal`) changes on every read, by SQLite, not by tandemctl."""
    return not (kind == "sqlite" and path.name.endswith(("-shm", "-wal")))
