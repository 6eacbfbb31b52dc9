"""The automation-v2 run store's rules: the hot file's shapes (v0 map or v1 envelope), the corrupt-entry
conversion, shard paths, the hot-vs-history lookup and `update_automation_v2_run` (spec 02 §2.7–§2.10).
Shards are read through a `ShardReader` the store supplies."""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tandemctl.engine import jsonio
from tandemctl.engine.definitions import RECOVERED_CONTEXT_RUN, TERMINAL_STATUSES
from tandemctl.engine.models import LOCAL_TENANT, TenantContext
from tandemctl.engine.rows import Row
from tandemctl.engine.run_records import canonical_run, run_validation_error
from tandemctl.errors import CorruptStateError, UnsupportedStateError

RUNS_SCHEMA_VERSION: Final = 1
CORRUPT_DETAIL_PREFIX: Final = "automation run checkpoint could not be parsed during startup: "
_U32_MAX: Final = 2**32 - 1
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass
class HotRuns:
    """The parsed hot file. `entries` keeps every raw entry under its map key, in file order."""

    path: Path
    version: int | None
    entries: dict[str, Any]
    identity: object | None = None  # the store's version token for the file that was read
    index: dict[str, str] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)
    _records: dict[str, Row] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, entry in self.entries.items():
            run_id = entry.get("run_id")
            # The engine keys runs by the record's own id, not by the map key.
            self.index[run_id if isinstance(run_id, str) else key] = key

    def run_ids(self) -> list[str]:
        return list(self.index)

    def record(self, run_id: str) -> Row | None:
        """The run as the engine holds it in memory (a corrupt entry becomes a blocked run)."""
        cached = self._records.get(run_id)
        if cached is not None:
            return cached
        key = self.index.get(run_id)
        if key is None:
            return None
        entry: Row = self.entries[key]
        error = run_validation_error(entry)
        if error is not None:
            self.corrupt.add(run_id)
            entry = corrupt_run_record(run_id, entry, error)
        self._records[run_id] = entry
        return entry

    def set_record(self, record: Row) -> None:
        run_id = record["run_id"]
        key = self.index.setdefault(run_id, run_id)
        self.entries[key] = record
        self._records[run_id] = record
        self.corrupt.discard(run_id)

    def serialize(self) -> bytes:
        """Always the v1 envelope: a v0 map is upgraded the first time tandemctl writes it."""
        return jsonio.dumps_pretty({"schema_version": RUNS_SCHEMA_VERSION, "runs": self.entries})


def parse_runs_file(data: bytes | None, path: Path) -> HotRuns:
    """`parse_automation_v2_runs_file`: both shapes; a newer schema is refused, untouched."""
    if data is None or data.strip() in (b"", b"{}"):
        return HotRuns(path=path, version=None, entries={})
    top = jsonio.parse_strict(data, path)
    if not isinstance(top, dict):
        raise CorruptStateError(f"{path}: top level is {type(top).__name__}, expected an object")
    version, runs = _runs_map(top, path)
    for key, entry in runs.items():
        if not isinstance(entry, dict):
            raise CorruptStateError(f"{path}: run entry {key!r} is {type(entry).__name__}, expected an object")
        if not isinstance(entry.get("automation_id"), str):
            # A corrupt entry is recoverable only with its automation_id; the engine's load fails.
            raise CorruptStateError(f"{path}: run entry {key!r} has no automation_id; the engine cannot load it")
    return HotRuns(path=path, version=version, entries=runs)


def _runs_map(top: Row, path: Path) -> tuple[int, Row]:
    if "schema_version" not in top:
        return 0, top
    version = top["schema_version"]
    if type(version) is not int or not 0 <= version <= _U32_MAX:
        raise CorruptStateError(f"{path}: schema_version {version!r} is not an unsigned 32-bit integer")
    if version > RUNS_SCHEMA_VERSION:
        raise UnsupportedStateError(
            f"{path}: runs file schema_version {version} is newer than supported ({RUNS_SCHEMA_VERSION}); "
            "upgrade tandemctl"
        )
    runs = top.get("runs")
    if not isinstance(runs, dict):
        raise CorruptStateError(f"{path}: field 'runs' is missing or not an object")
    return version, runs


def corrupt_run_record(run_id: str, entry: Row, error: str) -> Row:
    """What the engine's load turns an unparseable entry into: a run blocked on `checkpoint`."""
    detail = CORRUPT_DETAIL_PREFIX + error
    tenant = entry.get("tenant_context")
    try:
        TenantContext.model_validate(tenant)
    except ValueError:
        tenant = dict(LOCAL_TENANT)
    at = max((v for v in (entry.get("updated_at_ms"), entry.get("created_at_ms")) if type(v) is int), default=0)
    failure = {"node_id": "checkpoint", "reason": detail, "failed_at_ms": at,
               "failure_kind": "checkpoint_recovery_failed"}
    event = {"event": "run_blocked_corrupt_checkpoint", "recorded_at_ms": at, "reason": detail}
    trigger = entry.get("trigger_type")
    return {
        "run_id": run_id, "automation_id": entry["automation_id"], "tenant_context": tenant,
        "trigger_type": trigger if isinstance(trigger, str) else "manual", "status": "blocked",
        "created_at_ms": at, "updated_at_ms": at, "detail": detail,
        "checkpoint": {"blocked_nodes": ["checkpoint"], "lifecycle_history": [event], "last_failure": failure},
    }


def shard_relpath(record: Row) -> str:
    """`YYYY/MM/<sanitized run_id>.json`, month of max(updated_at_ms, created_at_ms) in UTC."""
    millis = max(record["updated_at_ms"], record["created_at_ms"])
    try:
        utc = time.gmtime(millis // 1000)
    except (OverflowError, OSError, ValueError):
        raise CorruptStateError(f"run {record['run_id']!r}: timestamp {millis} is out of range") from None
    return f"{utc.tm_year:04d}/{utc.tm_mon:02d}/{_UNSAFE_ID.sub('_', record['run_id'])}.json"


def shard_bytes(record: Row) -> bytes:
    return jsonio.dumps_pretty({"schema_version": 1, "run": record})


def is_hidden(record: Row) -> bool:
    """Non-terminal recovered-context runs are dropped from the engine's view."""
    return record.get("trigger_type") == RECOVERED_CONTEXT_RUN and record["status"] not in TERMINAL_STATUSES


ShardReader = Callable[[str], dict[str, Row]]
"""Every readable history shard of a run id, by its path relative to the shard root."""


class RunStore:
    """Hot runs plus history shards, with the shards this sweep will write layered on top,
    so every lookup sees the state as updated so far."""

    def __init__(self, hot: HotRuns, read_shards: ShardReader) -> None:
        self.hot = hot
        self._read_shards = read_shards
        self.written_shards: dict[str, Row] = {}
        # Written shards by file name: the raw-id lookup only finds ids that need no sanitizing.
        self._written_by_name: dict[str, dict[str, Row]] = {}
        self._disk: dict[str, dict[str, Row]] = {}

    def hot_run(self, run_id: str) -> Row | None:
        record = self.hot.record(run_id)
        return None if record is None or is_hidden(record) else record

    def is_corrupt(self, run_id: str) -> bool:
        return self.hot.record(run_id) is not None and run_id in self.hot.corrupt

    def history(self, run_id: str) -> Row | None:
        """`load_automation_v2_run_history_shard`. When several month directories hold the id
        (the stale-month quirk) the engine returns the first in raw read_dir order; tandemctl
        picks the newest `updated_at_ms` (then the latest path) so the answer is deterministic."""
        candidates = dict(self._disk_shards(run_id))
        candidates.update(self._written_by_name.get(f"{run_id}.json", {}))
        visible = [(rec["updated_at_ms"], rel, rec) for rel, rec in candidates.items() if not is_hidden(rec)]
        return max(visible, key=lambda item: (item[0], item[1]))[2] if visible else None

    def _disk_shards(self, run_id: str) -> dict[str, Row]:
        cached = self._disk.get(run_id)
        if cached is not None:
            return cached
        found = self._read_shards(run_id)
        self._disk[run_id] = found
        return found

    def get_automation_v2_run(self, run_id: str) -> Row | None:
        """`get_automation_v2_run` (app_state part03.rs): hot vs history, spec 02 §2.9."""
        hot = self.hot_run(run_id)
        history = self.history(run_id)
        if hot is None or history is None:
            return hot if history is None else history
        return history if _history_preferred(hot, history) else hot

    def stored_row(self, run_id: str) -> Row | None:
        """The copy `update_automation_v2_run` mutates: in memory (hot), else hydrated from a shard."""
        return self.hot_run(run_id) or self.history(run_id)

    def update_automation_v2_run(self, run_id: str, mutate: Callable[[Row], None], now_ms: int) -> Row | None:
        """`update_automation_v2_run` (app_state part05.rs): mutate a copy, apply the generic
        rules of spec 02 §2.10, store it in the hot map and plan its new-month shard."""
        stored = self.stored_row(run_id)
        if stored is None:
            return None
        row = jsonio.clone(stored)
        mutate(row)
        apply_update_rules(row, now_ms)
        record = canonical_run(row)
        self.put(record)
        return record

    def put(self, record: Row) -> str:
        """Set the run in the hot map and plan its shard; the old-month shard is left alone."""
        self.hot.set_record(record)
        rel = shard_relpath(record)
        self.add_written_shard(rel, record)
        return rel

    def add_written_shard(self, rel: str, record: Row) -> None:
        self.written_shards[rel] = record
        self._written_by_name.setdefault(rel.rsplit("/", 1)[-1], {})[rel] = record


def apply_update_rules(row: Row, now_ms: int) -> None:
    """Steps 4–7 of spec 02 §2.10 (step 3 only concerns running rows, never the dispatcher)."""
    status = row["status"]
    if status != "queued":
        row["scheduler"] = None
    if status != "running":
        row["execution_claim"] = None
    row["updated_at_ms"] = now_ms
    if status in TERMINAL_STATUSES and row.get("finished_at_ms") is None:
        row["finished_at_ms"] = now_ms


def _history_preferred(hot: Row, history: Row) -> bool:
    hot_cp, hist_cp = hot.get("checkpoint", {}), history.get("checkpoint", {})
    gate = hist_cp.get("awaiting_gate")
    if (isinstance(gate, dict) and hot["status"] not in TERMINAL_STATUSES and hot_cp.get("awaiting_gate") is None
            and not _gate_settled(hot_cp, gate)):
        return True
    return (
        len(hist_cp.get("node_outputs", {})) > len(hot_cp.get("node_outputs", {}))
        or (hot.get("runtime_context") is None and history.get("runtime_context") is not None)
        or (hot.get("automation_snapshot") is None and history.get("automation_snapshot") is not None)
    )


def _gate_settled(checkpoint: Row, gate: Row) -> bool:
    """A decision recorded for the gate's node at or after the gate was requested."""
    return any(
        decision.get("node_id") == gate["node_id"] and decision.get("decided_at_ms", 0) >= gate["requested_at_ms"]
        for decision in checkpoint.get("gate_history", [])
    )
