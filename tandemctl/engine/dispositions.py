"""Engine mirrors shared by operator actions and the sweep: tenant visibility, dispositions,
the superseded marker and the retry-dispatch metadata (spec 01 §3.1, §10, §11.1)."""

from typing import Any, Final

from tandemctl.engine.models import LOCAL_TENANT
from tandemctl.engine.rows import Row

DISPATCHER_ACTOR: Final = "tandem-server:dead-letter-dispatcher"
_U32_MAX: Final = 2**32 - 1
_U64_MAX: Final = 2**64 - 1


def tenant_of(row: Row) -> Row:
    """The row's `scope.tenant_context`, with the engine's local-implicit default."""
    scope = row.get("scope") or {}
    tenant = scope.get("tenant_context")
    return tenant if isinstance(tenant, dict) else dict(LOCAL_TENANT)


def tenant_key(tenant: Row) -> tuple[str, str, str | None]:
    """What visibility compares: org, workspace and deployment (actor and source ignored)."""
    return (tenant.get("org_id", ""), tenant.get("workspace_id", ""), tenant.get("deployment_id"))


def tenant_label(tenant: Row) -> str:
    """`org/workspace[/deployment]`: how tandemctl names a tenant everywhere it shows one."""
    parts = [str(tenant.get("org_id", "")), str(tenant.get("workspace_id", ""))]
    if tenant.get("deployment_id"):
        parts.append(str(tenant["deployment_id"]))
    return "/".join(parts)


def visible_to_tenant(row: Row, tenant: Row) -> bool:
    """`visible_to_tenant` (types.rs): exact org, workspace and deployment equality."""
    return tenant_key(tenant_of(row)) == tenant_key(tenant)


def operator_principal(actor_id: str | None) -> Row:
    """`operator_principal`: kind is always human_user; blank ids become `operator`."""
    trimmed = (actor_id or "").strip()
    return {"kind": "human_user", "id": trimmed or "operator"}


def mark_dead_letter_disposition(row: Row, *, status: str, disposition: str, reason: str | None,
                                 actor_id: str | None, now_ms: int) -> None:
    """`mark_dead_letter_disposition` (reliability.rs) applied to one raw row, in place."""
    row["status"] = status
    row["operator_disposition"] = disposition
    if reason is None:
        row.pop("disposition_reason", None)
    else:
        row["disposition_reason"] = reason
    row["disposition_actor"] = operator_principal(actor_id)
    row["disposition_at_ms"] = now_ms
    row["updated_at_ms"] = now_ms


def is_u64(value: Any) -> bool:
    return type(value) is int and 0 <= value <= _U64_MAX


def _metadata(row: Row) -> Row:
    meta = row.get("metadata")
    return meta if isinstance(meta, dict) else {}


def dead_letter_superseded_by_success(row: Row) -> bool:
    """Complete marker only: bool true, non-blank effect id string, u64 timestamp (§10.1)."""
    meta = _metadata(row)
    effect = meta.get("superseded_by_effect_id")
    return (
        meta.get("superseded_by_success") is True
        and isinstance(effect, str)
        and bool(effect.strip())
        and is_u64(meta.get("superseded_at_ms"))
    )


def dead_letter_retry_dispatch_count(row: Row) -> int:
    """`retry_dispatch_count` read as a u32; anything else counts as 0 (§10.2)."""
    value = _metadata(row).get("retry_dispatch_count")
    return value if type(value) is int and 0 <= value <= _U32_MAX else 0


def dead_letter_retry_dispatched_at_ms(row: Row) -> int | None:
    value = _metadata(row).get("retry_dispatched_at_ms")
    return value if is_u64(value) else None


def stamp_metadata(row: Row, updates: Row) -> None:
    """The engine's metadata stamping: wrap non-object metadata under `previous_metadata`."""
    meta = row.get("metadata")
    if meta is None:
        meta = {}
    elif not isinstance(meta, dict):
        meta = {"previous_metadata": meta}
    meta.update(updates)
    row["metadata"] = meta


def forward_clock(row: Row, now_ms: int) -> int:
    """tandemctl's write time for a row: now, but never at or before the stored `updated_at_ms`.

    Not an engine rule for its own writes; it is what makes ours survive the 0.6.9+ database's
    last-writer-wins upsert (spec 03 §1.3 B3, §2.10 step 5) under clock skew, on every store alike."""
    stored = row.get("updated_at_ms")
    return max(now_ms, stored + 1) if isinstance(stored, int) else now_ms
