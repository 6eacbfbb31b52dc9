"""The dispatcher scenarios of spec 02 §7.A (1–7) = spec 01 §14 (26–32), end to end on real files."""

from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine.sweep_plan import SweepOutcome
from tandemctl.stores.audit_ledger import verify_audit_ledger
from tandemctl.stores.json_sweep import run_sweep
from tests.sweep_fixtures import NOW, RUN_ID, TENANT_B, SweepDir, group_a_dead_letter, run_record

DETAIL = ("dead letter `dead-review-effect` retry dispatched; "
          "re-executing failed effect through the governed path")


def sweep(d: SweepDir, now: int = NOW, **options: Any) -> SweepOutcome:
    options.setdefault("dry_run", False)
    options.setdefault("max_dispatches", None)
    options.setdefault("tenant", None)
    return run_sweep(d.paths, now_ms=now, lock_timeout=2.0, **options)


@pytest.fixture
def d(tmp_path: Path) -> SweepDir:
    return SweepDir(tmp_path / "state")


def setup(d: SweepDir, run: dict[str, Any] | None = None, **dl: Any) -> None:
    d.write_runs([run or run_record()])
    d.write_dead_letters([group_a_dead_letter(**dl)])


def test_a1_26_retry_requested_dead_letter_requeues_owning_run(d: SweepDir) -> None:
    setup(d)
    outcome = sweep(d)
    assert outcome.acted == 1
    run = d.run()
    assert run["status"] == "queued"
    assert run["resume_reason"] == "stateful_dead_letter_retry_dispatched"
    assert run["detail"] == DETAIL
    assert "review" not in run["checkpoint"]["blocked_nodes"]
    assert run["checkpoint"]["pending_nodes"] == ["approval", "review"]
    assert run["checkpoint"]["blocked_nodes"] == ["approval"]
    assert run["updated_at_ms"] == NOW
    row = d.dead_letters()["dead-review-effect"]
    assert row["status"] == "retrying"
    assert row["attempts"] == 2
    assert row["updated_at_ms"] == NOW
    assert row["metadata"] == {"retry_backoff_ms": 2000, "retry_dispatch_count": 1, "retry_dispatched_at_ms": NOW}
    assert "operator_disposition" not in row
    assert outcome.model_dump() == {
        "acted": 1, "resolved": [], "exhausted": [], "skipped": [], "runs_requeued": [RUN_ID], "dry_run": False,
        "dispatched": [{"dead_letter_id": "dead-review-effect", "run_id": RUN_ID, "reset_nodes": ["approval", "review"],
                        "retry_dispatch_count": 1, "next_eligible_at_ms": NOW + 2000}],
    }


def test_a1_requeue_records_lifecycle_event_and_protected_audit_event(d: SweepDir) -> None:
    setup(d)
    sweep(d)
    events = d.run()["checkpoint"]["lifecycle_history"]
    assert events == [{
        "event": "stateful_dead_letter_retry_requeued", "recorded_at_ms": NOW, "reason": DETAIL,
        "metadata": {"attempts": 2, "dead_letter_id": "dead-review-effect", "effective_execution_profile": "strict",
                     "source_id": "effect-review-effect"},
    }]
    [line] = d.audit()
    assert list(line) == ["event_id", "durability", "event_type", "tenant_context", "actor", "payload",
                          "created_at_ms", "seq", "prev_hash", "record_hash"]
    assert line["event_type"] == "automation_v2.internal_sweep.stateful_dead_letter_retry_dispatched"
    assert line["actor"] == "tandem-server:internal-sweep"
    assert line["tenant_context"] == {"org_id": "org-hardening-a", "workspace_id": "workspace-a",
                                      "actor_id": "user-a", "source": "explicit"}
    assert (line["seq"], line["prev_hash"], line["created_at_ms"]) == (1, None, NOW)
    payload = line["payload"]
    assert list(payload) == sorted(payload)
    assert payload["status"] == "queued"
    assert payload["stop_kind"] is None
    assert payload["outcome"] == "requeued_for_dead_letter_retry"
    assert payload["sweep"] == "dispatch_ready_stateful_dead_letter_retries"
    assert payload["metadata"] == {"attempts": 2, "dead_letter_id": "dead-review-effect",
                                   "source_id": "effect-review-effect"}
    assert payload["run_id"] == payload["runID"] == RUN_ID
    assert payload["automation_id"] == payload["automationID"] == "automation-dead-letter"
    assert verify_audit_ledger(d.paths.audit_file).valid


def test_worked_example_clears_failure_fields(d: SweepDir) -> None:
    run = run_record(finished_at_ms=1900, stop_reason="tool error", stop_kind="operator_stopped",
                     pause_reason="x", latest_session_id="s-1", active_session_ids=["s-1"],
                     execution_claim={"claim_id": "c", "claimant_id": "x", "claimed_at_ms": 1, "lease_expires_at_ms": 2,
                                      "lease_epoch": 1},
                     execution_claim_epoch=1)
    cp = run["checkpoint"]
    cp["node_outputs"]["review"] = {"status": "failed"}
    cp["node_attempts"]["review"] = 3
    cp["last_failure"] = {"node_id": "review", "reason": "timeout", "failed_at_ms": 1999}
    setup(d, run)
    sweep(d)
    after = d.run()
    for gone in ("finished_at_ms", "stop_reason", "stop_kind", "pause_reason", "latest_session_id", "execution_claim"):
        assert gone not in after
    assert after["active_session_ids"] == []
    assert after["execution_claim_epoch"] == 1
    assert after["started_at_ms"] == 1050
    assert "last_failure" not in after["checkpoint"]
    assert after["checkpoint"]["node_outputs"] == {"draft": {"status": "completed"}}
    assert after["checkpoint"]["node_attempts"] == {"draft": 1}


def test_a2_27_foreign_tenant_dead_letter_does_not_requeue_run(d: SweepDir) -> None:
    setup(d, tenant_context=TENANT_B)
    before = d.files()
    outcome = sweep(d)
    assert outcome.acted == 0
    assert d.run()["status"] == "failed"
    assert [(s.dead_letter_id, s.reason) for s in outcome.skipped] == [("dead-review-effect", "tenant_mismatch")]
    assert d.files() == before


def test_a3_28_dead_letter_retry_honors_backoff_before_redispatch(d: SweepDir) -> None:
    setup(d, status="retrying", metadata={"retry_dispatched_at_ms": 9_000_000_000_000, "retry_backoff_ms": 4000})
    before = d.files()
    outcome = sweep(d)
    assert outcome.acted == 0
    assert d.run()["status"] == "failed"
    assert outcome.skipped[0].reason == "backoff"
    assert d.files() == before


def test_a4_29_superseded_dead_letter_resolves_after_successful_replay(d: SweepDir) -> None:
    marker = {"superseded_by_success": True, "superseded_by_effect_id": "effect-success", "superseded_at_ms": 1500}
    setup(d, status="retrying", metadata=marker)
    runs_before = d.paths.runs_file.read_bytes()
    outcome = sweep(d)
    assert outcome.acted == 1
    assert outcome.resolved == ["dead-review-effect"]
    row = d.dead_letters()["dead-review-effect"]
    assert row["status"] == "resolved"
    assert row["operator_disposition"] == "retry_succeeded"
    assert row["disposition_reason"] == "dead letter superseded by a successful effect replay"
    assert row["disposition_actor"] == {"kind": "human_user", "id": "tandem-server:dead-letter-dispatcher"}
    assert row["disposition_at_ms"] == row["updated_at_ms"] == NOW
    assert row["metadata"] == marker
    assert d.paths.runs_file.read_bytes() == runs_before
    assert d.run()["status"] == "failed"
    assert d.audit() == []


def test_a5_30_exhausted_dead_letter_is_parked_for_operator_review(d: SweepDir) -> None:
    setup(d, status="retrying", metadata={"retry_dispatch_count": 5})
    runs_before = d.paths.runs_file.read_bytes()
    outcome = sweep(d)
    assert outcome.acted == 1
    assert outcome.exhausted == ["dead-review-effect"]
    row = d.dead_letters()["dead-review-effect"]
    assert (row["status"], row["operator_disposition"]) == ("ignored", "retry_exhausted")
    assert row["disposition_reason"] == ("automatic retries exhausted after 5 dispatch attempts; "
                                         "parked for operator review")
    assert row["disposition_actor"]["id"] == "tandem-server:dead-letter-dispatcher"
    assert d.paths.runs_file.read_bytes() == runs_before
    assert d.audit() == []


def test_a6_31_dead_letter_retry_skips_non_recoverable_run(d: SweepDir) -> None:
    setup(d, run_record(status="running"))
    before = d.files()
    outcome = sweep(d)
    assert outcome.acted == 0
    assert d.run()["status"] == "running"
    assert d.dead_letters()["dead-review-effect"]["status"] == "retry_requested"
    assert outcome.skipped[0].reason == "run_not_recoverable:running"
    assert d.files() == before


def test_a7_32_dead_letter_born_on_high_node_attempt_still_retries(d: SweepDir) -> None:
    setup(d, attempts=5)
    outcome = sweep(d)
    assert outcome.acted == 1
    assert d.run()["status"] == "queued"
    row = d.dead_letters()["dead-review-effect"]
    assert row["status"] == "retrying"
    assert row["attempts"] == 5
    assert row["metadata"]["retry_dispatch_count"] == 1
    assert d.run()["checkpoint"]["lifecycle_history"][-1]["metadata"]["attempts"] == 5


def test_blocked_run_is_recoverable_like_failed(d: SweepDir) -> None:
    setup(d, run_record(status="blocked"))
    assert sweep(d).acted == 1
    assert d.run()["status"] == "queued"


@pytest.mark.parametrize(("status", "options", "source_type"), [
    ("open", ("retry", "compensate"), "tool_effect"),
    ("ignored", ("retry",), "tool_effect"),
    ("retry_requested", ("ignore", "compensate"), "tool_effect"),
    ("retry_requested", ("retry",), "stateful_wait"),
])
def test_non_candidates_are_not_considered(d: SweepDir, status: str, options: tuple[str, ...],
                                           source_type: str) -> None:
    from tests.factories import dead_letter
    d.write_runs([run_record()])
    d.write_dead_letters([dead_letter("dead-x", status=status, options=options, source_type=source_type,
                                      run_id=RUN_ID, tenant_context=run_record()["tenant_context"])])
    before = d.files()
    outcome = sweep(d)
    assert (outcome.acted, outcome.skipped) == (0, [])
    assert d.files() == before


def test_missing_run_id_and_missing_run_are_reported(d: SweepDir) -> None:
    d.write_runs([run_record()])
    d.write_dead_letters([group_a_dead_letter("dead-a", run_id=None),
                          group_a_dead_letter("dead-b", run_id="automation-v2-run-gone")])
    outcome = sweep(d)
    assert {(s.dead_letter_id, s.reason) for s in outcome.skipped} == {("dead-a", "no_run_id"),
                                                                      ("dead-b", "run_not_found")}


def test_empty_or_missing_stores_do_nothing(d: SweepDir) -> None:
    assert sweep(d).model_dump()["acted"] == 0
    assert d.files() == {}
