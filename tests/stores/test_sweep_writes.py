"""What a sweep writes: each file once, in the server's order; dry runs and repeat sweeps write
nothing; `--max`; the audit chain across sweeps; the intent file is gone afterwards."""

from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine.audit_chain import DISPATCH_EVENT_TYPE, build_protected_event, event_line
from tandemctl.stores.audit_ledger import verify_audit_ledger
from tandemctl.stores.sweep_intent import intent_path
from tests.factories import write_json
from tests.stores.test_sweep import sweep
from tests.sweep_fixtures import NOW, TENANT_A, SweepDir, group_a_dead_letter, run_record

RUN_IDS = ["automation-v2-run-1", "automation-v2-run-2", "automation-v2-run-3"]


@pytest.fixture
def d(tmp_path: Path) -> SweepDir:
    return SweepDir(tmp_path / "state")


def busy_state(d: SweepDir) -> None:
    """Three failed runs (one shard-only), five dead letters: 3 dispatches, 1 resolve, 1 exhaust."""
    d.write_runs([run_record(RUN_IDS[0]), run_record(RUN_IDS[1])])
    d.write_shard(run_record(RUN_IDS[2]))
    marker = {"superseded_by_success": True, "superseded_by_effect_id": "effect-ok", "superseded_at_ms": 1500}
    d.write_dead_letters([
        group_a_dead_letter("dead-1", run_id=RUN_IDS[0], updated=1490),
        group_a_dead_letter("dead-2", run_id=RUN_IDS[1], updated=1480),
        group_a_dead_letter("dead-3", run_id=RUN_IDS[2], updated=1470),
        group_a_dead_letter("dead-ok", run_id=RUN_IDS[0], status="retrying", metadata=marker, updated=1465),
        group_a_dead_letter("dead-spent", run_id=RUN_IDS[1], status="retrying",
                            metadata={"retry_dispatch_count": 7}, updated=1464),
    ])


def test_each_file_is_written_once_in_server_order(d: SweepDir, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    busy_state(d)
    log = tmp_path / "fault.log"
    monkeypatch.setenv("TANDEMCTL_FAULT_LOG", str(log))
    outcome = sweep(d)
    assert outcome.acted == 5
    labels = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    renames = [label for label in labels if label.startswith(("rename", "append", "unlink"))]
    assert renames == [
        "rename tandemctl-sweep.intent.json",
        *[f"rename {run_id}.json" for run_id in RUN_IDS],
        "rename automation_v2_runs.json",
        "append protected_events.log.jsonl",
        "rename stateful_reliability.json",
        "append tandemctl-journal.jsonl",  # the sweep's journal line, before its intent goes
        "unlink tandemctl-sweep.intent.json",
    ]
    assert not intent_path(d.paths).exists()


def test_max_limits_dispatches_but_not_resolves_or_exhausts(d: SweepDir) -> None:
    busy_state(d)
    outcome = sweep(d, max_dispatches=2)
    assert [item.dead_letter_id for item in outcome.dispatched] == ["dead-1", "dead-2"]
    assert [(s.dead_letter_id, s.reason) for s in outcome.skipped] == [("dead-3", "max_reached")]
    assert (outcome.resolved, outcome.exhausted, outcome.acted) == (["dead-ok"], ["dead-spent"], 4)
    assert RUN_IDS[2] not in d.runs_file()["runs"]


def test_max_zero_dispatches_nothing(d: SweepDir) -> None:
    busy_state(d)
    outcome = sweep(d, max_dispatches=0)
    assert outcome.dispatched == []
    assert len(outcome.skipped) == 3
    assert d.audit() == []


def test_dry_run_plans_everything_and_writes_nothing(d: SweepDir) -> None:
    busy_state(d)
    before = d.files()
    planned = sweep(d, dry_run=True)
    assert d.files() == before
    assert not any(name.endswith(".tandemctl.lock") for name in (p.name for p in d.root.rglob("*")))
    done = sweep(d)
    assert planned.dry_run and not done.dry_run
    assert planned.model_dump(exclude={"dry_run"}) == done.model_dump(exclude={"dry_run"})


def test_a_second_sweep_at_the_same_clock_dispatches_nothing(d: SweepDir) -> None:
    busy_state(d)
    sweep(d)
    after_first = d.files()
    second = sweep(d)
    assert (second.acted, second.dispatched, second.resolved, second.exhausted) == (0, [], [], [])
    assert {s.reason for s in second.skipped} == {"run_not_recoverable:queued"}
    assert d.files() == after_first


def fail_again(d: SweepDir, run_id: str) -> None:
    """What the engine does when the re-driven effect fails once more."""
    top = d.runs_file()
    run = top["runs"][run_id]
    run["status"] = "failed"
    run["checkpoint"]["blocked_nodes"] = ["review"]
    run["checkpoint"]["pending_nodes"] = []
    write_json(d.paths.runs_file, top)


def test_audit_chain_verifies_after_several_sweeps(d: SweepDir) -> None:
    d.paths.audit_file.parent.mkdir(parents=True)
    prev = None
    with d.paths.audit_file.open("wb") as handle:
        for seq in (1, 2):
            event = build_protected_event(event_id=f"existing-{seq}", event_type="automation_v2.x", tenant=TENANT_A,
                                          actor="someone", payload={"b": 1, "a": [seq]}, created_at_ms=seq,
                                          seq=seq, prev_hash=prev)
            prev = event["record_hash"]
            handle.write(event_line(event))
    d.write_runs([run_record()])
    d.write_dead_letters([group_a_dead_letter()])
    now = NOW
    counts = []
    for _ in range(6):
        outcome = sweep(d, now=now)
        counts.append((len(outcome.dispatched), len(outcome.exhausted)))
        fail_again(d, run_record()["run_id"])
        now += 400_000
    assert counts == [(1, 0)] * 5 + [(0, 1)]
    lines = d.audit()
    assert [line["seq"] for line in lines] == [1, 2, 3, 4, 5, 6, 7]
    assert lines[2]["prev_hash"] == prev
    assert all(line["event_type"] == DISPATCH_EVENT_TYPE for line in lines[2:])
    result = verify_audit_ledger(d.paths.audit_file)
    assert (result.valid, result.record_count, result.first_violation) == (True, 7, None)
    row = d.dead_letters()["dead-review-effect"]
    assert (row["status"], row["metadata"]["retry_dispatch_count"]) == ("ignored", 5)


def test_backoff_gate_uses_the_count_not_the_stored_backoff(d: SweepDir) -> None:
    meta: dict[str, Any] = {"retry_dispatch_count": 3, "retry_dispatched_at_ms": NOW - 8000, "retry_backoff_ms": 1}
    d.write_runs([run_record()])
    d.write_dead_letters([group_a_dead_letter(status="retrying", metadata=meta)])
    assert sweep(d, now=NOW - 1, dry_run=True).skipped[0].reason == "backoff"
    outcome = sweep(d)
    assert outcome.dispatched[0].retry_dispatch_count == 4
    assert outcome.dispatched[0].next_eligible_at_ms == NOW + 16_000
    assert d.dead_letters()["dead-review-effect"]["metadata"]["retry_backoff_ms"] == 16_000
