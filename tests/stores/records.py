"""Minimal engine-shaped outbox, tool-effect and compensation records (spec 01 §4.1, §4.2, §4.4)."""

from typing import Any

from tests.factories import scope


def outbox(outbox_id: str, *, status: str = "failed", updated: int = 1000,
           tenant_context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"schema_version": 1, "outbox_id": outbox_id, "run_id": "run-a", "scope": scope(tenant_context),
            "operation": "mock.send", "status": status, "attempts": 1, "created_at_ms": 1000,
            "updated_at_ms": updated}


def tool_effect(effect_id: str, *, status: str = "failed", updated: int = 1000,
                tenant_context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"schema_version": 1, "effect_id": effect_id, "run_id": "run-a", "scope": scope(tenant_context),
            "status": status, "operation": "mock.send", "redaction_tier": "safe_ui", "audit_hash": "sha256:00",
            "created_at_ms": 1000, "updated_at_ms": updated}


def compensation(compensation_id: str, *, status: str = "proposed", updated: int = 1000,
                 tenant_context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"schema_version": 1, "compensation_id": compensation_id, "scope": scope(tenant_context),
            "status": status, "compensation_type": "rollback", "approval_required": True, "attempts": 0,
            "created_at_ms": 1000, "updated_at_ms": updated}
