"""One dispatcher sweep computed in memory: the loop of `dispatch_ready_stateful_dead_letter_retries`
(spec 02 §4) over loaded state, producing the outcome and every change to make durable. No I/O: the
store loads the state and writes the changes."""

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from tandemctl.engine.audit_chain import (
    DISPATCH_EVENT_TYPE,
    INTERNAL_SWEEP_ACTOR,
    AuditTail,
    build_protected_event,
    dead_letter_retry_payload,
)
from tandemctl.engine.definitions import Definitions
from tandemctl.engine.dispatcher import (
    MAX_DEAD_LETTER_RETRY_ATTEMPTS,
    DeadLetterBook,
    Requeued,
    dead_letter_is_retry_candidate,
    dead_letter_retry_backoff_ms,
    dead_letter_run_is_recoverable,
    exhaust_dead_letter_retries,
    mark_dead_letter_retry_dispatched,
    requeue_run_for_dead_letter_retry,
    resolve_dead_letter_after_success,
)
from tandemctl.engine.dispositions import (
    dead_letter_retry_dispatch_count,
    dead_letter_retry_dispatched_at_ms,
    dead_letter_superseded_by_success,
    visible_to_tenant,
)
from tandemctl.engine.models import LOCAL_TENANT
from tandemctl.engine.rows import Row, RowChange
from tandemctl.engine.run_store import RunStore


class DispatchedItem(BaseModel):
    dead_letter_id: str
    run_id: str
    reset_nodes: list[str]
    retry_dispatch_count: int
    next_eligible_at_ms: int


class SkippedItem(BaseModel):
    dead_letter_id: str
    reason: str


class SweepOutcome(BaseModel):
    """The `data` of `tandemctl sweep`; `acted` is what the engine's dispatcher would return."""

    acted: int = 0
    dispatched: list[DispatchedItem] = Field(default_factory=list)
    resolved: list[str] = Field(default_factory=list)
    exhausted: list[str] = Field(default_factory=list)
    skipped: list[SkippedItem] = Field(default_factory=list)
    runs_requeued: list[str] = Field(default_factory=list)
    dry_run: bool = False
    # What this sweep first finished for an interrupted one (a note on stderr; not in `data`).
    finished_interrupted: str | None = Field(default=None, exclude=True)


RUNS = "automation_v2_runs"  # the collection name of run changes


@dataclass
class SweepChanges:
    runs: dict[str, RowChange] = field(default_factory=dict)  # run id -> its new record (prior: hot entry)
    audit: list[Row] = field(default_factory=list)
    dead_letters: list[RowChange] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.runs or self.audit or self.dead_letters)


@dataclass
class SweepState:
    """What one sweep works on in memory; the store that loaded it makes the changes durable."""

    runs: RunStore
    definitions: Definitions
    dead_letters: DeadLetterBook
    audit: AuditTail


def stored_order(rows: list[Row]) -> list[Row]:
    """The store's order: updated_at_ms descending, stable."""
    return sorted(rows, key=lambda row: row.get("updated_at_ms", 0), reverse=True)


def plan_sweep(state: SweepState, *, now_ms: int, max_dispatches: int | None, tenant: Row | None,
               new_event_id: Callable[[], str]) -> tuple[SweepOutcome, SweepChanges]:
    """Run the dispatcher loop once at `now_ms` against `state`, which it updates in memory."""
    planner = _Planner(state, now_ms, max_dispatches, new_event_id)
    for dead_letter in stored_order(list(state.dead_letters.rows)):
        if tenant is not None and not visible_to_tenant(dead_letter, tenant):
            continue
        if not dead_letter_is_retry_candidate(dead_letter):
            continue
        reason = planner.consider(dead_letter)
        if reason is not None:
            planner.outcome.skipped.append(SkippedItem(dead_letter_id=dead_letter["dead_letter_id"], reason=reason))
    planner.changes.dead_letters = list(state.dead_letters.changes)
    return planner.outcome, planner.changes


class _Planner:
    def __init__(self, state: SweepState, now_ms: int, max_dispatches: int | None,
                 new_event_id: Callable[[], str]) -> None:
        self.state = state
        self.now_ms = now_ms
        self.max_dispatches = max_dispatches
        self.new_event_id = new_event_id
        self.outcome = SweepOutcome()
        self.changes = SweepChanges()
        # A run can own several dead letters; one requeue re-drives them all (once per sweep).
        self.requeued_runs: dict[str, list[str]] = {}

    def consider(self, dead_letter: Row) -> str | None:
        """Steps b–j of spec 02 §4 for one candidate; the skip reason, or None when acted on."""
        run_id = dead_letter.get("run_id")
        if run_id is None:
            return "no_run_id"
        # Re-read per dead letter: a run requeued earlier in this sweep is now seen as queued.
        run = self.state.runs.get_automation_v2_run(run_id)
        if run is None:
            return "run_not_found"
        tenant = run.get("tenant_context") or dict(LOCAL_TENANT)
        if not visible_to_tenant(dead_letter, tenant):
            return "tenant_mismatch"
        book, now = self.state.dead_letters, self.now_ms
        if dead_letter_superseded_by_success(dead_letter):
            return self._acted(resolve_dead_letter_after_success(book, tenant, dead_letter, now),
                               self.outcome.resolved, dead_letter)
        count = dead_letter_retry_dispatch_count(dead_letter)
        if count >= MAX_DEAD_LETTER_RETRY_ATTEMPTS:
            return self._acted(exhaust_dead_letter_retries(book, tenant, dead_letter, now),
                               self.outcome.exhausted, dead_letter)
        if not dead_letter_run_is_recoverable(run["status"]):
            return f"run_not_recoverable:{run['status']}"
        dispatched_at = dead_letter_retry_dispatched_at_ms(dead_letter)
        if dispatched_at is not None and now < dispatched_at + dead_letter_retry_backoff_ms(count):
            return "backoff"
        if self.max_dispatches is not None and len(self.outcome.dispatched) >= self.max_dispatches:
            return "max_reached"
        reset = self.requeued_runs.get(run_id)
        if reset is None:
            result = self._requeue(run, dead_letter)
            if isinstance(result, str):
                return f"requeue_impossible:{result}"
            reset = self.requeued_runs[run_id] = result.reset_nodes
        return self._mark_dispatched(dead_letter, run_id, tenant, count, reset)

    def _acted(self, done: bool, bucket: list[str], dead_letter: Row) -> str | None:
        if not done:
            return "dead_letter_changed"  # only reachable with duplicate dead_letter_ids
        self.outcome.acted += 1
        bucket.append(dead_letter["dead_letter_id"])
        return None

    def _requeue(self, run: Row, dead_letter: Row) -> Requeued | str:
        runs = self.state.runs
        run_id: str = run["run_id"]
        key = runs.hot.index.get(run_id, run_id)
        prior = runs.hot.entries.get(key) if run_id in runs.hot.index else None
        result = requeue_run_for_dead_letter_retry(runs, self.state.definitions, run, dead_letter, self.now_ms)
        if isinstance(result, str):
            return result
        earlier = self.changes.runs.get(run_id)
        self.changes.runs[run_id] = RowChange(RUNS, run_id, earlier.before if earlier else prior, result.run)
        self.outcome.runs_requeued.append(run_id)
        self._audit(result, dead_letter)
        return result

    def _audit(self, result: Requeued, dead_letter: Row) -> None:
        tail = self.state.audit
        envelope = build_protected_event(
            event_id=self.new_event_id(), event_type=DISPATCH_EVENT_TYPE,
            tenant=result.run.get("tenant_context"), actor=INTERNAL_SWEEP_ACTOR,
            payload=dead_letter_retry_payload(result.run, dead_letter, result.detail),
            created_at_ms=self.now_ms, seq=tail.next_seq(), prev_hash=tail.record_hash,
        )
        tail.advance(envelope)
        self.changes.audit.append(envelope)

    def _mark_dispatched(self, dead_letter: Row, run_id: str, tenant: Row, count: int,
                         reset: list[str]) -> str | None:
        next_backoff = dead_letter_retry_backoff_ms(count + 1)
        marked = mark_dead_letter_retry_dispatched(self.state.dead_letters, tenant, dead_letter["dead_letter_id"],
                                                   next_backoff, self.now_ms)
        if marked is None:
            return "dead_letter_changed"
        self.outcome.acted += 1
        self.outcome.dispatched.append(DispatchedItem(
            dead_letter_id=dead_letter["dead_letter_id"], run_id=run_id, reset_nodes=reset,
            retry_dispatch_count=marked["metadata"]["retry_dispatch_count"],
            next_eligible_at_ms=self.now_ms + next_backoff,
        ))
        return None
