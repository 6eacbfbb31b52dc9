"""The protected audit ledger: record hash, tail seeding, verification and tamper detection."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine.audit_chain import build_protected_event, event_line
from tandemctl.stores.audit_ledger import read_audit_tail, verify_audit_ledger
from tests.sweep_fixtures import TENANT_A


def chain(count: int, start_hash: str | None = None) -> list[dict[str, Any]]:
    events, prev = [], start_hash
    for seq in range(1, count + 1):
        event = build_protected_event(event_id=f"e-{seq}", event_type="automation_v2.test", tenant=TENANT_A,
                                      actor="tandem-server:internal-sweep", payload={"z": seq, "a": {"y": 1, "b": 2}},
                                      created_at_ms=1000 + seq, seq=seq, prev_hash=prev)
        prev = event["record_hash"]
        events.append(event)
    return events


def write(path: Path, events: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(event_line(event) for event in events))


def test_record_hash_input_order_matches_the_engine() -> None:
    [event] = chain(1)
    expected_input = (
        '{"event_id":"e-1","durability_str":"durable_required","event_type":"automation_v2.test",'
        '"tenant_org_id":"org-hardening-a","tenant_workspace_id":"workspace-a","tenant_deployment_id":null,'
        '"tenant_actor_id":"user-a","tenant_source":"explicit","actor":"tandem-server:internal-sweep",'
        '"payload":{"a":{"b":2,"y":1},"z":1},"created_at_ms":1001,"seq":1,"prev_hash":null}'
    )
    assert event["record_hash"] == hashlib.sha256(expected_input.encode()).hexdigest()
    assert list(event) == ["event_id", "durability", "event_type", "tenant_context", "actor", "payload",
                           "created_at_ms", "seq", "prev_hash", "record_hash"]
    assert event_line(event).endswith(b"}\n") and b" " not in event_line(event).replace(b"e-1", b"")


def test_e27_twenty_five_appends_build_a_verifiable_chain(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    write(path, chain(25))
    result = verify_audit_ledger(path)
    assert (result.valid, result.record_count, result.first_violation) == (True, 25, None)


def test_missing_ledger_is_valid_and_empty(tmp_path: Path) -> None:
    assert verify_audit_ledger(tmp_path / "none.jsonl").model_dump() == {
        "valid": True, "record_count": 0, "first_violation": None}


def tamper(events: list[dict[str, Any]], index: int, **changes: Any) -> list[dict[str, Any]]:
    changed = [dict(event) for event in events]
    changed[index].update(changes)
    return changed


@pytest.mark.parametrize(("edit", "line", "reason"), [
    (lambda ev: tamper(ev, 3, payload={"z": 999}), 4, "record_hash does not match"),
    (lambda ev: tamper(ev, 2, created_at_ms=1), 3, "record_hash does not match"),
    (lambda ev: ev[:2] + ev[3:], 3, "seq 4 where 3 was expected (gap)"),
    (lambda ev: [*ev, ev[-1]], 6, "seq 5 where 6 was expected (replay)"),
    (lambda ev: tamper(ev, 1, prev_hash="0" * 64), 2, "record_hash does not match"),
])
def test_tampering_is_reported_with_its_line(tmp_path: Path, edit: Any, line: int, reason: str) -> None:
    path = tmp_path / "ledger.jsonl"
    write(path, edit(chain(5)))
    result = verify_audit_ledger(path)
    assert not result.valid
    assert result.first_violation is not None
    assert result.first_violation.line == line
    assert reason in result.first_violation.reason


def test_rehashed_record_with_a_broken_link_is_caught(tmp_path: Path) -> None:
    events = chain(4)
    forged = build_protected_event(event_id="e-3", event_type="automation_v2.test", tenant=TENANT_A, actor="x",
                                   payload={}, created_at_ms=1, seq=3, prev_hash="f" * 64)
    path = tmp_path / "ledger.jsonl"
    write(path, [events[0], events[1], forged, events[3]])
    violation = verify_audit_ledger(path).first_violation
    assert violation is not None and violation.line == 3 and "prev_hash" in violation.reason


def test_a_garbled_line_is_a_violation(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    write(path, chain(3))
    data = path.read_bytes().split(b"\n")
    data[1] = data[1][:40]
    path.write_bytes(b"\n".join(data))
    result = verify_audit_ledger(path)
    assert result.first_violation is not None and result.first_violation.line == 2
    assert result.record_count == 2


def test_tail_is_the_highest_seq_with_later_lines_winning_ties(tmp_path: Path) -> None:
    events = chain(3)
    twin = {**events[2], "event_id": "twin", "record_hash": "later"}
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(event_line(events[2]) + event_line(events[0]) + b"not json\n" + event_line(twin)
                     + json.dumps(events[1]).encode())
    tail = read_audit_tail(path)
    assert (tail.seq, tail.record_hash) == (3, "later")
    assert tail.event_ids == {"e-1", "e-2", "e-3", "twin"}
    assert tail.partial_line == json.dumps(events[1]).encode()


def test_empty_tail_starts_the_chain(tmp_path: Path) -> None:
    tail = read_audit_tail(tmp_path / "missing.jsonl")
    assert (tail.seq, tail.record_hash, tail.event_ids) == (0, None, set())
