"""The dead-letter retry dispatcher's decisions and mutations, under the engine's names
(tandem-server `app/state/automation_v2_dead_letter_retry.rs`, the seed). No I/O: it works on
an in-memory `RunStore` and the reliability store's dead-letter rows.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from tandemctl.engine import jsonio
from tandemctl.engine.definitions import (
    Definitions,
    DefinitionUnavailable,
    automation_definition_for_restart_recovery,
    automation_node_ids,
    collect_automation_descendants,
)
from tandemctl.engine.dispositions import (
    DISPATCHER_ACTOR,
    dead_letter_retry_dispatch_count,
    mark_dead_letter_disposition,
    stamp_metadata,
    visible_to_tenant,
)
from tandemctl.engine.records import canonical_row
from tandemctl.engine.rows import Row, RowChange, positions_by_key
from tandemctl.engine.run_lifecycle import (
    record_automation_lifecycle_event_with_metadata,
    refresh_automation_runtime_state,
)
from tandemctl.engine.run_store import RunStore

MAX_DEAD_LETTER_RETRY_ATTEMPTS: Final = 5
DEAD_LETTER_RETRY_BASE_BACKOFF_MS: Final = 1_000
MAX_DEAD_LETTER_RETRY_BACKOFF_MS: Final = 300_000
RESUME_REASON: Final = "stateful_dead_letter_retry_dispatched"
REQUEUED_EVENT: Final = "stateful_dead_letter_retry_requeued"
SUPERSEDED_REASON: Final = "dead letter superseded by a successful effect replay"
_RETRY_STATUSES: Final = frozenset({"retry_requested", "retrying"})
_ACTIVE_OR_DONE: Final = frozenset({"queued", "running", "completed", "cancelled"})


def dead_letter_is_retry_candidate(dead_letter: Row) -> bool:
    """`dead_letter_is_retry_candidate`: a retry-requested/retrying tool-effect with `retry`."""
    options = dead_letter.get("recovery_options") or []
    return (
        dead_letter.get("status") in _RETRY_STATUSES
        and dead_letter.get("source_type") == "tool_effect"
        and "retry" in options
    )


def dead_letter_run_is_recoverable(status: str) -> bool:
    """`dead_letter_run_is_recoverable`: only failed or blocked runs are re-driven."""
    return status in ("failed", "blocked")


def dead_letter_retry_backoff_ms(attempts: int) -> int:
    """`dead_letter_retry_backoff_ms`: min(1000 · 2^min(n, 20), 300000)."""
    return min(DEAD_LETTER_RETRY_BASE_BACKOFF_MS * (1 << min(attempts, 20)), MAX_DEAD_LETTER_RETRY_BACKOFF_MS)


def requeue_detail(dead_letter_id: str) -> str:
    return (f"dead letter `{dead_letter_id}` retry dispatched; "
            "re-executing failed effect through the governed path")


@dataclass(frozen=True)
class Requeued:
    run: Row
    reset_nodes: list[str]
    detail: str


def requeue_run_for_dead_letter_retry(runs: RunStore, definitions: Definitions, run: Row, dead_letter: Row,
                                      now_ms: int) -> Requeued | str:
    """`requeue_run_for_dead_letter_retry` (spec 02 §4.1). Returns the updated run, or why not."""
    try:
        automation = automation_definition_for_restart_recovery(run, definitions)
    except DefinitionUnavailable as exc:
        return exc.reason
    node_ids = set(automation_node_ids(automation))
    checkpoint = run.get("checkpoint", {})
    roots = set(checkpoint.get("blocked_nodes", []))
    failure = checkpoint.get("last_failure")
    if isinstance(failure, dict):
        roots.add(failure["node_id"])
    roots &= node_ids
    if not roots:
        return "no_failed_roots"
    reset = collect_automation_descendants(automation, roots) & node_ids
    if not reset:
        return "no_reset_nodes"
    run_id = run["run_id"]
    if runs.is_corrupt(run_id):
        # The hot entry is kept untouched; the engine re-does the corrupt-entry conversion itself.
        return "corrupt_run"
    stored = runs.stored_row(run_id)
    if stored is None or stored["status"] in _ACTIVE_OR_DONE:
        # The engine's re-check under the write lock; its no-op update is not persisted here.
        return f"run_status:{stored['status'] if stored else 'missing'}"
    detail = requeue_detail(dead_letter["dead_letter_id"])
    mutate = _requeue_mutation(automation, dead_letter, reset, detail, now_ms)
    updated = runs.update_automation_v2_run(run_id, mutate, now_ms)
    assert updated is not None  # stored_row found it a moment ago
    return Requeued(run=updated, reset_nodes=sorted(reset), detail=detail)


def _requeue_mutation(automation: Row, dead_letter: Row, reset: set[str], detail: str,
                      now_ms: int) -> Callable[[Row], None]:
    def mutate(row: Row) -> None:
        row.update(status="queued", finished_at_ms=None, detail=detail, resume_reason=RESUME_REASON,
                   pause_reason=None, stop_kind=None, stop_reason=None, active_session_ids=[],
                   latest_session_id=None, active_instance_ids=[])
        checkpoint = row["checkpoint"]
        checkpoint["awaiting_gate"] = None
        for key in ("node_outputs", "node_attempts"):
            values = checkpoint.get(key, {})
            checkpoint[key] = {node: value for node, value in values.items() if node not in reset}
        for key in ("blocked_nodes", "completed_nodes"):
            checkpoint[key] = [node for node in checkpoint.get(key, []) if node not in reset]
        # Rust: push missing, sort (byte order == code-point order for UTF-8), dedup.
        checkpoint["pending_nodes"] = sorted(set(checkpoint.get("pending_nodes", [])) | reset)
        checkpoint["last_failure"] = None
        record_automation_lifecycle_event_with_metadata(
            row, REQUEUED_EVENT, detail, None,
            {"dead_letter_id": dead_letter["dead_letter_id"], "source_id": dead_letter["source_id"],
             "attempts": dead_letter.get("attempts", 0)},
            now_ms=now_ms,
        )
        refresh_automation_runtime_state(automation, row, now_ms=now_ms)

    return mutate


@dataclass
class DeadLetterBook:
    """The store's dead-letter rows plus the transitions made to them, in order."""

    rows: list[Row]
    changes: list[RowChange] = field(default_factory=list)
    _positions: dict[str, list[int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._positions = positions_by_key(self.rows, "dead_letter_id")

    def edit(self, dead_letter_id: str, tenant: Row, apply: Callable[[Row], None],
             statuses: frozenset[str] | None = None) -> Row | None:
        """Like the engine's mark_* helpers: first row with that id visible to `tenant`."""
        for index in self._positions.get(dead_letter_id, []):
            row = self.rows[index]
            if visible_to_tenant(row, tenant) and (statuses is None or row.get("status") in statuses):
                target = jsonio.clone(row)
                apply(target)
                target = canonical_row(target, "dead_letters")
                self.rows[index] = target
                self.changes.append(RowChange("dead_letters", dead_letter_id, row, target))
                return target
        return None


def resolve_dead_letter_after_success(book: DeadLetterBook, tenant: Row, dead_letter: Row, now_ms: int) -> bool:
    """`resolve_dead_letter_after_success`: `resolved` / `retry_succeeded`; idempotent."""
    if dead_letter.get("status") == "resolved":
        return False
    return book.edit(dead_letter["dead_letter_id"], tenant, lambda row: mark_dead_letter_disposition(
        row, status="resolved", disposition="retry_succeeded", reason=SUPERSEDED_REASON,
        actor_id=DISPATCHER_ACTOR, now_ms=now_ms)) is not None


def exhaust_dead_letter_retries(book: DeadLetterBook, tenant: Row, dead_letter: Row, now_ms: int) -> bool:
    """`exhaust_dead_letter_retries`: `ignored` / `retry_exhausted`; idempotent."""
    if dead_letter.get("status") == "ignored":
        return False
    reason = (f"automatic retries exhausted after {dead_letter_retry_dispatch_count(dead_letter)} "
              "dispatch attempts; parked for operator review")
    return book.edit(dead_letter["dead_letter_id"], tenant, lambda row: mark_dead_letter_disposition(
        row, status="ignored", disposition="retry_exhausted", reason=reason,
        actor_id=DISPATCHER_ACTOR, now_ms=now_ms)) is not None


def mark_dead_letter_retry_dispatched(book: DeadLetterBook, tenant: Row, dead_letter_id: str, next_backoff_ms: int,
                                      now_ms: int) -> Row | None:
    """`mark_dead_letter_retry_dispatched` (reliability_retry.rs): `retrying` plus the §10.2 keys."""
    def apply(row: Row) -> None:
        count = dead_letter_retry_dispatch_count(row) + 1
        row["status"] = "retrying"
        row["updated_at_ms"] = now_ms
        stamp_metadata(row, {"retry_dispatch_count": count, "retry_dispatched_at_ms": now_ms,
                             "retry_backoff_ms": next_backoff_ms})

    return book.edit(dead_letter_id, tenant, apply, _RETRY_STATUSES)
