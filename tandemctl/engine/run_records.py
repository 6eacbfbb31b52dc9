"""The automation-v2 run record (spec 02 §2.1–§2.4): strict validation like serde, and
`canonical_run`, the engine's key order for a record tandemctl changed.

Mirrors `tandem-automation/src/types.rs` (`AutomationV2RunRecord`, `AutomationRunCheckpoint`).
"""

import copy
import functools
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictStr, TypeAdapter, ValidationError

from tandemctl.engine import jsonio
from tandemctl.engine.definitions import AutomationV2Spec
from tandemctl.engine.models import LOCAL_TENANT, U32, U64, TenantContext
from tandemctl.engine.rows import Row
from tandemctl.engine.validation import field_error, typed_dict_for

F64 = Annotated[float, Strict()]
_OMIT: Final = object()


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSING = "pausing"
    PAUSED = "paused"
    AWAITING_APPROVAL = "awaiting_approval"
    COMPLETED = "completed"
    BLOCKED = "blocked"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StopKind(StrEnum):
    CANCELLED = "cancelled"
    OPERATOR_STOPPED = "operator_stopped"
    GUARDRAIL_STOPPED = "guardrail_stopped"
    PANIC = "panic"
    SHUTDOWN = "shutdown"
    SERVER_RESTART = "server_restart"
    STALE_REAPED = "stale_reaped"


class ExecutionProfile(StrEnum):
    STRICT = "strict"
    GUIDED = "guided"
    YOLO = "yolo"


class QueueReason(StrEnum):
    CAPACITY = "capacity"
    WORKSPACE_LOCK = "workspace_lock"
    RATE_LIMIT = "rate_limit"
    RETRY_BACKOFF = "retry_backoff"


class _Rec(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class LastFailure(_Rec):
    node_id: StrictStr
    reason: StrictStr
    failed_at_ms: U64
    failure_kind: StrictStr | None = None
    metadata: Any = None


class AwaitingGate(_Rec):
    node_id: StrictStr
    title: StrictStr
    instructions: StrictStr | None = None
    decisions: list[StrictStr] = Field(default_factory=list)
    rework_targets: list[StrictStr] = Field(default_factory=list)
    requested_at_ms: U64
    upstream_node_ids: list[StrictStr] = Field(default_factory=list)


class GateDecision(_Rec):
    node_id: StrictStr
    decision: StrictStr
    reason: StrictStr | None = None
    decided_at_ms: U64
    decided_by: Any = None  # its type is not documented; accept what the engine wrote


class LifecycleEvent(_Rec):
    event: StrictStr
    recorded_at_ms: U64
    reason: StrictStr | None = None
    stop_kind: StopKind | None = None
    metadata: Any = None


class Checkpoint(_Rec):
    completed_nodes: list[StrictStr] = Field(default_factory=list)
    pending_nodes: list[StrictStr] = Field(default_factory=list)
    node_outputs: dict[str, Any] = Field(default_factory=dict)
    node_attempts: dict[str, U32] = Field(default_factory=dict)
    node_attempt_verdicts: dict[str, list[Any]] = Field(default_factory=dict)
    blocked_nodes: list[StrictStr] = Field(default_factory=list)
    awaiting_gate: AwaitingGate | None = None
    gate_history: list[GateDecision] = Field(default_factory=list)
    lifecycle_history: list[LifecycleEvent] = Field(default_factory=list)
    last_failure: LastFailure | None = None


class ExecutionClaim(_Rec):
    claim_id: StrictStr
    claimant_id: StrictStr
    claimed_at_ms: U64
    lease_expires_at_ms: U64
    lease_epoch: U64


class SchedulerMetadata(_Rec):
    tenant_context: TenantContext = TenantContext(org_id="local", workspace_id="local")
    queue_reason: QueueReason | None = None
    resource_key: StrictStr | None = None
    rate_limited_provider: StrictStr | None = None
    queued_at_ms: U64 = 0
    retry_node_id: StrictStr | None = None
    retry_attempt: U32 | None = None
    retry_backoff_ms: U64 | None = None
    retry_after_ms: U64 | None = None
    retry_reason: StrictStr | None = None


class AutomationV2RunRecord(_Rec):
    run_id: StrictStr
    automation_id: StrictStr
    tenant_context: TenantContext = TenantContext(org_id="local", workspace_id="local")
    trigger_type: StrictStr
    status: RunStatus
    created_at_ms: U64
    updated_at_ms: U64
    started_at_ms: U64 | None = None
    finished_at_ms: U64 | None = None
    active_session_ids: list[StrictStr] = Field(default_factory=list)
    latest_session_id: StrictStr | None = None
    active_instance_ids: list[StrictStr] = Field(default_factory=list)
    checkpoint: Checkpoint
    runtime_context: dict[str, Any] | None = None
    automation_snapshot: AutomationV2Spec | None = None
    workflow_definition_version: StrictStr | None = None
    workflow_definition_snapshot_hash: StrictStr | None = None
    execution_claim: ExecutionClaim | None = None
    execution_claim_epoch: U64 = 0
    pause_reason: StrictStr | None = None
    resume_reason: StrictStr | None = None
    detail: StrictStr | None = None
    stop_kind: StopKind | None = None
    stop_reason: StrictStr | None = None
    prompt_tokens: U64 = 0
    completion_tokens: U64 = 0
    total_tokens: U64 = 0
    estimated_cost_usd: F64 = 0.0
    scheduler: SchedulerMetadata | None = None
    trigger_reason: StrictStr | None = None
    consumed_handoff_id: StrictStr | None = None
    learning_summary: dict[str, Any] | None = None
    effective_execution_profile: ExecutionProfile = ExecutionProfile.STRICT
    requested_execution_profile: ExecutionProfile | None = None


def run_validation_error(entry: Any) -> str | None:
    """None when `entry` passes the engine's strict parse, else the first error in one line."""
    try:
        _run_adapter().validate_python(entry)
    except ValidationError as exc:
        return field_error(exc)
    return None


@functools.cache
def _run_adapter() -> TypeAdapter[Any]:
    # The same schema as a TypedDict: a verdict without building model instances (~2x faster).
    return TypeAdapter(typed_dict_for(AutomationV2RunRecord))


# (field, default written when absent) in serialisation order; _OMIT = skipped when null.
_RUN_FIELDS: Final[tuple[tuple[str, Any], ...]] = (
    ("run_id", _OMIT), ("automation_id", _OMIT), ("tenant_context", LOCAL_TENANT), ("trigger_type", _OMIT),
    ("status", _OMIT), ("created_at_ms", _OMIT), ("updated_at_ms", _OMIT), ("started_at_ms", _OMIT),
    ("finished_at_ms", _OMIT), ("active_session_ids", []), ("latest_session_id", _OMIT),
    ("active_instance_ids", []), ("checkpoint", {}), ("runtime_context", _OMIT), ("automation_snapshot", _OMIT),
    ("workflow_definition_version", _OMIT), ("workflow_definition_snapshot_hash", _OMIT),
    ("execution_claim", _OMIT), ("execution_claim_epoch", 0), ("pause_reason", _OMIT), ("resume_reason", _OMIT),
    ("detail", _OMIT), ("stop_kind", _OMIT), ("stop_reason", _OMIT), ("prompt_tokens", 0),
    ("completion_tokens", 0), ("total_tokens", 0), ("estimated_cost_usd", 0.0), ("scheduler", _OMIT),
    ("trigger_reason", _OMIT), ("consumed_handoff_id", _OMIT), ("learning_summary", _OMIT),
    ("effective_execution_profile", "strict"), ("requested_execution_profile", _OMIT),
)
_CHECKPOINT_FIELDS: Final[tuple[tuple[str, Any], ...]] = (
    ("completed_nodes", []), ("pending_nodes", []), ("node_outputs", {}), ("node_attempts", {}),
    ("node_attempt_verdicts", {}), ("blocked_nodes", []), ("awaiting_gate", _OMIT), ("gate_history", []),
    ("lifecycle_history", []), ("last_failure", _OMIT),
)
_TENANT_FIELDS: Final[tuple[tuple[str, Any], ...]] = (
    ("org_id", _OMIT), ("workspace_id", _OMIT), ("deployment_id", _OMIT), ("actor_id", _OMIT),
    ("source", "local_implicit"),
)
_SCHEDULER_FIELDS: Final[tuple[tuple[str, Any], ...]] = (
    ("tenant_context", LOCAL_TENANT), ("queue_reason", None), ("resource_key", _OMIT),
    ("rate_limited_provider", _OMIT), ("queued_at_ms", 0), ("retry_node_id", _OMIT), ("retry_attempt", _OMIT),
    ("retry_backoff_ms", _OMIT), ("retry_after_ms", _OMIT), ("retry_reason", _OMIT),
)


def _ordered(row: Row, fields: tuple[tuple[str, Any], ...]) -> Row:
    """Declared fields first (defaults filled as serde writes them), unknown keys last."""
    out: Row = {}
    for name, default in fields:
        value = row.get(name)
        if value is None:
            if default is _OMIT:
                continue
            value = copy.deepcopy(default)
        out[name] = value
    declared = {name for name, _ in fields}
    for name, value in row.items():
        if name not in declared:
            out[name] = value
    return out


def tenant_struct(tenant: Row | None) -> Row:
    """A TenantContext the way serde writes it: known keys in order, nulls omitted."""
    base = tenant if isinstance(tenant, dict) else LOCAL_TENANT
    return _ordered({key: base.get(key) for key, _ in _TENANT_FIELDS}, _TENANT_FIELDS)


def canonical_run(row: Row) -> Row:
    """Re-key a changed run in declaration order (spec 02 §2.1, §2.3); free-form values sorted."""
    out = _ordered(row, _RUN_FIELDS)
    out["tenant_context"] = _ordered(out["tenant_context"], _TENANT_FIELDS)
    checkpoint = _ordered(out["checkpoint"], _CHECKPOINT_FIELDS)
    checkpoint["node_outputs"] = {key: jsonio.sort_keys_deep(value)
                                  for key, value in checkpoint["node_outputs"].items()}
    out["checkpoint"] = checkpoint
    if isinstance(out.get("scheduler"), dict):
        scheduler = _ordered(out["scheduler"], _SCHEDULER_FIELDS)
        scheduler["tenant_context"] = _ordered(scheduler["tenant_context"], _TENANT_FIELDS)
        out["scheduler"] = scheduler
    cost = out["estimated_cost_usd"]
    if type(cost) is int:
        out["estimated_cost_usd"] = float(cost)  # serde reads an integer into f64 and writes `0.0`
    return out
