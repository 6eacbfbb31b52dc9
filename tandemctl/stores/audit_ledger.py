"""The protected audit ledger `audit/protected_events.log.jsonl`: the dispatcher's event, the
hash chain, the tail the next append links to, and verification (spec 02 §5).

Mirrors `tandem-server/src/audit.rs` and `append_internal_sweep_protected_audit_event`.
"""

from pathlib import Path

import orjson

from tandemctl.engine.audit_chain import (
    U64_MAX,
    AuditTail,
    AuditVerification,
    AuditViolation,
    _first_violation,
    _parsed,
    _seq_of,
)
from tandemctl.engine.rows import Row
from tandemctl.fs import reads


def read_audit_tail(path: Path) -> AuditTail:
    """Seed like the server: the highest `seq` wins (a later line on ties); bad lines are skipped."""
    data, _ = reads.read_bytes(path)
    tail = AuditTail(path=path)
    if not data:
        return tail
    lines = data.split(b"\n")
    tail.partial_line = lines[-1]  # the bytes after the last newline (normally empty)
    for record in _parsed(lines):
        if isinstance(record.get("event_id"), str):
            tail.event_ids.add(record["event_id"])
        seq = record.get("seq")
        if type(seq) is int and tail.seq <= seq <= U64_MAX:  # a seq beyond u64 fails the engine's parse: skipped
            tail.seq = seq
            recorded = record.get("record_hash")
            tail.record_hash = recorded if isinstance(recorded, str) and recorded else None
    return tail


def verify_audit_ledger(path: Path) -> AuditVerification:
    """`verify_protected_audit_ledger`: records ordered by seq must run 1, 2, 3…, every record
    hash must match and every `prev_hash` must link to the previous hashed record. A line that
    is not a JSON object is itself the first violation."""
    data, _ = reads.read_bytes(path)
    records: list[tuple[int, Row]] = []
    unreadable: AuditViolation | None = None
    for number, line in enumerate((data or b"").split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            records.append((number, value))
        elif unreadable is None:
            unreadable = AuditViolation(line=number, reason="line is not a JSON object")
    violation = unreadable or _first_violation(sorted(records, key=lambda item: _seq_of(item[1])))
    return AuditVerification(valid=violation is None, record_count=len(records), first_violation=violation)
