"""`dead-letters show`: the dispatcher's verdict for every decision of the sweep, the related records,
the journal and runtime events, the JSON contract and the screen at 80 and 120 columns."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.screens import check_screen
from tests.conftest import NOW_MS, Result, StateDir
from tests.sweep_fixtures import RUN_ID, TENANT_A, TENANT_B, definition, group_a_dead_letter, run_record
from tests.triage_state import STORE_KINDS, Triage, build_state, unchanged_by_reads

DL = "dead-review-effect"
Run = Callable[..., Result]


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)

TERMINAL = {"TTY_COMPATIBLE": "1"}  # render as on a terminal at COLUMNS


def show(tandemctl: Run, dl: str = DL) -> dict[str, Any]:
    result = tandemctl("--all-tenants", "-o", "json", "dead-letters", "show", dl)
    assert result.exit_code == 0, result.stderr
    return result.json()["data"]  # type: ignore[no-any-return]


def verdict(tandemctl: Run, kind: str, state: StateDir, triage: Triage) -> dict[str, Any]:
    build_state(kind, state.root, triage)
    return show(tandemctl)["dispatcher"]  # type: ignore[no-any-return]


def one(run: dict[str, Any] | None = None, **dl: Any) -> Triage:
    return Triage(dead_letters=[group_a_dead_letter(**dl)], runs=[run or run_record()])


# The sweep's decisions reachable from a state on disk; each with the sentence an operator reads.
CASES: list[tuple[str, Triage, str, bool, str, str]] = [
    ("dispatch", one(), "dispatch", True,
     f"the next sweep requeues run {RUN_ID} and marks this row retrying (dispatch 1 of 5)", "nothing:"),
    ("resolve", one(metadata={"superseded_by_success": True, "superseded_by_effect_id": "e2",
                              "superseded_at_ms": 1500}),
     "resolve", True, "a later replay of the effect succeeded", "nothing: the next sweep settles it"),
    ("exhaust", one(status="retrying", metadata={"retry_dispatch_count": 5, "retry_dispatched_at_ms": 1500}),
     "exhaust", True, "all 5 dispatches are used", "grants a fresh budget"),
    ("no_run_id", one(run_id=None), "no_run_id", False, "it names no run", "dead-letters resolve"),
    ("run_not_found", one(run_id="automation-v2-run-gone"), "run_not_found", False,
     "its run automation-v2-run-gone is in neither the runs file nor a history shard", "--state-dir"),
    ("tenant_mismatch", one(tenant_context=TENANT_B), "tenant_mismatch", False,
     "its tenant differs from its run's (org-hardening-a/workspace-a)", "dead-letters park"),
    ("running", one(run_record(status="running")), "run_not_recoverable:running", False,
     "run is running: the engine is re-executing it", "wait;"),
    ("completed", one(run_record(status="completed")), "run_not_recoverable:completed", False,
     "run is completed: only failed or blocked runs are re-driven", "dead-letters resolve"),
    ("paused", one(run_record(status="paused")), "run_not_recoverable:paused", False,
     "run is paused: only failed or blocked runs are re-driven", "resume, approve or cancel"),
    ("backoff", one(status="retrying", metadata={"retry_dispatch_count": 1, "retry_dispatched_at_ms": NOW_MS - 500}),
     "backoff", False, "backoff until 2026-11-27T00:00:01.500Z (in 1s) after dispatch 1 of 5", "wait:"),
    ("no_snapshot", one(run_record(with_snapshot=False)), "requeue_impossible:missing_automation_snapshot", False,
     "cannot requeue: the run has no automation snapshot", "restore the automation definition"),
    ("hash_mismatch", Triage(dead_letters=[group_a_dead_letter()], runs=[run_record(with_snapshot=False)],
                             definitions=[definition()]),
     "requeue_impossible:definition_snapshot_hash_mismatch", False,
     "cannot requeue: the automation changed since the run started", "handle the effect by hand"),
    ("no_failed_roots", one(run_record(blocked=())), "requeue_impossible:no_failed_roots", False,
     "cannot requeue: the run records no failed or blocked node", f"tandemctl runs show {RUN_ID}"),
    ("open", one(status="open"), "not_candidate", False,
     "status is open: the dispatcher acts on retry_requested and retrying rows only", "dead-letters retry"),
    ("stateful_wait", one(source_type="stateful_wait"), "not_candidate", False,
     "a stateful_wait dead letter: the dispatcher re-drives tool effects only", "dead-letters resolve"),
    ("no_retry_option", Triage(dead_letters=[{**group_a_dead_letter(), "recovery_options": ["compensate"]}],
                                  runs=[run_record()]),
     "not_candidate", False, "'retry' is not among its recovery options", "dead-letters park"),
    ("exhausted_parked", one(status="ignored", operator_disposition="retry_exhausted",
                             metadata={"retry_dispatch_count": 5}),
     "not_candidate", False, "exhausted: the dispatcher used all 5 dispatches and parked it",
     "grants a fresh budget"),
    ("resolved", one(status="resolved"), "not_candidate", False, "resolved: nothing left to do", "nothing"),
]


@pytest.mark.parametrize(("name", "triage", "decision", "acts", "sentence", "step"), CASES, ids=[c[0] for c in CASES])
def test_show_explains_the_sweeps_decision(tandemctl: Run, kind: str, state: StateDir, name: str, triage: Triage,
                                           decision: str, acts: bool, sentence: str, step: str) -> None:
    got = verdict(tandemctl, kind, state, triage)
    assert got["decision"] == decision
    assert got["acts"] is acts
    assert got["explanation"].startswith(sentence)
    assert step in got["next_step"]


def test_show_says_it_cannot_tell_when_the_sweep_cannot_plan(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, one())
    (state.data / "audit" / "protected_events.log.jsonl").mkdir(parents=True)
    got = show(tandemctl)["dispatcher"]
    assert got["decision"] == "unknown"
    assert got["explanation"].startswith("cannot tell: the sweep cannot plan (")
    assert "tandemctl doctor" in got["next_step"]


def test_show_is_read_only(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, one())
    before = {p: p.read_bytes() for p in state.root.rglob("*") if p.is_file() and unchanged_by_reads(kind, p)}
    show(tandemctl)
    after = {p: p.read_bytes() for p in state.root.rglob("*") if p.is_file() and unchanged_by_reads(kind, p)}
    assert after == before


def event(seq: int, event_type: str, run_id: str = RUN_ID, **payload: Any) -> dict[str, Any]:
    return {"event_id": f"e-{seq}", "seq": seq, "schema_version": 1, "occurred_at_ms": NOW_MS - 60_000 + seq,
            "run_id": run_id, "event_type": event_type, "payload": payload or None}


def full_state() -> Triage:
    effect = {"schema_version": 1, "effect_id": "effect-review-effect", "outbox_id": "outbox-1", "run_id": RUN_ID,
              "scope": {"schema_version": 1, "tenant_context": TENANT_A}, "status": "failed",
              "operation": "email.send", "source_kind": "external_action", "source_id": "a-1", "node_id": "review",
              "provider": "mailer", "tool": "SendEmail", "target": "ops@example.com", "error": "HTTP 503",
              "input_digest": "sha256:" + "ab" * 32, "audit_hash": "ab" * 32, "created_at_ms": 1400,
              "updated_at_ms": 1450}
    outbox = {"schema_version": 1, "outbox_id": "outbox-1", "run_id": RUN_ID,
              "scope": {"schema_version": 1, "tenant_context": TENANT_A}, "operation": "email.send",
              "status": "failed", "idempotency_key": "k-1", "payload_digest": "sha256:" + "cd" * 32,
              "attempts": 3, "created_at_ms": 1400, "updated_at_ms": 1450}
    compensation = {"schema_version": 1, "compensation_id": "comp-1", "run_id": RUN_ID,
                    "scope": {"schema_version": 1, "tenant_context": TENANT_A}, "status": "proposed",
                    "compensation_type": "manual", "target_effect_id": "effect-review-effect",
                    "created_at_ms": 1460, "updated_at_ms": 1460}
    events = [event(i, "automation_v2.run.failed" if i % 2 else "tool.effect.recorded", reason="x") for i in range(12)]
    events.append(event(99, "automation_v2.run.created", run_id="automation-v2-run-other"))
    return Triage(dead_letters=[group_a_dead_letter(status="open"), group_a_dead_letter("dead-other", status="open")],
                  runs=[run_record()], tool_effects=[effect], outbox=[outbox], compensations=[compensation],
                  events=events)


def test_show_gathers_effect_outbox_compensation_run_journal_and_events(tandemctl: Run, kind: str,
                                                                       state: StateDir) -> None:
    build_state(kind, state.root, full_state())
    done = tandemctl("--all-tenants", "dead-letters", "retry", DL, "--reason", "mailer is back")
    assert done.exit_code == 0, done.stderr
    result = tandemctl("--all-tenants", "-o", "json", "dead-letters", "show", DL)
    body = result.json()
    assert set(body) == {"version", "command", "ok", "exit_code", "data", "errors"}
    assert body["command"] == "dead-letters show"
    data = body["data"]
    assert set(data) == {"dead_letter", "tool_effect", "outbox", "compensations", "run", "retry", "dispatcher",
                         "journal", "events"}
    assert data["tool_effect"]["effect_id"] == "effect-review-effect"
    assert data["outbox"]["outbox_id"] == "outbox-1"
    assert [c["compensation_id"] for c in data["compensations"]] == ["comp-1"]
    assert set(data["run"]) == {"run_id", "automation_id", "status", "trigger_type", "tenant_context",
                                "created_at_ms", "updated_at_ms", "finished_at_ms", "detail", "blocked_nodes",
                                "pending_nodes", "completed_nodes", "last_failure", "dead_letters"}
    assert data["run"]["status"] == "failed" and data["run"]["dead_letters"] == 2
    assert data["run"]["blocked_nodes"] == ["review"]
    assert data["retry"] == {"dispatch_count": 0, "max_dispatches": 5, "last_dispatch_at_ms": None,
                             "next_eligible_at_ms": None}
    assert data["dispatcher"]["decision"] == "dispatch"
    assert [e["action"] for e in data["journal"]] == ["retry"]
    assert data["journal"][0]["reason"] == "mailer is back"
    # The run's last 10 events, oldest first; another run's events are not shown.
    assert [e["seq"] for e in data["events"]] == list(range(2, 12))


def test_show_of_an_unknown_or_hidden_id_exits_3(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, one())
    missing = tandemctl("--all-tenants", "dead-letters", "show", "dead-nope")
    assert missing.exit_code == 3 and "dead-nope" in missing.stderr and not missing.stdout
    other_tenant = tandemctl("dead-letters", "show", DL)  # default tenant local/local
    assert other_tenant.exit_code == 3


def test_show_jsonl_and_csv(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, one())
    lines = tandemctl("--all-tenants", "-o", "jsonl", "dead-letters", "show", DL).stdout.splitlines()
    assert len(lines) == 1 and '"dispatcher"' in lines[0]
    csv = tandemctl("--all-tenants", "-o", "csv", "dead-letters", "show", DL).stdout.splitlines()
    assert csv[0] == "section,field,value"
    assert "dispatcher,decision,dispatch" in csv


@pytest.mark.parametrize("columns", [80, 120])
def test_show_screen(tandemctl: Run, kind: str, state: StateDir, columns: int) -> None:
    build_state(kind, state.root, full_state())
    result = tandemctl("--all-tenants", "dead-letters", "show", DL, env=TERMINAL | {"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.stderr
    check_screen(f"show_{columns}", result.stdout, root=Path(state.root))
