"""Rolling an interrupted sweep's intent forward: idempotent, guarded, re-linked to the ledger."""

from pathlib import Path

import pytest

from tandemctl.engine.audit_chain import build_protected_event, event_line
from tandemctl.engine.sweep_plan import plan_sweep
from tandemctl.errors import CorruptStateError
from tandemctl.stores.audit_ledger import verify_audit_ledger
from tandemctl.stores.json_sweep import load_sweep_state
from tandemctl.stores.sweep_intent import intent_path, write_intent
from tests.factories import write_json
from tests.stores.test_sweep import sweep
from tests.sweep_fixtures import NOW, TENANT_A, SweepDir, group_a_dead_letter, run_record


@pytest.fixture
def d(tmp_path: Path) -> SweepDir:
    sweep_dir = SweepDir(tmp_path / "state")
    sweep_dir.write_runs([run_record()])
    sweep_dir.write_dead_letters([group_a_dead_letter()])
    return sweep_dir


def interrupted_before_any_write(d: SweepDir) -> bytes:
    """What a sweep killed right after writing its intent leaves; returns its audit line."""
    state = load_sweep_state(d.paths)
    _, changes = plan_sweep(state, now_ms=NOW, max_dispatches=None, tenant=None, new_event_id=lambda: "ev-planned")
    write_intent(d.paths, state, changes, NOW)
    return event_line(changes.audit[0])


def test_roll_forward_applies_the_planned_result_exactly(d: SweepDir) -> None:
    line = interrupted_before_any_write(d)
    outcome = sweep(d)
    assert outcome.acted == 0  # the interrupted sweep's work, not this one's
    assert d.paths.audit_file.read_bytes() == line
    assert d.run()["status"] == "queued"
    assert d.dead_letters()["dead-review-effect"]["status"] == "retrying"
    assert not intent_path(d.paths).exists()


def test_roll_forward_relinks_to_a_ledger_that_moved_on(d: SweepDir) -> None:
    interrupted_before_any_write(d)
    foreign = build_protected_event(event_id="foreign", event_type="x", tenant=TENANT_A, actor=None, payload={},
                                    created_at_ms=1, seq=1, prev_hash=None)
    d.paths.audit_file.parent.mkdir(parents=True)
    d.paths.audit_file.write_bytes(event_line(foreign))
    sweep(d)
    lines = d.audit()
    assert [(line["event_id"], line["seq"]) for line in lines] == [("foreign", 1), ("ev-planned", 2)]
    assert lines[1]["prev_hash"] == foreign["record_hash"]
    assert verify_audit_ledger(d.paths.audit_file).valid


def test_roll_forward_completes_a_torn_audit_line(d: SweepDir) -> None:
    line = interrupted_before_any_write(d)
    d.paths.audit_file.parent.mkdir(parents=True)
    d.paths.audit_file.write_bytes(line[:57])
    sweep(d)
    assert d.paths.audit_file.read_bytes() == line
    assert verify_audit_ledger(d.paths.audit_file).valid


def test_roll_forward_leaves_a_run_someone_else_moved_on(d: SweepDir) -> None:
    interrupted_before_any_write(d)
    d.write_runs([run_record(status="running")])
    outcome = sweep(d)
    assert d.run()["status"] == "running"
    assert d.audit() == []
    assert d.dead_letters()["dead-review-effect"]["status"] == "retry_requested"
    assert [s.reason for s in outcome.skipped] == ["run_not_recoverable:running"]


def test_roll_forward_skips_dead_letters_no_longer_in_their_prior_state(d: SweepDir) -> None:
    interrupted_before_any_write(d)
    d.write_dead_letters([group_a_dead_letter(status="ignored")])
    sweep(d)
    assert d.dead_letters()["dead-review-effect"]["status"] == "ignored"
    assert d.run()["status"] == "queued"


def test_dry_run_shows_the_state_after_the_pending_intent(d: SweepDir) -> None:
    interrupted_before_any_write(d)
    before = d.files()
    outcome = sweep(d, dry_run=True)
    assert d.files() == before
    assert (outcome.acted, [s.reason for s in outcome.skipped]) == (0, ["run_not_recoverable:queued"])


def test_unreadable_intent_stops_the_sweep(d: SweepDir) -> None:
    write_json(intent_path(d.paths), {"something": "else"})
    with pytest.raises(CorruptStateError, match="intent"):
        sweep(d)
    assert d.run() == run_record()
