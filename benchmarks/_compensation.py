"""Compensation rows, the compensation engine's outbox/receipt rows (spec 01 §11.4), and
wait-timeout dead letters (spec 01 §11.2)."""

from dataclasses import dataclass
from typing import Any, Final

from benchmarks._catalog import WAIT_PHRASES
from benchmarks._format import digest, sha256_hex, short_hash, sort_json
from benchmarks._records import (
    ActionPlan,
    DeadLetterPlan,
    disposition_fields,
    superseded_marker,
)

ENGINE: Final = "stateful_compensation_engine"
WAIT_OPTIONS: Final = ("ignore", "compensate")
WAIT_STATUS: Final = {"cancel": "cancelled", "escalate": "escalated", "remind": "reminded"}


def compensation_kept(action: ActionPlan) -> bool:
    """A later success deletes a pristine compensation and keeps (marks) a touched one."""
    comp = action.compensation
    if comp is None:
        return False
    pristine = comp.status == "proposed" and comp.executed is None
    return action.success is None or not pristine


def compensation_updated_at(action: ActionPlan) -> int:
    comp = action.compensation
    if comp is None:
        raise ValueError(f"action {action.action_id} has no compensation")
    own = comp.updated_at_ms or action.updated_at_ms
    return max(own, action.success.at_ms if action.success else 0)


def _engine_ids(action: ActionPlan) -> tuple[str, str]:
    run_id = action.run_id
    comp_id = action.compensation_id
    outbox = f"outbox-compensation-{short_hash(comp_id, run_id, '1', 'outbox')}"
    return outbox, f"effect-compensation-{short_hash(comp_id, run_id, '1')}"


def render_compensation(action: ActionPlan) -> dict[str, Any]:
    comp = action.compensation
    if comp is None:
        raise ValueError(f"action {action.action_id} has no compensation")
    row: dict[str, Any] = {
        "schema_version": 1, "compensation_id": action.compensation_id, "run_id": action.run_id,
        "scope": action.scope, "status": comp.status, "compensation_type": comp.compensation_type,
        "target_effect_id": action.effect_id, "outbox_id": action.outbox_id,
        "approval_required": True,
    }
    if action.policy_decision_id is not None:
        row["policy_decision_id"] = action.policy_decision_id
    if comp.rollback is not None:
        row["rollback_instruction"] = comp.rollback
    if comp.forward_fix is not None:
        row["forward_fix_instruction"] = comp.forward_fix
    metadata = comp.policy_object()
    if comp.executed is not None:
        receipt_id = _engine_ids(action)[1]
        row["receipt_effect_id"] = receipt_id
        metadata.update(execution_engine=ENGINE, execution_stage="completed",
                        previous_status="proposed", executed_at_ms=comp.executed.at_ms,
                        executed_by={"kind": "human_user", "id": comp.executed.actor_id},
                        receipt_effect_id=receipt_id)
        if comp.executed.reason is not None:
            metadata["execution_reason"] = comp.executed.reason
    row["attempts"] = 1 if comp.executed is not None else 0
    row["created_at_ms"] = action.updated_at_ms
    row["updated_at_ms"] = compensation_updated_at(action)
    row["metadata"] = sort_json({**metadata, **superseded_marker(action)})
    return row


def render_compensation_outbox(action: ActionPlan) -> dict[str, Any]:
    comp = action.compensation
    if comp is None or comp.executed is None:
        raise ValueError(f"compensation of {action.action_id} was not executed")
    outbox_id, receipt_id = _engine_ids(action)
    at = comp.executed.at_ms
    return {
        "schema_version": 1, "outbox_id": outbox_id, "run_id": action.run_id,
        "scope": action.scope, "operation": f"stateful_compensation.{comp.compensation_type}",
        "status": "sent", "source_kind": "stateful_compensation",
        "source_id": action.compensation_id, "provider": "stateful_runtime", "tool": ENGINE,
        "idempotency_key": f"stateful-compensation:{action.compensation_id}:1",
        "effect_id": receipt_id, "receipt_id": receipt_id,
        "compensation_id": action.compensation_id, "attempts": 1, "created_at_ms": at,
        "updated_at_ms": at + 2, "claimed_by": ENGINE, "claimed_at_ms": at,
        "metadata": sort_json({
            "completion_recorded_at_ms": at + 2, "dispatch_completed": True,
            "execution_engine": ENGINE, "forward_fix_instruction": comp.forward_fix,
            "observed_after_execution": True, "observed_before_execution": True,
            "original_outbox_id": action.outbox_id, "receipt_effect_id": receipt_id,
            "rollback_instruction": comp.rollback, "target_effect_id": action.effect_id}),
    }


def render_receipt_effect(action: ActionPlan) -> dict[str, Any]:
    comp = action.compensation
    if comp is None or comp.executed is None:
        raise ValueError(f"compensation of {action.action_id} was not executed")
    outbox_id, receipt_id = _engine_ids(action)
    comp_id = action.compensation_id
    operation = f"stateful_compensation.{comp.compensation_type}"
    receipt = sort_json({"compensation_id": comp_id, "compensation_type": comp.compensation_type,
                         "status": "completed"})
    receipt_digest = digest(receipt)
    at = comp.executed.at_ms + 2
    return {
        "schema_version": 1, "effect_id": receipt_id, "outbox_id": outbox_id,
        "action_id": f"stateful-compensation:{comp_id}", "run_id": action.run_id,
        "scope": action.scope, "status": "succeeded", "operation": operation,
        "source_kind": "stateful_compensation", "source_id": comp_id,
        "provider": "stateful_runtime", "tool": ENGINE, "receipt_payload_digest": receipt_digest,
        "receipt_payload_redacted": receipt,
        "receipt_pointer": f"stateful-compensation://{comp_id}", "redaction_tier": "safe_ui",
        "audit_hash": sha256_hex(receipt_id, comp_id, operation, receipt_digest),
        "compensation_id": comp_id, "created_at_ms": at, "updated_at_ms": at,
        "metadata": sort_json({"execution_engine": ENGINE,
                               "executed_by": {"kind": "human_user", "id": comp.executed.actor_id}}),
    }


@dataclass(slots=True)
class WaitPlan:
    """A durable wait whose timeout created a dead letter (no outbox or effect rows)."""

    run_id: str
    wait_id: str
    scope: dict[str, Any]
    timeout_action: str  # cancel | escalate | remind
    wait_kind: str
    wait_reason: str | None
    created_at_ms: int
    event_seq: int
    lag_ms: int
    dead_letter: DeadLetterPlan

    @property
    def dead_letter_id(self) -> str:
        return f"dead-letter-wait-{short_hash('stateful_wait', self.run_id, self.wait_id)}"

    @property
    def reason(self) -> str:
        phrase = WAIT_PHRASES[self.timeout_action]
        return phrase if self.wait_reason is None else f"{phrase}: {self.wait_reason}"


def render_wait_dead_letter(wait: WaitPlan) -> dict[str, Any]:
    row: dict[str, Any] = {
        "schema_version": 1, "dead_letter_id": wait.dead_letter_id, "source_type": "stateful_wait",
        "source_id": wait.wait_id, "run_id": wait.run_id, "scope": wait.scope,
        "reason": wait.reason, "status": wait.dead_letter.status,
        "recovery_options": list(WAIT_OPTIONS),
        "payload_pointer": f"stateful-wait://{wait.run_id}/{wait.wait_id}", "attempts": 1,
        "created_at_ms": wait.created_at_ms, "updated_at_ms": wait.dead_letter.updated_at_ms,
    }
    disposition_fields(row, wait.dead_letter.disposition)
    row["metadata"] = sort_json({
        "event_seq": wait.event_seq, "lag_ms": wait.lag_ms, "source": "stateful_wait_scheduler",
        "timeout_policy": wait.timeout_action, "wait_kind": wait.wait_kind,
        "wait_status": WAIT_STATUS[wait.timeout_action]})
    return row
