"""Building a small fixed state for the triage commands through one helper that takes the store kind,
so the same tests run on every store (`STORE_KINDS`; the database stores join when they land)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tests.factories import write_store
from tests.sweep_fixtures import SweepDir

STORE_KINDS = ("json",)
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
    if kind != "json":
        raise NotImplementedError(f"store kind {kind!r}: the builder lands with that store")
    d = SweepDir(root)
    if state.runs:
        d.write_runs(state.runs)
    for shard in state.shards:
        d.write_shard(shard)
    if state.definitions:
        d.write_definitions(*state.definitions)
    write_store(d.paths.reliability_file, state.dead_letters, tool_effects=state.tool_effects,
                outbox=state.outbox, compensations=state.compensations)
    if state.events:
        events = d.paths.runtime_dir / "events.jsonl"
        events.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in state.events))
    if state.journal:
        d.paths.journal_file.write_bytes(b"".join(orjson.dumps(entry) + b"\n" for entry in state.journal))
