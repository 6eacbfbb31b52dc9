"""Builders for engine-format records and state dirs used across the tests."""

from pathlib import Path
from typing import Any

from tandemctl.engine.jsonio import dumps_pretty
from tandemctl.engine.records import canonical_row
from tandemctl.stores.json_codec import ReliabilityData, serialize_reliability

LOCAL = {"org_id": "local", "workspace_id": "local", "source": "local_implicit"}


def tenant(org: str, workspace: str, deployment: str | None = None, actor: str | None = "user-a") -> dict[str, Any]:
    ctx: dict[str, Any] = {"org_id": org, "workspace_id": workspace}
    if deployment is not None:
        ctx["deployment_id"] = deployment
    if actor is not None:
        ctx["actor_id"] = actor
    ctx["source"] = "explicit"
    return ctx


def scope(tenant_context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"schema_version": 1, "tenant_context": dict(tenant_context or LOCAL)}


def dead_letter(dead_letter_id: str, *, status: str = "open", created: int = 1000, updated: int | None = None,
                run_id: str | None = "run-a", tenant_context: dict[str, Any] | None = None,
                source_type: str = "tool_effect", options: tuple[str, ...] = ("retry", "ignore", "compensate"),
                reason: str = "provider timeout", attempts: int = 2, metadata: Any = None,
                **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "schema_version": 1, "dead_letter_id": dead_letter_id, "source_type": source_type,
        "source_id": dead_letter_id.replace("dead", "effect"), "run_id": run_id,
        "scope": scope(tenant_context), "reason": reason, "status": status,
        "recovery_options": list(options), "attempts": attempts, "created_at_ms": created,
        "updated_at_ms": created if updated is None else updated, "metadata": metadata,
    }
    row.update(extra)
    return canonical_row(row, "dead_letters")


def write_store(path: Path, dead_letters: list[dict[str, Any]], **collections: list[dict[str, Any]]) -> bytes:
    """Write a store exactly as the engine would and return its bytes."""
    top: dict[str, Any] = {"schema_version": 1, "outbox": [], "tool_effects": [], "dead_letters": dead_letters,
                           "compensations": []}
    top.update(collections)
    data = serialize_reliability(ReliabilityData(top=top, exists=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def write_json(path: Path, value: Any) -> bytes:
    data = dumps_pretty(value)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data
