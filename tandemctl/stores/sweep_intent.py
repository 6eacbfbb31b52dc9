"""The sweep's redo intent, `<runtime dir>/tandemctl-sweep.intent.json`: the complete planned
result, written before the first state write and removed after the last one. A sweep that
finds one rolls it forward first, idempotently, so a kill at any point converges.
"""

import re
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from tandemctl.engine import jsonio
from tandemctl.engine.audit_chain import build_protected_event
from tandemctl.engine.dispatcher import DeadLetterChange
from tandemctl.engine.rows import Row
from tandemctl.engine.sweep_plan import RunChange, SweepChanges, SweepState
from tandemctl.errors import CorruptStateError
from tandemctl.fs import atomic, reads
from tandemctl.stores.paths import StatePaths

INTENT_FILE: Final = "tandemctl-sweep.intent.json"
INTENT_VERSION: Final = 1
# What `runs.shard_relpath` produces: an intent naming anything else was not written by tandemctl.
_SHARD_PATH: Final = re.compile(r"\d{4,}/\d{2}/[A-Za-z0-9_-]*\.json")


class _RunEntry(BaseModel):
    run_id: str
    map_key: str
    prior: dict[str, Any] | None
    record: dict[str, Any]
    shard: str


class _AuditEntry(BaseModel):
    run_id: str
    event: dict[str, Any]


class _DeadLetterEntry(BaseModel):
    dead_letter_id: str
    prior: dict[str, Any]
    target: dict[str, Any]


class _Intent(BaseModel):
    tandemctl_sweep_intent: int
    now_ms: int
    runs: list[_RunEntry]
    audit: list[_AuditEntry]
    dead_letters: list[_DeadLetterEntry]


def intent_path(paths: StatePaths) -> Path:
    return paths.runtime_dir / INTENT_FILE


def write_intent(paths: StatePaths, changes: SweepChanges, now_ms: int) -> None:
    document = {
        "tandemctl_sweep_intent": INTENT_VERSION,
        "now_ms": now_ms,
        "runs": [{"run_id": c.run_id, "map_key": c.map_key, "prior": c.prior, "record": c.record, "shard": c.shard}
                 for c in changes.runs.values()],
        "audit": [{"run_id": event["payload"]["run_id"], "event": event} for event in changes.audit],
        "dead_letters": [{"dead_letter_id": c.dead_letter_id, "prior": c.prior, "target": c.target}
                         for c in changes.dead_letters],
    }
    atomic.write_atomic(intent_path(paths), jsonio.dumps_pretty(document))


def read_intent(paths: StatePaths) -> SweepChanges | None:
    path = intent_path(paths)
    data, _ = reads.read_bytes(path)
    if data is None:
        return None
    try:
        intent = _Intent.model_validate(jsonio.parse_strict(data, path))
    except (CorruptStateError, ValidationError):
        intent = None
    if intent is not None and not all(_SHARD_PATH.fullmatch(entry.shard) for entry in intent.runs):
        intent = None  # a shard path outside YYYY/MM/<sanitized id>.json: never write there
    if intent is None or intent.tandemctl_sweep_intent != INTENT_VERSION:
        raise CorruptStateError(
            f"{path}: unreadable sweep intent left by an interrupted tandemctl sweep; it cannot be rolled "
            "forward. Check the runs, audit and dead-letter files, then remove it to continue"
        )
    return SweepChanges(
        runs={e.run_id: RunChange(e.run_id, e.map_key, e.prior, e.record, e.shard) for e in intent.runs},
        audit=[e.event for e in intent.audit],
        dead_letters=[DeadLetterChange(e.dead_letter_id, e.prior, e.target) for e in intent.dead_letters],
    )


def remove_intent(paths: StatePaths) -> None:
    atomic.unlink_durable(intent_path(paths), "sweep intent")


def roll_forward(state: SweepState, intent: SweepChanges) -> SweepChanges:
    """Re-apply an interrupted sweep to `state` in memory; returns what still has to be written.

    A run is set only while its hot entry is still the prior one (or already the target); its
    audit line and its dead letters' dispatch marks are applied only then; an audit line only if
    its event id is not in the ledger yet, re-linked to the current tail if the ledger moved on.
    A dead letter changes only from its prior state.
    """
    todo = SweepChanges()
    hot = state.runs.hot
    for change in intent.runs.values():
        current = hot.entries.get(change.map_key)
        if current != change.record and current != change.prior:
            continue  # someone else moved this run on since; leave it alone
        if current != change.record:
            hot.set_record(change.record)
        state.runs.add_written_shard(change.shard, change.record)
        todo.runs[change.run_id] = change
    tail = state.audit
    for event in intent.audit:
        if event["payload"]["run_id"] not in todo.runs or event["event_id"] in tail.event_ids:
            continue
        if event["seq"] != tail.seq + 1 or event.get("prev_hash") != tail.record_hash:
            event = _relinked(event, tail.next_seq(), tail.record_hash)
        tail.advance(event)
        todo.audit.append(event)
    # A dispatch mark belongs with its run's requeue: never one without the other.
    wanted = [change for change in intent.dead_letters
              if change.target.get("status") != "retrying" or change.target.get("run_id") in todo.runs]
    todo.dead_letters = apply_dead_letter_changes(state.dead_letters.rows, wanted)
    return todo


def _relinked(event: Row, seq: int, prev_hash: str | None) -> Row:
    return build_protected_event(
        event_id=event["event_id"], event_type=event["event_type"], tenant=event["tenant_context"],
        actor=event.get("actor"), payload=event["payload"], created_at_ms=event["created_at_ms"],
        seq=seq, prev_hash=prev_hash,
    )


def apply_dead_letter_changes(rows: list[Row], changes: list[DeadLetterChange]) -> list[DeadLetterChange]:
    """Apply each change whose row is still in its prior state; the applied ones are returned."""
    positions: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        positions.setdefault(row.get("dead_letter_id", ""), []).append(index)
    applied = []
    for change in changes:
        matching = positions.get(change.dead_letter_id, [])
        if any(rows[i] == change.target for i in matching):
            continue
        prior_at = next((i for i in matching if rows[i] == change.prior), None)
        if prior_at is not None:
            rows[prior_at] = change.target
            applied.append(change)
    return applied
