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
from tandemctl.engine.rows import Row, RowChange, apply_changes_to_rows
from tandemctl.engine.run_store import shard_relpath
from tandemctl.engine.sweep_plan import RUNS, SweepChanges, SweepState
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
    journal: dict[str, Any] | None = None  # the sweep's journal entry, appended once by operation id


def intent_path(paths: StatePaths) -> Path:
    return paths.runtime_dir / INTENT_FILE


def hot_key(state: SweepState, run_id: str) -> str:
    """The run's key in the hot file's map (the engine keys runs by their own id)."""
    return state.runs.hot.index.get(run_id, run_id)


def write_intent(paths: StatePaths, state: SweepState, changes: SweepChanges, now_ms: int,
                 journal: Row | None = None) -> None:
    document: dict[str, Any] = {
        "tandemctl_sweep_intent": INTENT_VERSION,
        "now_ms": now_ms,
        "runs": [{"run_id": c.key, "map_key": hot_key(state, c.key), "prior": c.before, "record": c.after,
                  "shard": shard_relpath(c.after)} for c in changes.runs.values() if c.after is not None],
        "audit": [{"run_id": event["payload"]["run_id"], "event": event} for event in changes.audit],
        "dead_letters": [{"dead_letter_id": c.key, "prior": c.before, "target": c.after}
                         for c in changes.dead_letters],
    }
    if journal is not None:
        document["journal"] = journal
    atomic.write_atomic(intent_path(paths), jsonio.dumps_pretty(document))


def read_intent(paths: StatePaths) -> SweepChanges | None:
    intent = _load_intent(paths)
    if intent is None:
        return None
    return SweepChanges(
        runs={e.run_id: RowChange(RUNS, e.run_id, e.prior, e.record) for e in intent.runs},
        audit=[e.event for e in intent.audit],
        dead_letters=[RowChange("dead_letters", e.dead_letter_id, e.prior, e.target) for e in intent.dead_letters],
    )


def read_intent_journal(paths: StatePaths) -> Row | None:
    """The journal entry an interrupted sweep meant to append (None for intents written before it had one)."""
    intent = _load_intent(paths)
    journal = None if intent is None else intent.journal
    if journal is None or not isinstance(journal.get("operation_id"), str) or not isinstance(journal.get("rows"), list):
        return None
    return journal


def _load_intent(paths: StatePaths) -> "_Intent | None":
    path = intent_path(paths)
    data, _ = reads.read_bytes(path)
    if data is None:
        return None
    try:
        intent = _Intent.model_validate(jsonio.parse_strict(data, path))
    except (CorruptStateError, ValidationError):
        intent = None
    if intent is not None and not all(_SHARD_PATH.fullmatch(entry.shard) and entry.shard == _shard_of(entry.record)
                                      for entry in intent.runs):
        intent = None  # a shard path that is not the record's own YYYY/MM/<sanitized id>.json: never write there
    if intent is None or intent.tandemctl_sweep_intent != INTENT_VERSION:
        raise CorruptStateError(
            f"{path}: unreadable sweep intent left by an interrupted tandemctl sweep; it cannot be rolled "
            "forward. Check the runs, audit and dead-letter files, then remove it to continue"
        )
    return intent


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
        record = change.after
        assert record is not None  # a requeue never removes a run
        current = hot.entries.get(hot_key(state, change.key))
        if current != record and current != change.before:
            continue  # someone else moved this run on since; leave it alone
        if current != record:
            hot.set_record(record)
        state.runs.add_written_shard(shard_relpath(record), record)
        todo.runs[change.key] = change
    tail = state.audit
    for event in intent.audit:
        if event["payload"]["run_id"] not in todo.runs or event["event_id"] in tail.event_ids:
            continue
        if event["seq"] != tail.seq + 1 or event.get("prev_hash") != tail.record_hash:
            event = _relinked(event, tail.next_seq(), tail.record_hash)
        tail.advance(event)
        todo.audit.append(event)
    # A dispatch mark belongs with its run's requeue: never one without the other.
    wanted = [change for change in intent.dead_letters if change.after is not None and (
        change.after.get("status") != "retrying" or change.after.get("run_id") in todo.runs)]
    todo.dead_letters, _ = apply_changes_to_rows(state.dead_letters.rows, "dead_letter_id", wanted)
    return todo


def _shard_of(record: Row) -> str | None:
    try:
        return shard_relpath(record)
    except (KeyError, TypeError, CorruptStateError):
        return None


def _relinked(event: Row, seq: int, prev_hash: str | None) -> Row:
    return build_protected_event(
        event_id=event["event_id"], event_type=event["event_type"], tenant=event["tenant_context"],
        actor=event.get("actor"), payload=event["payload"], created_at_ms=event["created_at_ms"],
        seq=seq, prev_hash=prev_hash,
    )
