"""The fake engine's per-run routes, the resume-plan POST with its choice table, the dispatcher
and the fault hooks (spec 01 §11.3, §13.3–§13.5; spec 06 §4–§6). Real sockets, httpx."""

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.remote import engine_rows as rows
from tests.remote.fake_engine import FakeEngine

Factory = Callable[..., FakeEngine]
PLAN = "/stateful-runtime/runs/run-a/resume-plan"
PLAN_ROUTE = "/stateful-runtime/runs/{run_id}/resume-plan"
POST_KEYS = {"run_id", "choice", "execution_mode", "automatic_dispatch", "dispatched", "recorded", "event_seq",
             "disposition"}
PLAN_KEYS = {"plan_id", "run_id", "generated_at_ms", "run", "run_status", "completed_nodes", "pending_nodes",
             "blocked_nodes", "last_failure", "completed_effects", "uncertain_effects", "pending_compensations",
             "dead_letters", "safe_resume_points", "operator_choices", "audit_summary"}


@pytest.fixture
def engine(fake_engine: FakeEngine) -> FakeEngine:
    fake_engine.write_runs([rows.run("run-a"), rows.run("run-other", tenant=rows.OTHER),
                            rows.run("run-busy", status="running")])
    fake_engine.write_store(
        dead_letters=[rows.dead_letter("dead-1", compensation_id="comp-1"),
                      rows.dead_letter("dead-wait", source_type="stateful_wait", options=("ignore", "compensate")),
                      rows.dead_letter("dead-hidden", tenant=rows.OTHER),
                      rows.dead_letter("dead-superseded", created=1500, metadata=rows.SUPERSEDED)],
        tool_effects=[rows.effect("effect-ok"), rows.effect("effect-failed", status="failed", created=1100)],
        compensations=[rows.compensation("comp-1", status="awaiting_approval"),
                       rows.compensation("comp-proposed", created=1200)],
    )
    return fake_engine


def http(engine: FakeEngine, timeout: float = 10) -> httpx.Client:
    return httpx.Client(base_url=engine.url, headers={"x-tandem-token": engine.token or ""}, trust_env=False,
                        timeout=timeout)


def post(engine: FakeEngine, body: Any, path: str = PLAN) -> httpx.Response:
    with http(engine) as client:
        return client.post(path, json=body)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


# --- per-run GETs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["reliability", "resume-plan", "observability"])
@pytest.mark.parametrize("run_id", ["run-missing", "run-other", "RUN-A"])
def test_a_run_not_in_memory_or_not_visible_is_404(engine: FakeEngine, suffix: str, run_id: str) -> None:
    with http(engine) as client:
        response = client.get(f"/stateful-runtime/runs/{run_id}/{suffix}")
    assert response.status_code == 404
    assert response.json() == {"error": "stateful_run_not_found", "run_id": run_id}


def test_run_reliability_has_run_and_run_id_instead_of_source(engine: FakeEngine) -> None:
    with http(engine) as client:
        body = ok(client.get("/stateful-runtime/runs/run-a/reliability", params={"run_id": "run-other"}))
    assert set(body) == {"run_id", "run", "outbox", "tool_effects", "dead_letters", "compensations", "counts",
                         "limit", "pagination"}
    assert body["run_id"] == "run-a" and body["run"]["run_id"] == "run-a" and body["run"]["status"] == "failed"
    assert body["counts"] == {"outbox": 0, "tool_effects": 2, "dead_letters": 3, "compensations": 2}


def test_resume_plan_get_lists_active_rows_only(engine: FakeEngine) -> None:
    with http(engine) as client:
        body = ok(client.get(PLAN, params={"limit": "10", "active_only": "false"}))
    assert set(body) == PLAN_KEYS and body["plan_id"] == "resume-plan-run-a" and body["run_status"] == "failed"
    assert [d["dead_letter_id"] for d in body["dead_letters"]] == ["dead-1", "dead-wait"]
    assert [e["effect_id"] for e in body["completed_effects"]] == ["effect-ok"]
    assert [e["effect_id"] for e in body["uncertain_effects"]] == ["effect-failed"]
    assert body["audit_summary"] == {"completed_effect_count": 1, "uncertain_effect_count": 1, "dead_letter_count": 2,
                                     "pending_compensation_count": 2, "requires_operator_review": True}
    assert (body["completed_nodes"], body["blocked_nodes"]) == (["draft"], ["review"])
    choices = {c["choice"]: c for c in body["operator_choices"]}
    assert set(choices) == {"abandon_with_audit", "resume_from_checkpoint", "retry_failed_effect",
                            "reconcile_external_effect", "compensate_pending_effects"}
    assert choices["retry_failed_effect"] == {"choice": "retry_failed_effect", "enabled": True,
                                              "execution_mode": "automatic_retry_dispatch", "automatic_dispatch": True}
    assert choices["compensate_pending_effects"]["execution_mode"] == "stateful_compensation_engine"


def test_observability_lists_history_and_summarises_active_rows(engine: FakeEngine) -> None:
    with http(engine) as client:
        body = ok(client.get("/stateful-runtime/runs/run-a/observability", params={"reliability_limit": "10"}))
        bad = client.get("/stateful-runtime/runs/run-a/observability", params={"audit_limit": "x"})
    assert set(body["reliability"]) == {"outbox", "tool_effects", "dead_letters", "compensations"}
    assert body["counts"]["dead_letters"] == 3  # the superseded row is still listed
    summary = body["operator_summary"]
    assert summary["is_blocked"] is True
    resolve = next(a for a in summary["allowed_actions"] if a["action"] == "resolve_dead_letter")
    assert resolve["dead_letter_ids"] == ["dead-1", "dead-wait"]
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/plain")


# --- POST body rules ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "headers", "status"), [
    (b'{"choice":"ignore_dead_letter"}', {}, 415),
    (b'{"choice":"ignore_dead_letter"}', {"content-type": "text/plain"}, 415),
    (b'{"choice":', {"content-type": "application/json"}, 400),
    (b"", {"content-type": "application/json"}, 400),
    (b'{"reason":"x"}', {"content-type": "application/json"}, 422),
    (b'{"choice":5}', {"content-type": "application/json"}, 422),
    (b'["choice"]', {"content-type": "application/json"}, 422),
])
@pytest.mark.parametrize("path", [PLAN, "/stateful-runtime/runs/run-missing/resume-plan"])
def test_body_rejections_are_plain_text_and_come_before_the_run_check(
        engine: FakeEngine, content: bytes, headers: dict[str, str], status: int, path: str) -> None:
    with http(engine) as client:
        response = client.post(path, content=content, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/plain")


def test_an_empty_choice_is_400_after_the_run_check(engine: FakeEngine) -> None:
    response = post(engine, {"choice": " \t", "dead_letter_id": "dead-1"})
    assert response.status_code == 400 and response.json() == {"error": "stateful_recovery_choice_required"}
    missing = post(engine, {"choice": ""}, "/stateful-runtime/runs/run-missing/resume-plan")
    assert missing.status_code == 404 and missing.json()["error"] == "stateful_run_not_found"
    assert engine.dead_letter("dead-1")["status"] == "open"


@pytest.mark.parametrize("dead_letter_id", ["dead-nope", "dead-hidden"])
def test_an_unknown_or_invisible_dead_letter_is_404(engine: FakeEngine, dead_letter_id: str) -> None:
    response = post(engine, {"choice": "ignore_dead_letter", "dead_letter_id": dead_letter_id})
    assert response.status_code == 404
    assert response.json() == {"error": "stateful_dead_letter_not_found", "dead_letter_id": dead_letter_id}


# --- the choice table --------------------------------------------------------------------------------
@pytest.mark.parametrize(("choice", "normalized", "status", "disposition", "mode", "automatic"), [
    ("retry_failed_effect", "retry_failed_effect", "retry_requested", "retry_requested",
     "automatic_retry_dispatch", True),
    ("Retry-Dead-Letter", "retry_dead_letter", "retry_requested", "retry_requested", "automatic_retry_dispatch", True),
    ("ignore_dead_letter", "ignore_dead_letter", "ignored", "ignored", "audit_disposition_only", False),
    (" abandon_with_audit ", "abandon_with_audit", "ignored", "ignored", "audit_disposition_only", False),
    ("resume_from_checkpoint", "resume_from_checkpoint", "open", "reviewed", "operator_request_record_only", False),
    ("reconcile_external_effect", "reconcile_external_effect", "open", "reviewed",
     "operator_request_record_only", False),
    ("Look At It", "look at it", "open", "reviewed", "operator_review_record_only", False),
])
def test_choice_table(engine: FakeEngine, choice: str, normalized: str, status: str, disposition: str, mode: str,
                      automatic: bool) -> None:
    body = ok(post(engine, {"choice": choice, "dead_letter_id": "dead-wait", "reason": " as given ",
                            "actor_id": "ops-1"}))
    assert set(body) == POST_KEYS
    assert (body["choice"], body["execution_mode"], body["automatic_dispatch"]) == (normalized, mode, automatic)
    assert body["run_id"] == "run-a" and body["recorded"] is True and type(body["event_seq"]) is int
    assert body["dispatched"] == 0  # a wait dead letter has no retry option: never re-driven
    row = engine.dead_letter("dead-wait")
    assert (row["status"], row["operator_disposition"]) == (status, disposition)
    assert row["disposition_reason"] == " as given "
    assert row["disposition_actor"] == {"kind": "human_user", "id": "ops-1"}
    assert body["disposition"] == {"dead_letter": row}


def test_no_reason_clears_it_and_no_actor_is_operator(engine: FakeEngine) -> None:
    ok(post(engine, {"choice": "ignore_dead_letter", "dead_letter_id": "dead-wait", "reason": "first"}))
    ok(post(engine, {"choice": "ignore_dead_letter", "dead_letter_id": "dead-wait", "actor_id": "  "}))
    row = engine.dead_letter("dead-wait")
    assert "disposition_reason" not in row and row["disposition_actor"] == {"kind": "human_user", "id": "operator"}


def test_without_a_dead_letter_nothing_is_mutated(engine: FakeEngine) -> None:
    before = engine.reliability_file.read_bytes()
    body = ok(post(engine, {"choice": "retry_dead_letter"}))
    assert body["disposition"] is None and body["dispatched"] == 0
    assert engine.reliability_file.read_bytes() == before


def test_each_choice_is_an_event_and_the_same_millisecond_is_not_recorded_twice(engine_factory: Factory) -> None:
    engine = engine_factory(clock=lambda: 1_800_000_000_000)
    engine.write_runs([rows.run("run-a")])
    first = ok(post(engine, {"choice": "resume_from_checkpoint"}))
    second = ok(post(engine, {"choice": "resume_from_checkpoint"}))
    assert (first["recorded"], first["event_seq"], second["recorded"], second["event_seq"]) == (True, 1, False, 1)
    [event] = engine.events()
    assert event["event_id"] == "recovery-choice-run-a-1800000000000"
    assert event["event_type"] == "runtime.recovery_choice.recorded"


# --- compensations (record-only) --------------------------------------------------------------------------
def test_compensate_completes_the_linked_compensation(engine: FakeEngine) -> None:
    body = ok(post(engine, {"choice": "compensate", "dead_letter_id": "dead-1"}))
    disposition = body["disposition"]
    assert set(disposition) == {"previous", "compensation", "compensation_execution"}
    assert disposition["previous"]["dead_letter"]["status"] == "linked_to_compensation"
    assert disposition["compensation"]["status"] == "completed"
    assert disposition["compensation_execution"]["already_completed"] is False
    assert engine.dead_letter("dead-1")["operator_disposition"] == "linked_to_compensation"


def test_an_illegal_compensation_transition_keeps_the_dead_letter_change(engine: FakeEngine) -> None:
    response = post(engine, {"choice": "retry_dead_letter", "dead_letter_id": "dead-wait",
                             "compensation_id": "comp-1"})
    assert response.status_code == 500 and response.json()["error"] == "compensation_update_failed"
    assert engine.dead_letter("dead-wait")["status"] == "retry_requested"
    missing = post(engine, {"choice": "ignore_dead_letter", "compensation_id": "comp-nope"})
    assert missing.status_code == 404
    assert missing.json() == {"error": "stateful_compensation_not_found", "compensation_id": "comp-nope"}


def test_a_corrupt_store_fails_the_post_and_is_sidelined(engine: FakeEngine) -> None:
    engine.write_raw_store(b"{not-valid-json")
    response = post(engine, {"choice": "ignore_dead_letter", "dead_letter_id": "dead-1"})
    assert response.status_code == 500 and response.json()["error"] == "dead_letter_update_failed"
    assert not engine.reliability_file.exists()
    assert engine.reliability_file.with_name("stateful_reliability.json.corrupt").read_bytes() == b"{not-valid-json"


# --- the dispatcher ------------------------------------------------------------------------------------
def test_a_retry_choice_dispatches_synchronously(engine: FakeEngine) -> None:
    body = ok(post(engine, {"choice": "retry_dead_letter", "dead_letter_id": "dead-1"}))
    assert body["dispatched"] == 1 and body["disposition"]["dead_letter"]["status"] == "retry_requested"
    row = engine.dead_letter("dead-1")
    assert row["status"] == "retrying" and row["metadata"]["retry_dispatch_count"] == 1
    assert engine.read_runs()["run-a"]["status"] == "queued" and engine.dispatch_errors == []


def test_an_exhausted_row_set_back_to_retry_is_parked_within_a_tick(engine_factory: Factory) -> None:
    engine = engine_factory(dispatch_interval_s=0.05)
    engine.write_runs([rows.run("run-a")])
    engine.write_store(dead_letters=[rows.dead_letter("dead-x", status="retry_requested",
                                                      metadata={"retry_dispatch_count": 5})])
    deadline = time.monotonic() + 5
    while engine.dead_letter("dead-x")["status"] != "ignored" and time.monotonic() < deadline:
        time.sleep(0.02)
    row = engine.dead_letter("dead-x")
    assert (row["status"], row["operator_disposition"]) == ("ignored", "retry_exhausted")
    assert row["disposition_actor"]["id"] == "tandem-server:dead-letter-dispatcher"


def test_without_a_tick_nothing_happens_in_the_background(engine: FakeEngine) -> None:
    engine.write_store(dead_letters=[rows.dead_letter("dead-x", status="retry_requested")])
    time.sleep(0.2)
    assert engine.dead_letter("dead-x")["status"] == "retry_requested" and engine.sweeps == 0


# --- fault hooks and records ------------------------------------------------------------------------------
def test_fail_next_answers_500_then_recovers(engine: FakeEngine) -> None:
    engine.fail_next(2, route=PLAN_ROUTE)
    statuses = [post(engine, {"choice": "ignore_dead_letter", "dead_letter_id": "dead-1"}).status_code
                for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert engine.count("POST", PLAN_ROUTE) == 3


def test_drop_after_apply_leaves_the_outcome_unknown_to_the_client(engine: FakeEngine) -> None:
    engine.drop_after_apply()
    with pytest.raises(httpx.RemoteProtocolError):
        post(engine, {"choice": "ignore_dead_letter", "dead_letter_id": "dead-1"})
    assert engine.dead_letter("dead-1")["status"] == "ignored"
    assert engine.requests_to("POST", PLAN_ROUTE)[-1].status is None
    assert ok(post(engine, {"choice": "resume_from_checkpoint"}))["recorded"] is True


def test_a_slow_post_times_out_after_applying(engine: FakeEngine) -> None:
    engine.delay_replies(0.5, times=1)
    with http(engine, timeout=0.1) as client, pytest.raises(httpx.ReadTimeout):
        client.post(PLAN, json={"choice": "ignore_dead_letter", "dead_letter_id": "dead-1"})
    assert engine.dead_letter("dead-1")["status"] == "ignored"


def test_headers_are_recorded_per_request(engine: FakeEngine) -> None:
    ok(post(engine, {"choice": "resume_from_checkpoint", "actor_id": "ops-1"}))
    [request] = engine.requests_to("POST", PLAN_ROUTE)
    assert request.headers["x-tandem-token"] == engine.token and "authorization" not in request.headers
    assert not [h for h in request.headers if "tenant" in h or h.startswith(("x-tandem-org", "x-tandem-work"))]
    assert request.path == PLAN and b"ops-1" in request.body and request.status == 200
    engine.reset_records()
    assert engine.requests == [] and engine.count("POST", PLAN_ROUTE) == 0
