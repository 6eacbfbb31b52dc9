"""The protected audit ledger's rules: the dispatcher's event, the hash chain, the tail the next append
links to, and verification over its lines (spec 02 §5). Mirrors `tandem-server/src/audit.rs`."""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pydantic import BaseModel

from tandemctl.engine import jsonio
from tandemctl.engine.rows import Row
from tandemctl.engine.run_records import tenant_struct
from tandemctl.errors import CorruptStateError

DISPATCH_EVENT_TYPE: Final = "automation_v2.internal_sweep.stateful_dead_letter_retry_dispatched"
INTERNAL_SWEEP_ACTOR: Final = "tandem-server:internal-sweep"
DURABLE_REQUIRED: Final = "durable_required"
SWEEP_NAME: Final = "dispatch_ready_stateful_dead_letter_retries"
DISPATCH_OUTCOME: Final = "requeued_for_dead_letter_retry"
U64_MAX: Final = 2**64 - 1


def dead_letter_retry_payload(run: Row, dead_letter: Row, detail: str) -> Row:
    """The event payload: a serde_json Value, so every level is written with sorted keys."""
    tenant = tenant_struct(run.get("tenant_context"))
    payload = {
        "source": "automation_v2_internal_sweep",
        "sweep": SWEEP_NAME,
        "actor": {"type": "system", "id": "tandem-server", "component": "automation_v2_sweeper"},
        "run_id": run["run_id"],
        "runID": run["run_id"],
        "automation_id": run["automation_id"],
        "automationID": run["automation_id"],
        "status": run["status"],
        "stop_kind": run.get("stop_kind"),
        "reason": detail,
        "tenantContext": tenant,
        "outcome": DISPATCH_OUTCOME,
        "metadata": dead_letter_event_metadata(dead_letter),
    }
    return jsonio.sort_keys_deep(payload)  # type: ignore[no-any-return]


def dead_letter_event_metadata(dead_letter: Row) -> Row:
    return {
        "dead_letter_id": dead_letter["dead_letter_id"],
        "source_id": dead_letter["source_id"],
        "attempts": dead_letter.get("attempts", 0),
    }


def build_protected_event(*, event_id: str, event_type: str, tenant: Row | None, actor: str | None,
                          payload: Row, created_at_ms: int, seq: int, prev_hash: str | None) -> Row:
    """A `ProtectedAuditEnvelope` in write order, with its `record_hash`."""
    envelope: Row = {
        "event_id": event_id,
        "durability": DURABLE_REQUIRED,
        "event_type": event_type,
        "tenant_context": tenant_struct(tenant),
        "actor": actor,
        "payload": jsonio.sort_keys_deep(payload),
        "created_at_ms": created_at_ms,
        "seq": seq,
        "prev_hash": prev_hash,
    }
    if actor is None:
        del envelope["actor"]
    envelope["record_hash"] = compute_record_hash(envelope)
    return envelope


def compute_record_hash(envelope: Row) -> str:
    """SHA-256 (plain hex) of the hash input, whose keys are in exactly this order."""
    tenant = envelope["tenant_context"]
    hash_input = {
        "event_id": envelope["event_id"],
        "durability_str": envelope.get("durability", DURABLE_REQUIRED),
        "event_type": envelope["event_type"],
        "tenant_org_id": tenant["org_id"],
        "tenant_workspace_id": tenant["workspace_id"],
        "tenant_deployment_id": tenant.get("deployment_id"),
        "tenant_actor_id": tenant.get("actor_id"),
        "tenant_source": tenant.get("source", "local_implicit"),
        "actor": envelope.get("actor"),
        "payload": jsonio.sort_keys_deep(envelope.get("payload")),
        "created_at_ms": envelope["created_at_ms"],
        "seq": envelope["seq"],
        "prev_hash": envelope.get("prev_hash"),
    }
    return hashlib.sha256(jsonio.dumps_compact(hash_input)).hexdigest()


def event_line(envelope: Row) -> bytes:
    return jsonio.dumps_compact(envelope) + b"\n"


@dataclass
class AuditTail:
    """What the next append links to, plus the event ids already present."""

    seq: int = 0
    record_hash: str | None = None
    event_ids: set[str] = field(default_factory=set)
    partial_line: bytes = b""
    path: Path | None = None

    def next_seq(self) -> int:
        """The seq of the next record; refused when the ledger already holds the largest u64."""
        if self.seq >= U64_MAX:
            raise CorruptStateError(
                f"{self.path}: the last record's seq is {self.seq}, the largest a ledger can hold; no audit "
                "record can follow it, and the sweep does not dispatch without one"
            )
        return self.seq + 1

    def advance(self, envelope: Row) -> None:
        self.seq = envelope["seq"]
        self.record_hash = envelope.get("record_hash") or None
        self.event_ids.add(envelope["event_id"])


class AuditViolation(BaseModel):
    line: int
    reason: str


class AuditVerification(BaseModel):
    valid: bool
    record_count: int
    first_violation: AuditViolation | None = None


def _seq_of(record: Row) -> int:
    seq = record.get("seq")
    return seq if type(seq) is int else 0


def _first_violation(records: list[tuple[int, Row]]) -> AuditViolation | None:
    expected = 1
    previous_hash: str | None = None
    for number, record in records:
        seq = _seq_of(record)
        if seq != 0:
            if seq != expected:
                kind = "replay" if seq < expected else "gap"
                return AuditViolation(line=number, reason=f"seq {seq} where {expected} was expected ({kind})")
            expected += 1
        recorded = record.get("record_hash")
        if not isinstance(recorded, str) or not recorded:
            continue
        try:
            actual = compute_record_hash(record)
        except (KeyError, TypeError):
            return AuditViolation(line=number, reason="record lacks a field the hash covers")
        if actual != recorded:
            return AuditViolation(line=number, reason="record_hash does not match the record's contents")
        if record.get("prev_hash") != previous_hash:
            return AuditViolation(line=number, reason="prev_hash does not link to the previous record's hash")
        previous_hash = recorded
    return None


def audit_tail_from(data: bytes | None, path: Path | None) -> AuditTail:
    """Seed like the server: the highest `seq` wins (a later line on ties); bad lines are skipped."""
    tail = AuditTail(path=path)
    if not data:
        return tail
    tail.partial_line = data.rsplit(b"\n", 1)[-1]  # the bytes after the last newline (normally empty)
    for _, record in jsonio.json_objects(data):
        if record is None:
            continue
        if isinstance(record.get("event_id"), str):
            tail.event_ids.add(record["event_id"])
        seq = record.get("seq")
        if type(seq) is int and tail.seq <= seq <= U64_MAX:  # a seq beyond u64 fails the engine's parse: skipped
            tail.seq = seq
            recorded = record.get("record_hash")
            tail.record_hash = recorded if isinstance(recorded, str) and recorded else None
    return tail


def verify_audit_lines(data: bytes) -> AuditVerification:
    """`verify_protected_audit_ledger`: records ordered by seq must run 1, 2, 3…, every record
    hash must match and every `prev_hash` must link to the previous hashed record. A line that
    is not a JSON object is itself the first violation."""
    records: list[tuple[int, Row]] = []
    unreadable: AuditViolation | None = None
    for number, value in jsonio.json_objects(data):
        if value is not None:
            records.append((number, value))
        elif unreadable is None:
            unreadable = AuditViolation(line=number, reason="line is not a JSON object")
    violation = unreadable or _first_violation(sorted(records, key=lambda item: _seq_of(item[1])))
    return AuditVerification(valid=violation is None, record_count=len(records), first_violation=violation)
