"""Automation-v2 run records (spec 02 §2.1–§2.5) and where their history shards live (§2.8)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from benchmarks._definitions import Automation, Definition, blocked_nodes, descendants, open_phase
from benchmarks._format import RETENTION_MS, sort_json

TERMINAL: Final = frozenset({"completed", "blocked", "failed", "cancelled"})
CLAIMANT: Final = "tandem-server:automation-v2-executor:4242"
REQUEUE_REASON: Final = "stateful_dead_letter_retry_dispatched"
DEFAULT_FAILURE: Final = "external action failed"


@dataclass(frozen=True, slots=True)
class Requeue:
    """The dispatcher's last re-queue of this run for a dead letter."""

    dead_letter_id: str
    source_id: str
    attempts: int
    at_ms: int

    @property
    def detail(self) -> str:
        return (f"dead letter `{self.dead_letter_id}` retry dispatched; re-executing failed "
                "effect through the governed path")


@dataclass(slots=True)
class RunPlan:
    run_id: str
    automation: Automation
    definition: Definition
    status: str
    trigger_type: str
    created_at_ms: int
    started_at_ms: int | None
    updated_at_ms: int
    session_id: str
    claim_id: str
    fail_index: int = 0  # flow position where progress stopped: the failed or next node
    failure_reason: str = DEFAULT_FAILURE
    node_attempts: int = 1
    requeue: Requeue | None = None
    claimed_at_ms: int | None = None  # a later claim than the first one (epoch 2)
    pause_reason: str | None = None
    stop_kind: str | None = None
    stop_reason: str | None = None
    queued_at_ms: int | None = None  # fresh queued runs carry scheduler metadata
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def stop_node(self) -> str:
        ids = self.definition.node_ids
        return ids[min(self.fail_index, len(ids) - 1)]

    @property
    def reclaimed(self) -> bool:
        """Claimed a second time (after a re-queue or an operator resume)."""
        return self.claimed_at_ms is not None and self.claimed_at_ms != self.started_at_ms

    def is_hot(self, now_ms: int) -> bool:
        """Terminal runs past the 7-day retention live only in their history shard."""
        return not self.terminal or self.updated_at_ms > now_ms - RETENTION_MS

    def shard_path(self) -> Path:
        stamp = max(self.updated_at_ms, self.created_at_ms) // 1000
        month = datetime.fromtimestamp(stamp, tz=UTC)
        return Path(f"{month.year:04d}", f"{month.month:02d}", f"{self.run_id}.json")


def _event(name: str, at_ms: int, metadata: dict[str, Any], reason: str | None = None,
           ) -> dict[str, Any]:
    event: dict[str, Any] = {"event": name, "recorded_at_ms": at_ms}
    if reason is not None:
        event["reason"] = reason
    event["metadata"] = sort_json({**metadata, "effective_execution_profile": "strict"})
    return event


def _lifecycle(run: RunPlan) -> list[dict[str, Any]]:
    events = []
    if run.started_at_ms is not None:
        events.append(_event("run_execution_claimed", run.started_at_ms, {"lease_epoch": 1}))
        phase = open_phase(run.definition, set())
        if phase is not None:
            events.append(_event("phase_opened", run.started_at_ms + 1, {
                "phase_id": phase[0], "phase_rank": phase[1], "execution_mode": phase[2]},
                f"phase `{phase[0]}` is now open"))
        if run.status != "queued" or run.requeue is not None:
            started = run.started_at_ms + 2 + run.fail_index * 1500
            events.append(_event("node_started", started, {
                "node_id": run.stop_node, "attempt": run.node_attempts}))
    if run.requeue is not None:
        events.append(_event("stateful_dead_letter_retry_requeued", run.requeue.at_ms, {
            "dead_letter_id": run.requeue.dead_letter_id, "source_id": run.requeue.source_id,
            "attempts": run.requeue.attempts}, run.requeue.detail))
    if run.reclaimed and run.claimed_at_ms is not None:
        events.append(_event("run_execution_claimed", run.claimed_at_ms, {"lease_epoch": 2}))
    return events


def _output(status: str, content: str) -> dict[str, Any]:
    # Written with its keys already sorted: node outputs are free-form JSON.
    if status == "completed":
        return {"content": content, "contract_kind": "generic", "status": status}
    return {"blocker_category": "external_action_failed", "content": content,
            "contract_kind": "generic", "status": status}


def _checkpoint(run: RunPlan) -> dict[str, Any]:
    ids = run.definition.node_ids
    stop = run.stop_node
    done = list(ids) if run.status == "completed" else list(ids[:ids.index(stop)])
    outputs = {node: _output("completed", f"{node} done") for node in done}
    attempts = dict.fromkeys(done, 1)
    pending: list[str] = []
    blocked: list[str] = []
    if run.status in ("failed", "blocked"):
        blocked = [stop]
        outputs[stop] = _output("failed", run.failure_reason)
        attempts[stop] = run.node_attempts
    elif run.status != "completed":
        rest = [node for node in ids if node not in done]
        pending = sorted(descendants(run.definition, [stop])) if run.requeue else rest
        if run.status != "cancelled":
            blocked = blocked_nodes(run.definition, set(done), set(pending))
    checkpoint: dict[str, Any] = {
        "completed_nodes": done, "pending_nodes": pending,
        "node_outputs": dict(sorted(outputs.items())),
        "node_attempts": dict(sorted(attempts.items())), "node_attempt_verdicts": {},
        "blocked_nodes": blocked, "gate_history": [], "lifecycle_history": _lifecycle(run),
    }
    if run.status in ("failed", "blocked"):
        checkpoint["last_failure"] = {"node_id": stop, "reason": run.failure_reason,
                                      "failed_at_ms": run.updated_at_ms - 3,
                                      "failure_kind": "tool_error"}
    return checkpoint


def _detail(run: RunPlan) -> str | None:
    if run.status == "failed":
        return f"node `{run.stop_node}` failed: {run.failure_reason}"
    if run.status == "blocked":
        return f"automation run blocked on node `{run.stop_node}`: {run.failure_reason}"
    if run.status == "running":
        return f"running node `{run.stop_node}` attempt {run.node_attempts}"
    if run.requeue is not None and run.status in ("queued", "completed"):
        return run.requeue.detail
    return run.pause_reason or run.stop_reason


def render_run(run: RunPlan) -> dict[str, Any]:
    """The full, uncompacted AutomationV2RunRecord in serialization order (spec 02 §2.1)."""
    automation: Automation = run.automation
    record: dict[str, Any] = {
        "run_id": run.run_id, "automation_id": automation.automation_id,
        "tenant_context": automation.tenant.context, "trigger_type": run.trigger_type,
        "status": run.status, "created_at_ms": run.created_at_ms,
        "updated_at_ms": run.updated_at_ms,
    }
    if run.started_at_ms is not None:
        record["started_at_ms"] = run.started_at_ms
    if run.terminal:
        record["finished_at_ms"] = run.updated_at_ms
    record["active_session_ids"] = [run.session_id] if run.status == "running" else []
    if run.started_at_ms is not None:
        record["latest_session_id"] = run.session_id
    record["active_instance_ids"] = []
    record["checkpoint"] = _checkpoint(run)
    record["automation_snapshot"] = run.definition.spec
    record["workflow_definition_version"] = run.definition.version
    record["workflow_definition_snapshot_hash"] = run.definition.snapshot_hash
    epoch = int(run.started_at_ms is not None) + int(run.reclaimed)
    claimed_at = run.claimed_at_ms or run.started_at_ms
    if run.status == "running" and claimed_at is not None:
        record["execution_claim"] = {
            "claim_id": run.claim_id, "claimant_id": CLAIMANT, "claimed_at_ms": claimed_at,
            "lease_expires_at_ms": claimed_at + 1_800_000, "lease_epoch": epoch}
    record["execution_claim_epoch"] = epoch
    optional = {"pause_reason": run.pause_reason,
                "resume_reason": REQUEUE_REASON if run.requeue else None,
                "detail": _detail(run), "stop_kind": run.stop_kind, "stop_reason": run.stop_reason}
    record.update((key, value) for key, value in optional.items() if value is not None)
    total = run.prompt_tokens + run.completion_tokens
    record.update(prompt_tokens=run.prompt_tokens, completion_tokens=run.completion_tokens,
                  total_tokens=total, estimated_cost_usd=round(total * 0.000003, 4))
    if run.queued_at_ms is not None:
        record["scheduler"] = {"tenant_context": automation.tenant.context,
                               "queue_reason": "capacity", "queued_at_ms": run.queued_at_ms}
    record["effective_execution_profile"] = "strict"
    return record
