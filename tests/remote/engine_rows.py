"""Engine-shaped rows for the fake engine's data dir (plain dicts, valid for the strict parser)."""

from typing import Any

Row = dict[str, Any]
LOCAL: Row = {"org_id": "local", "workspace_id": "local", "source": "local_implicit"}
OTHER: Row = {"org_id": "org-b", "workspace_id": "workspace-b", "actor_id": "user-b", "source": "explicit"}
SUPERSEDED: Row = {"superseded_by_success": True, "superseded_by_effect_id": "effect-success",
                   "superseded_at_ms": 1500}


def scope(tenant: Row | None = None) -> Row:
    return {"schema_version": 1, "tenant_context": dict(tenant or LOCAL)}


def dead_letter(dead_letter_id: str, *, status: str = "open", created: int = 1000, updated: int | None = None,
                run_id: str | None = "run-a", tenant: Row | None = None, source_type: str = "tool_effect",
                options: tuple[str, ...] = ("retry", "ignore", "compensate"), metadata: Any = None,
                **extra: Any) -> Row:
    row: Row = {"schema_version": 1, "dead_letter_id": dead_letter_id, "source_type": source_type,
                "source_id": dead_letter_id.replace("dead", "effect")}
    if run_id is not None:
        row["run_id"] = run_id
    row.update(scope=scope(tenant), reason="provider timeout", status=status, recovery_options=list(options))
    row.update(extra)
    row.update(attempts=2, created_at_ms=created, updated_at_ms=created if updated is None else updated)
    if metadata is not None:
        row["metadata"] = metadata
    return row


def outbox(outbox_id: str, *, status: str = "sent", created: int = 1000, run_id: str | None = "run-a",
           tenant: Row | None = None) -> Row:
    row: Row = {"schema_version": 1, "outbox_id": outbox_id, "run_id": run_id, "scope": scope(tenant),
                "operation": "mock.send", "status": status, "attempts": 1, "created_at_ms": created,
                "updated_at_ms": created}
    return {k: v for k, v in row.items() if v is not None}


def effect(effect_id: str, *, status: str = "succeeded", created: int = 1000, run_id: str | None = "run-a",
           tenant: Row | None = None, source_kind: str | None = "tool_effect") -> Row:
    row: Row = {"schema_version": 1, "effect_id": effect_id, "run_id": run_id, "scope": scope(tenant),
                "status": status, "operation": "mock.send", "source_kind": source_kind,
                "redaction_tier": "safe_ui", "audit_hash": "sha256:0", "created_at_ms": created,
                "updated_at_ms": created}
    return {k: v for k, v in row.items() if v is not None}


def compensation(compensation_id: str, *, status: str = "proposed", created: int = 1000,
                 run_id: str | None = "run-a", tenant: Row | None = None, metadata: Any = None) -> Row:
    row: Row = {"schema_version": 1, "compensation_id": compensation_id, "run_id": run_id, "scope": scope(tenant),
                "status": status, "compensation_type": "rollback", "approval_required": True, "attempts": 0,
                "created_at_ms": created, "updated_at_ms": created, "metadata": metadata}
    return {k: v for k, v in row.items() if v is not None}


def definition(automation_id: str = "automation-a") -> Row:
    nodes = [{"node_id": node, "agent_id": "agent-1", "objective": f"Do {node}", "depends_on": deps}
             for node, deps in (("draft", []), ("review", ["draft"]), ("approval", ["review"]))]
    return {"automation_id": automation_id, "name": "Automation A", "status": "active",
            "schedule": {"type": "manual", "timezone": "UTC", "misfire_policy": {"type": "run_once"}},
            "flow": {"nodes": nodes}, "execution": {"max_parallel_agents": 1},
            "created_at_ms": 100, "updated_at_ms": 900, "creator_id": "ops"}


def run(run_id: str = "run-a", *, status: str = "failed", tenant: Row | None = None) -> Row:
    """An automation-v2 run failed on `review` (completed `draft`), with its definition snapshot."""
    return {"run_id": run_id, "automation_id": "automation-a", "tenant_context": dict(tenant or LOCAL),
            "trigger_type": "manual", "status": status, "created_at_ms": 1000, "updated_at_ms": 2000,
            "started_at_ms": 1050,
            "checkpoint": {"completed_nodes": ["draft"], "pending_nodes": [], "blocked_nodes": ["review"],
                           "node_outputs": {"draft": {"status": "completed"}}, "node_attempts": {"draft": 1}},
            "automation_snapshot": definition()}
