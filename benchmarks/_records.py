"""Reliability-store rows for one external action, as the bridge writes them (spec 01 §4, §9).

An `ActionPlan` holds every choice made for one action; the render functions turn it into
rows with keys in declaration order and free-form JSON sorted.
"""

from dataclasses import dataclass, field
from typing import Any, Final

from benchmarks._catalog import Operation
from benchmarks._format import digest, retry_backoff_ms, sha256_hex, short_hash, sort_json

TOOL_EFFECT_OPTIONS: Final = ("retry", "ignore", "compensate")


@dataclass(frozen=True, slots=True)
class Disposition:
    label: str  # operator_disposition
    reason: str | None
    actor_id: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class RetryStamp:
    """The dispatcher's metadata stamp after its `count`-th dispatch (spec 01 §10.2)."""

    count: int
    dispatched_at_ms: int


@dataclass(slots=True)
class DeadLetterPlan:
    status: str
    updated_at_ms: int
    disposition: Disposition | None = None
    retry: RetryStamp | None = None


@dataclass(slots=True)
class CompensationPlan:
    compensation_type: str
    rollback: str | None
    forward_fix: str | None
    status: str = "proposed"
    updated_at_ms: int | None = None  # None: untouched since the bridge created it
    executed: Disposition | None = None  # set when the compensation engine completed it

    def policy_object(self) -> dict[str, Any]:
        """The `compensation` object of the action metadata; the row's metadata copies it."""
        policy: dict[str, Any] = {"type": self.compensation_type, "approval_required": True}
        if self.rollback is not None:
            policy["rollback_instruction"] = self.rollback
        if self.forward_fix is not None:
            policy["forward_fix_instruction"] = self.forward_fix
        return policy


@dataclass(frozen=True, slots=True)
class Success:
    """A later successful replay of the same idempotency key (spec 01 §9.5)."""

    action_id: str
    created_at_ms: int
    at_ms: int


@dataclass(slots=True)
class ActionPlan:
    key: str  # idempotency key
    action_id: str
    run_id: str
    scope: dict[str, Any]
    node_id: str
    operation: Operation
    target: str
    attempt: int
    created_at_ms: int
    updated_at_ms: int
    failed: bool
    error: str | None = None
    policy_decision_id: str | None = None
    compensation: CompensationPlan | None = None
    dead_letter: DeadLetterPlan | None = None
    success: Success | None = None
    short: str = field(init=False)

    def __post_init__(self) -> None:
        self.short = short_hash(self.key.strip())

    @property
    def effect_id(self) -> str:
        return f"effect-{self.short}"

    @property
    def outbox_id(self) -> str:
        return f"outbox-{self.short}"

    @property
    def dead_letter_id(self) -> str:
        return f"dead-letter-effect-{self.short}"

    @property
    def compensation_id(self) -> str:
        return f"compensation-effect-{self.short}"

    @property
    def replaced(self) -> bool:
        """True when a success replaced the failed outbox and effect rows."""
        return self.success is not None or not self.failed

    def current_action(self) -> tuple[str, int, int]:
        if self.success is not None:
            return self.success.action_id, self.success.created_at_ms, self.success.at_ms
        return self.action_id, self.created_at_ms, self.updated_at_ms


def _receipt(action: ActionPlan, action_id: str) -> dict[str, Any]:
    # Free-form JSON, so every object is built with its keys already sorted.
    request = {"authorization": "[redacted]", "target": action.target}
    if action.replaced:
        result = {"id": f"{action.operation.provider}-{action_id[-12:]}", "ok": True}
        return {"request": request, "result": result, "status": "posted"}
    return {"error": {"message": action.error or "failed"}, "request": request,
            "status": "failed"}


def _payload(action: ActionPlan) -> dict[str, Any]:
    return {"input": {"node_id": action.node_id, "target": action.target}}


def render_outbox(action: ActionPlan) -> dict[str, Any]:
    op = action.operation
    action_id, created, updated = action.current_action()
    row: dict[str, Any] = {
        "schema_version": 1, "outbox_id": action.outbox_id, "run_id": action.run_id,
        "scope": action.scope, "operation": op.name,
        "status": "sent" if action.replaced else "failed", "source_kind": "external_action",
        "source_id": action_id, "node_id": action.node_id, "provider": op.provider,
        "tool": op.tool, "target": action.target, "idempotency_key": action.key,
        "payload_digest": digest(_payload(action)),
    }
    if action.policy_decision_id is not None:
        row["policy_decision_id"] = action.policy_decision_id
    row["effect_id"] = row["receipt_id"] = action.effect_id
    if not action.replaced:
        if action.compensation is not None:
            row["compensation_id"] = action.compensation_id
        if action.dead_letter is not None:
            row["dead_letter_id"] = action.dead_letter_id
    row.update(attempts=action.attempt, created_at_ms=created, updated_at_ms=updated)
    row["metadata"] = {"bridged_from": "external_action_record", "external_action_id": action_id,
                       "observed_after_execution": True}
    return row


def render_effect(action: ActionPlan) -> dict[str, Any]:
    op = action.operation
    action_id, created, updated = action.current_action()
    receipt = _receipt(action, action_id)
    receipt_digest = digest(receipt)
    row: dict[str, Any] = {
        "schema_version": 1, "effect_id": action.effect_id, "outbox_id": action.outbox_id,
        "action_id": action_id, "run_id": action.run_id, "scope": action.scope,
        "status": "succeeded" if action.replaced else "failed", "operation": op.name,
        "source_kind": "external_action", "source_id": action_id, "node_id": action.node_id,
        "provider": op.provider, "tool": op.tool, "target": action.target,
        "external_resource": {"capability_id": op.capability_id, "provider": op.provider,
                              "target": action.target},
    }
    if action.policy_decision_id is not None:
        row["policy_decision_id"] = action.policy_decision_id
    row["input_digest"] = digest(_payload(action))
    row["output_digest"] = digest(receipt.get("result", receipt))
    row["receipt_payload_digest"] = receipt_digest
    row["receipt_payload_redacted"] = receipt
    row["receipt_pointer"] = f"external-action://{action_id}"
    row["redaction_tier"] = "safe_ui"
    status = "posted" if action.replaced else "failed"
    row["audit_hash"] = sha256_hex(action.effect_id, action_id, op.name, status, receipt_digest)
    if not action.replaced:
        if action.error is not None:
            row["error"] = action.error
        if action.compensation is not None:
            row["compensation_id"] = action.compensation_id
    row.update(created_at_ms=created, updated_at_ms=updated)
    row["metadata"] = {"approval_state": None, "context_run_id": f"automation-v2-{action.run_id}",
                       "idempotency_key": action.key, "routine_run_id": None}
    return row


def superseded_marker(action: ActionPlan) -> dict[str, Any]:
    if action.success is None:
        return {}
    return {"superseded_at_ms": action.success.at_ms, "superseded_by_effect_id": action.effect_id,
            "superseded_by_outbox_id": action.outbox_id, "superseded_by_success": True}


def disposition_fields(row: dict[str, Any], disposition: Disposition | None) -> None:
    if disposition is None:
        return
    row["operator_disposition"] = disposition.label
    if disposition.reason is not None:
        row["disposition_reason"] = disposition.reason
    row["disposition_actor"] = {"kind": "human_user", "id": disposition.actor_id}
    row["disposition_at_ms"] = disposition.at_ms


def retry_metadata(stamp: RetryStamp | None) -> dict[str, Any]:
    if stamp is None:
        return {}
    return {"retry_backoff_ms": retry_backoff_ms(stamp.count), "retry_dispatch_count": stamp.count,
            "retry_dispatched_at_ms": stamp.dispatched_at_ms}


def dead_letter_updated_at(action: ActionPlan) -> int:
    """A later success bumps a kept dead letter to the success time (spec 01 §9.5)."""
    if action.dead_letter is None:
        raise ValueError(f"action {action.action_id} has no dead letter")
    own = action.dead_letter.updated_at_ms
    return max(own, action.success.at_ms if action.success else 0)


def render_dead_letter(action: ActionPlan) -> dict[str, Any]:
    plan = action.dead_letter
    if plan is None:
        raise ValueError(f"action {action.action_id} has no dead letter")
    marker = superseded_marker(action)
    row: dict[str, Any] = {
        "schema_version": 1, "dead_letter_id": action.dead_letter_id, "source_type": "tool_effect",
        "source_id": action.effect_id, "run_id": action.run_id, "scope": action.scope,
        "reason": action.error or f"external action `{action.operation.name}` failed",
        "status": plan.status, "recovery_options": list(TOOL_EFFECT_OPTIONS),
        "payload_pointer": f"external-action://{action.action_id}",
    }
    if action.compensation is not None:
        row["compensation_id"] = action.compensation_id
    row["attempts"] = action.attempt
    row["created_at_ms"] = action.updated_at_ms
    row["updated_at_ms"] = dead_letter_updated_at(action)
    disposition_fields(row, plan.disposition)
    row["metadata"] = sort_json({"idempotency_key": action.key, "operation": action.operation.name,
                                 "status": "failed", **retry_metadata(plan.retry), **marker})
    return row
