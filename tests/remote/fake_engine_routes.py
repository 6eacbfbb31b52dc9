"""Route bodies of the fake engine: the reliability lists, the per-run views and the resume-plan POST
(spec 01 §13, spec 06 §4–§5). Gates and the socket side are in fake_engine_http.py.

Simplifications (everything else follows the specs):
* Runs are automation-v2 runs from the hot runs file only (no workflow runs); `run` is a small
  projection (`run_id, kind, automation_id, scope, status, created_at_ms, updated_at_ms`).
* Observability: only the reliability part, `counts` and the operator summary are built; waits,
  events, snapshots, policy decisions and the audit tail are always empty.
* Compensation on a compensate choice is record-only: the compensation becomes `completed`
  (attempts + 1) and its linked `open`/`retry_requested` dead letters `linked_to_compensation`;
  no compensation outbox row or receipt effect is written. Other choices apply the status
  transition table of spec 01 §11.5.
* A store that fails to parse on a write is sidelined as `.json.corrupt[.n]`, whatever the cause.
"""

import json
from dataclasses import dataclass
from typing import Any

from tests.remote.fake_engine import (
    LOCAL_TENANT,
    FakeEngine,
    StoreUnreadable,
    _hot_run,
    _load,
    _mark,
    _mutate,
    _recanon,
    _visible,
    append_line,
)
from tests.remote.fake_engine_listing import filtered, json_bytes, list_collections, list_query

Row = dict[str, Any]
JSON = "application/json"
CHOICES: dict[str, tuple[str, str, str, bool]] = {  # choice: (status, disposition, execution_mode, auto)
    "retry_failed_effect": ("retry_requested", "retry_requested", "automatic_retry_dispatch", True),
    "retry_dead_letter": ("retry_requested", "retry_requested", "automatic_retry_dispatch", True),
    "compensate_pending_effects": ("linked_to_compensation", "linked_to_compensation",
                                   "stateful_compensation_engine", True),
    "compensate": ("linked_to_compensation", "linked_to_compensation", "stateful_compensation_engine", True),
    "abandon_with_audit": ("ignored", "ignored", "audit_disposition_only", False),
    "ignore_dead_letter": ("ignored", "ignored", "audit_disposition_only", False),
    "resume_from_checkpoint": ("open", "reviewed", "operator_request_record_only", False),
    "reconcile_external_effect": ("open", "reviewed", "operator_request_record_only", False),
}
OTHER_CHOICE = ("open", "reviewed", "operator_review_record_only", False)
COMPENSATION_TARGET = {"retry_failed_effect": "proposed", "retry_dead_letter": "proposed",
                       "abandon_with_audit": "cancelled"}
TRANSITIONS = {"proposed": {"awaiting_approval", "approved", "cancelled"},
               "awaiting_approval": {"approved", "cancelled"},
               "approved": {"running", "cancelled"}, "running": {"completed", "failed", "cancelled"},
               "failed": {"approved", "running", "cancelled"}}


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = JSON
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(status: int, value: Any) -> Reply:
    return Reply(status, json_bytes(value))


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, text.encode(), "text/plain; charset=utf-8")


def read_store(engine: FakeEngine) -> Row | Reply:
    try:
        return _load(engine.reliability_file)
    except StoreUnreadable as exc:
        if engine.corrupt_store_as_empty:
            return {}  # "skipping invalid stateful reliability store": an empty store
        return json_reply(500, {"error": "reliability_store_unreadable", "message": str(exc)})


def find_run(engine: FakeEngine, run_id: str) -> Row | Reply:
    run = _hot_run(engine.data_dir, run_id)
    tenant = (run or {}).get("tenant_context") or dict(LOCAL_TENANT)
    if run is None or not _visible({"scope": {"tenant_context": tenant}}, LOCAL_TENANT):
        return json_reply(404, {"error": "stateful_run_not_found", "run_id": run_id})
    return run


def run_projection(run: Row) -> Row:
    tenant = run.get("tenant_context") or dict(LOCAL_TENANT)
    return {"run_id": run["run_id"], "kind": "automation_v2", "automation_id": run.get("automation_id"),
            "scope": {"schema_version": 1, "tenant_context": tenant}, "status": run.get("status"),
            "created_at_ms": run.get("created_at_ms"), "updated_at_ms": run.get("updated_at_ms")}


def reliability(engine: FakeEngine, params: Row) -> Reply:
    top = read_store(engine)
    if isinstance(top, Reply):
        return top
    return json_reply(200, {"source": "stateful_runtime_reliability", **list_collections(top, list_query(params))})


def run_reliability(engine: FakeEngine, run_id: str, params: Row) -> Reply:
    run = find_run(engine, run_id)
    if isinstance(run, Reply):
        return run
    top = read_store(engine)
    if isinstance(top, Reply):
        return top
    body = list_collections(top, list_query(params, run_id=run_id))
    return json_reply(200, {"run_id": run_id, "run": run_projection(run), **body})


def resume_plan(engine: FakeEngine, run_id: str, params: Row) -> Reply:
    run = find_run(engine, run_id)
    if isinstance(run, Reply):
        return run
    top = read_store(engine)
    if isinstance(top, Reply):
        return top
    query = list_query({"limit": params.get("limit")}, run_id=run_id, active=True)
    lists = {c: filtered(top, c, query)[:query.limit] for c in ("tool_effects", "dead_letters", "compensations")}
    completed = [e for e in lists["tool_effects"] if e.get("status") == "succeeded"]
    uncertain = [e for e in lists["tool_effects"] if e.get("status") != "succeeded"]
    checkpoint = run.get("checkpoint") or {}
    nodes = {k: list(checkpoint.get(k) or []) for k in ("completed_nodes", "pending_nodes", "blocked_nodes")}
    points: list[Row] = [{"kind": "completed_node_boundary", "node_id": n, "resume_after": True}
                         for n in nodes["completed_nodes"]]
    points += [{"kind": "pending_node", "node_id": n, "retry_safe": True} for n in nodes["pending_nodes"]]
    points += [{"kind": "blocked_node", "node_id": n, "requires_operator_review": True} for n in nodes["blocked_nodes"]]
    if not points and run.get("status") in ("paused", "blocked", "failed", "dead_lettered", "retrying"):
        points.append({"kind": "run_boundary", "requires_operator_review": True})
    offered = ["abandon_with_audit"]
    if points:
        offered.append("resume_from_checkpoint")
    if uncertain or lists["dead_letters"]:
        offered += ["retry_failed_effect", "reconcile_external_effect"]
    if lists["compensations"]:
        offered.append("compensate_pending_effects")
    choices = [{"choice": c, "enabled": True, "execution_mode": CHOICES[c][2], "automatic_dispatch": CHOICES[c][3]}
               for c in offered]
    review = bool(uncertain or lists["dead_letters"] or lists["compensations"])
    return json_reply(200, {
        "plan_id": f"resume-plan-{run_id}", "run_id": run_id, "generated_at_ms": engine.now_ms(),
        "run": run_projection(run), "run_status": run.get("status"), **nodes,
        "last_failure": checkpoint.get("last_failure"), "completed_effects": completed,
        "uncertain_effects": uncertain, "pending_compensations": lists["compensations"],
        "dead_letters": lists["dead_letters"], "safe_resume_points": points, "operator_choices": choices,
        "audit_summary": {"completed_effect_count": len(completed), "uncertain_effect_count": len(uncertain),
                          "dead_letter_count": len(lists["dead_letters"]),
                          "pending_compensation_count": len(lists["compensations"]),
                          "requires_operator_review": review},
    })


def observability(engine: FakeEngine, run_id: str, params: Row) -> Reply:
    run = find_run(engine, run_id)
    if isinstance(run, Reply):
        return run
    top = read_store(engine)
    if isinstance(top, Reply):
        return top
    limit = max(1, min(params.get("reliability_limit") or 100, 500))
    lists = {c: filtered(top, c, list_query({}, run_id=run_id, active=False, limit=limit))[:limit]
             for c in ("outbox", "tool_effects", "dead_letters", "compensations")}
    active = {c: filtered(top, c, list_query({}, run_id=run_id, active=True, limit=limit))[:limit]
              for c in ("dead_letters", "compensations")}
    open_dead = [d for d in active["dead_letters"] if d.get("status") == "open"]
    blocking: list[Row] = [{"kind": "dead_letter", "dead_letter_id": d["dead_letter_id"],
                            "source_type": d.get("source_type"), "reason": d.get("reason")} for d in open_dead]
    blocking += [{"kind": "outbox", "outbox_id": o["outbox_id"], "status": o["status"]} for o in lists["outbox"]
                 if o.get("status") in ("pending", "failed", "dead_lettered")]
    bad_effects = [e for e in lists["tool_effects"] if e.get("status") in ("failed", "unknown")]
    blocking += [{"kind": "tool_effect", "effect_id": e["effect_id"], "status": e["status"]} for e in bad_effects]
    comps = [c for c in active["compensations"] if c.get("status") in ("proposed", "awaiting_approval", "failed")]
    blocking += [{"kind": "compensation", "compensation_id": c["compensation_id"], "status": c["status"]}
                 for c in comps]
    actions: list[Row] = []
    if open_dead:
        actions.append({"action": "resolve_dead_letter", "dead_letter_ids": [d["dead_letter_id"] for d in open_dead]})
    if bad_effects:
        actions.append({"action": "retry_or_reconcile_effect", "effect_ids": [e["effect_id"] for e in bad_effects]})
    runnable = [c["compensation_id"] for c in comps if c["status"] in ("proposed", "awaiting_approval")]
    if runnable:
        actions.append({"action": "run_or_cancel_compensation", "compensation_ids": runnable})
    return json_reply(200, {
        "run_id": run_id, "run": run_projection(run), "reliability": lists,
        "counts": {c: len(rows) for c, rows in lists.items()} | {"waits": 0, "events": 0, "snapshots": 0,
                                                                  "policy_decisions": 0, "audit_events": 0},
        "operator_summary": {"is_blocked": bool(blocking), "blocking_reasons": blocking, "allowed_actions": actions},
    })


def parse_body(headers: dict[str, str], body: bytes) -> Row | Reply:
    """axum's `Json<RecoveryChoiceRequest>` extractor: 415, 400 and 422 as plain text."""
    mime = headers.get("content-type", "").split(";")[0].strip().lower()
    if not (mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))):
        return text_reply(415, "Expected request with `Content-Type: application/json`")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return text_reply(400, f"Failed to parse the request body as JSON: {exc}")
    if not isinstance(value, dict):
        return text_reply(422, "Failed to deserialize the JSON body into the target type: invalid type: "
                               "expected struct RecoveryChoiceRequest")
    if "choice" not in value:
        return text_reply(422, "Failed to deserialize the JSON body into the target type: missing field `choice`")
    for key in ("choice", "reason", "actor_id", "dead_letter_id", "compensation_id", "target_effect_id"):
        if not (isinstance(value.get(key), str) or (key != "choice" and value.get(key) is None)):
            return text_reply(422, f"Failed to deserialize the JSON body into the target type: {key}: "
                                   "invalid type: expected a string")
    return value


def post_resume_plan(engine: FakeEngine, run_id: str, headers: dict[str, str], raw: bytes) -> Reply:
    body = parse_body(headers, raw)
    if isinstance(body, Reply):
        return body
    with engine.lock:
        return _record_choice(engine, run_id, body)


def _record_choice(engine: FakeEngine, run_id: str, body: Row) -> Reply:
    run = find_run(engine, run_id)
    if isinstance(run, Reply):
        return run
    choice = body["choice"].strip().replace("-", "_").lower()  # not _norm: `all` is a choice here
    if not choice:
        return json_reply(400, {"error": "stateful_recovery_choice_required"})
    status, disposition_label, mode, automatic = CHOICES.get(choice, OTHER_CHOICE)
    now, actor = engine.now_ms(), body.get("actor_id")
    dead_letter_id, compensation_id = body.get("dead_letter_id"), body.get("compensation_id")
    disposition: Row | None = None
    linked_compensation = None
    if dead_letter_id is not None:
        def apply(top: Row) -> tuple[bool, Row | None]:
            row = next((r for r in top.get("dead_letters") or [] if r.get("dead_letter_id") == dead_letter_id
                        and _visible(r, LOCAL_TENANT)), None)
            if row is None:
                return False, None
            _mark(row, status=status, disposition=disposition_label, reason=body.get("reason"), actor_id=actor,
                  now_ms=now)
            return True, json.loads(json.dumps(row))
        try:
            marked = _mutate(engine.reliability_file, apply)
        except StoreUnreadable as exc:
            return json_reply(500, {"error": "dead_letter_update_failed", "message": _sideline(engine, exc)})
        if marked is None:
            return json_reply(404, {"error": "stateful_dead_letter_not_found", "dead_letter_id": dead_letter_id})
        disposition = {"dead_letter": marked}
        linked_compensation = marked.get("compensation_id")
    target = compensation_id or (linked_compensation if mode == "stateful_compensation_engine" else None)
    if target is not None:
        result = _compensation(engine, target, choice, mode, body.get("reason"), actor, now)
        if isinstance(result, Reply):
            return result
        disposition = {"previous": disposition, **result}
    event_seq, recorded = _append_event(engine, run, choice, mode, automatic, body, disposition, now)
    dispatched = engine.dispatch_now() if automatic and dead_letter_id is not None else 0
    return json_reply(200, {"run_id": run_id, "choice": choice, "execution_mode": mode,
                            "automatic_dispatch": automatic, "dispatched": dispatched, "recorded": recorded,
                            "event_seq": event_seq, "disposition": disposition})


def _compensation(engine: FakeEngine, compensation_id: str, choice: str, mode: str, reason: str | None,
                  actor: str | None, now: int) -> Row | Reply:
    execute = mode == "stateful_compensation_engine"

    def apply(top: Row) -> tuple[bool, Row | Reply]:
        row = next((r for r in top.get("compensations") or [] if r.get("compensation_id") == compensation_id
                    and _visible(r, LOCAL_TENANT)), None)
        if row is None:
            return False, json_reply(404, {"error": "stateful_compensation_not_found",
                                           "compensation_id": compensation_id})
        current = row.get("status")
        if execute:
            return _execute(top, row, reason, actor, now)
        wanted = COMPENSATION_TARGET.get(choice, "proposed")
        if current != wanted and wanted not in TRANSITIONS.get(current, set()):
            message = f"illegal stateful compensation status transition from `{current}` to `{wanted}`"
            return False, json_reply(500, {"error": "compensation_update_failed", "message": message})
        row["status"], row["updated_at_ms"] = wanted, now
        return True, {"compensation": json.loads(json.dumps(row))}

    try:
        result: Row | Reply = _mutate(engine.reliability_file, apply)
    except StoreUnreadable as exc:
        error = "compensation_execution_failed" if execute else "compensation_update_failed"
        return json_reply(500, {"error": error, "message": _sideline(engine, exc)})
    return result


def _execute(top: Row, row: Row, reason: str | None, actor: str | None, now: int) -> tuple[bool, Row | Reply]:
    """Record-only compensation execution (see the module docstring)."""
    compensation_id = row["compensation_id"]
    if row.get("status") == "cancelled":
        message = f"stateful compensation `{compensation_id}` is cancelled"
        return False, json_reply(500, {"error": "compensation_execution_failed", "message": message})
    already = row.get("status") == "completed"
    linked = [d for d in top.get("dead_letters") or []
              if d.get("compensation_id") == compensation_id and _visible(d, LOCAL_TENANT)]
    if not already:
        row["status"], row["attempts"], row["updated_at_ms"] = "completed", row.get("attempts", 0) + 1, now
        _recanon(row, "compensations")
        text = reason if reason is not None else f"compensation `{compensation_id}` completed by stateful runtime"
        for dead in linked:
            if dead.get("status") in ("open", "retry_requested"):
                _mark(dead, status="linked_to_compensation", disposition="linked_to_compensation", reason=text,
                      actor_id=actor, now_ms=now)
    snapshot = json.loads(json.dumps(row))
    execution = {"compensation": snapshot, "linked_dead_letters": json.loads(json.dumps(linked)),
                 "already_completed": already}
    return not already, {"compensation": snapshot, "compensation_execution": execution}


def _sideline(engine: FakeEngine, exc: StoreUnreadable) -> str:
    path = engine.reliability_file
    if not path.exists():
        return f"failed to read stateful reliability store `{path}`: {exc}"
    candidates = [path.with_name(path.name + ".corrupt")]
    candidates += [path.with_name(f"{path.name}.corrupt.{n}") for n in range(1, 1001)]
    target = next((c for c in candidates if not c.exists()), candidates[-1])
    path.rename(target)
    return f"failed to parse stateful reliability store `{path}`; corrupt store moved to `{target}`: {exc}"


def _append_event(engine: FakeEngine, run: Row, choice: str, mode: str, automatic: bool, body: Row,
                  disposition: Row | None, now: int) -> tuple[int, bool]:
    """`runtime.recovery_choice.recorded` in `stateful_events.jsonl`: (seq, recorded)."""
    run_id = run["run_id"]
    event_id = f"recovery-choice-{run_id}-{now}"
    events = [e for e in engine.events() if e.get("run_id") == run_id]
    for event in events:
        if event.get("event_id") == event_id:
            return event.get("seq", 0), False
    seq = max((e.get("seq", 0) for e in events), default=0) + 1
    payload = {key: body.get(key) for key in ("choice", "reason", "dead_letter_id", "compensation_id",
                                              "target_effect_id")}
    payload.update(choice=choice, execution_mode=mode, automatic_dispatch=automatic, disposition=disposition)
    tenant = run.get("tenant_context") or dict(LOCAL_TENANT)
    event = {"event_id": event_id, "run_id": run_id, "seq": seq, "event_type": "runtime.recovery_choice.recorded",
             "scope": {"schema_version": 1, "tenant_context": tenant},
             "actor": {"kind": "human_user", "id": (body.get("actor_id") or "").strip() or "operator"},
             "causation_id": body.get("dead_letter_id") or body.get("compensation_id"),
             "correlation_id": body.get("target_effect_id"), "payload": payload, "created_at_ms": now}
    append_line(engine.events_file, json_bytes(event))
    return seq, True
