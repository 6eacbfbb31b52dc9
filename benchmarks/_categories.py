"""What happened to each dead letter after the bridge created it, one function per category.

Each function takes a failed run and one of its failed actions (dead letter still `open`) and
plays the later history: operator dispositions, dispatcher re-queues, re-failures, successes.
"""

from collections.abc import Callable
from typing import Final

from benchmarks._catalog import UNATTRIBUTED_SCOPE
from benchmarks._format import (
    DAY_MS,
    DISPATCHER_ACTOR,
    HOUR_MS,
    MAX_RETRY_DISPATCHES,
    MINUTE_MS,
    retry_backoff_ms,
)
from benchmarks._planner import Planner
from benchmarks._records import ActionPlan, DeadLetterPlan, Disposition, RetryStamp, Success
from benchmarks._runs import Requeue, RunPlan

EXHAUSTED_REASON: Final = ("automatic retries exhausted after 5 dispatch attempts; parked for "
                           "operator review")
SUCCEEDED_REASON: Final = "dead letter superseded by a successful effect replay"


def _request(p: Planner, run: RunPlan, action: ActionPlan, at: int, status: str = "retry_requested",
             stamp: RetryStamp | None = None) -> None:
    action.dead_letter = DeadLetterPlan(status, stamp.dispatched_at_ms if stamp else at,
                                        p.disposition("retry_requested", run, at), stamp)


def _requeue(p: Planner, run: RunPlan, action: ActionPlan, at: int, pickup: int = 1500) -> int:
    """The dispatcher re-queues the run at `at` and the executor claims it; returns the claim."""
    run.requeue = Requeue(action.dead_letter_id, action.effect_id, action.attempt, at)
    run.claimed_at_ms = at + p.rng.randint(50, pickup)
    return run.claimed_at_ms


def _refail(p: Planner, run: RunPlan, action: ActionPlan, at: int) -> None:
    """Re-queued at `at`, failed again before reaching the same external action."""
    run.updated_at_ms = _requeue(p, run, action, at) + p.rng.randint(2000, 30_000)


def _succeed(p: Planner, run: RunPlan, action: ActionPlan, claimed: int) -> int:
    """The re-executed action succeeds (the bridge marks the dead letter superseded)."""
    success_at = claimed + p.rng.randint(5000, 10 * MINUTE_MS)
    action.success = Success(f"ext-action-{p.uuid()}", success_at - p.rng.randint(200, 3000),
                             success_at)
    run.status = "completed"
    run.updated_at_ms = success_at + p.rng.randint(500, 30_000)
    return success_at


def open_(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """Pristine: exactly as the bridge wrote it."""


def reviewed(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    at = p.after(run.updated_at_ms, MINUTE_MS, 2 * DAY_MS)
    action.dead_letter = DeadLetterPlan("open", at, p.disposition("reviewed", run, at))
    if action.compensation is not None and p.rng.random() < 0.5:
        action.compensation.status, action.compensation.updated_at_ms = "awaiting_approval", at


def ignored(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    _ignore(p, run, action, p.after(run.updated_at_ms, MINUTE_MS, 5 * DAY_MS))


def _ignore(p: Planner, run: RunPlan, action: ActionPlan, at: int) -> None:
    action.dead_letter = DeadLetterPlan("ignored", at, p.disposition("ignored", run, at))
    if action.compensation is not None:  # abandon_with_audit cancels, ignore re-proposes
        action.compensation.status = p.rng.choice(("cancelled", "proposed"))
        action.compensation.updated_at_ms = at


def linked(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    _link(p, run, action, p.after(run.updated_at_ms, MINUTE_MS, 5 * DAY_MS))


def _link(p: Planner, run: RunPlan, action: ActionPlan, at: int) -> None:
    disposition = p.disposition("linked_to_compensation", run, at)
    action.dead_letter = DeadLetterPlan("linked_to_compensation", at, disposition)
    if action.compensation is None and p.rng.random() < 0.85:
        action.compensation = p.new_compensation()
    if action.compensation is not None:  # the compensate choice runs the engine right away
        action.compensation.status = "completed"
        action.compensation.executed = Disposition("executed", disposition.reason,
                                                   disposition.actor_id, at + 1)
        action.compensation.updated_at_ms = at + 3


def candidate(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """retry_requested, tool effect, failed/blocked run in its tenant, no backoff pending."""
    at = p.after(run.updated_at_ms, MINUTE_MS, 3 * DAY_MS)
    stamp = None
    if p.rng.random() < 0.3 and at - run.updated_at_ms > 10 * MINUTE_MS:
        # An earlier retry round re-failed without replacing the row; re-requested since.
        dispatched = p.rng.randint(run.updated_at_ms + MINUTE_MS, at - 5 * MINUTE_MS)
        _refail(p, run, action, dispatched)
        stamp = RetryStamp(p.rng.randint(1, 2), dispatched)
    action.dead_letter = DeadLetterPlan("retry_requested", at,
                                        p.disposition("retry_requested", run, at), stamp)
    p.plan.candidate_ids.append(action.dead_letter_id)


def exhausted(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """Still `retrying` after the 5th dispatch: the next sweep parks it."""
    at = p.after(run.updated_at_ms, MINUTE_MS, 2 * DAY_MS, margin=HOUR_MS)
    dispatched = p.after(at, 10 * MINUTE_MS, 3 * DAY_MS, margin=2 * MINUTE_MS)
    _refail(p, run, action, dispatched)
    _request(p, run, action, at, "retrying", RetryStamp(MAX_RETRY_DISPATCHES, dispatched))


def parked(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """Already parked by the dispatcher: ignored / retry_exhausted."""
    exhausted(p, run, action)
    plan = action.dead_letter
    if plan is not None and plan.retry is not None:
        at = plan.retry.dispatched_at_ms + retry_backoff_ms(5) + p.rng.randint(0, 2000)
        plan.status, plan.updated_at_ms = "ignored", at
        plan.disposition = Disposition("retry_exhausted", EXHAUSTED_REASON, DISPATCHER_ACTOR, at)


def backoff(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """Dispatched moments ago and failed again: still inside its backoff window."""
    count = p.rng.choice((2, 3, 4))
    dispatched = p.now - p.rng.randint(600, retry_backoff_ms(count) - 200)
    at = p.rng.randint(run.updated_at_ms + MINUTE_MS,
                       max(run.updated_at_ms + MINUTE_MS, dispatched - MINUTE_MS))
    claimed = _requeue(p, run, action, dispatched, pickup=150)
    run.updated_at_ms = p.rng.randint(claimed + 50, p.now - 10)
    _request(p, run, action, at, "retrying", RetryStamp(count, dispatched))


def inflight(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """Dispatched within the last hours; the run is queued or running again."""
    low = max(run.updated_at_ms + MINUTE_MS, p.now - 6 * HOUR_MS)
    at = p.rng.randint(low, max(low, p.now - 5 * MINUTE_MS))
    dispatched = at + p.rng.randint(50, 1500)
    claimed = _requeue(p, run, action, dispatched)
    if p.rng.random() < 0.6:
        run.status, run.claimed_at_ms, run.updated_at_ms = "queued", None, dispatched
    else:
        run.status, run.updated_at_ms = "running", claimed
    _request(p, run, action, at, "retrying", RetryStamp(1, dispatched))


def _superseded_retry(p: Planner, run: RunPlan, action: ActionPlan) -> int:
    at = p.after(run.updated_at_ms, MINUTE_MS, 3 * DAY_MS, margin=30 * MINUTE_MS)
    dispatched = at + p.rng.randint(50, 1500)
    success_at = _succeed(p, run, action, _requeue(p, run, action, dispatched))
    _request(p, run, action, at, "retrying", RetryStamp(1, dispatched))
    return success_at


def superseded(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """Retry succeeded, marker written; the next sweep resolves it."""
    _superseded_retry(p, run, action)


def resolved(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    at = _superseded_retry(p, run, action) + p.rng.randint(200, 1500)
    if action.dead_letter is not None:
        action.dead_letter.status, action.dead_letter.updated_at_ms = "resolved", at
        action.dead_letter.disposition = Disposition("retry_succeeded", SUCCEEDED_REASON,
                                                      DISPATCHER_ACTOR, at)


def superseded_other(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """Linked or ignored by an operator, then a manual re-run succeeded anyway."""
    at = p.after(run.updated_at_ms, MINUTE_MS, 5 * DAY_MS, margin=HOUR_MS)
    (_link if p.rng.random() < 0.5 else _ignore)(p, run, action, at)
    run.claimed_at_ms = p.after(at, 10 * MINUTE_MS, 2 * DAY_MS, margin=20 * MINUTE_MS)
    _succeed(p, run, action, run.claimed_at_ms)


def not_recoverable(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """retry_requested, but the run is no longer failed/blocked."""
    at = p.after(run.updated_at_ms, MINUTE_MS, 2 * DAY_MS, margin=HOUR_MS)
    _request(p, run, action, at)
    run.status = p.rng.choice(("running", "paused", "completed", "cancelled"))
    # A running run has a live claim, so it was resumed within the last hour.
    later = p.ago(MINUTE_MS, 59 * MINUTE_MS) if run.status == "running" else p.after(at, MINUTE_MS, DAY_MS)
    run.updated_at_ms = later
    if run.status in ("running", "completed"):
        run.claimed_at_ms = later - p.rng.randint(100, 1000)
    elif run.status == "paused":
        run.pause_reason = "paused by operator for review"
    else:
        run.stop_kind, run.stop_reason = "operator_stopped", "stopped by operator"


def unattributed(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """The bridge could not resolve the run's scope (spec 01 §9.2 step 3)."""
    action.scope = UNATTRIBUTED_SCOPE
    if p.rng.random() < 0.5:
        _request(p, run, action, p.after(run.updated_at_ms, MINUTE_MS, 2 * DAY_MS))


def dangling(p: Planner, run: RunPlan, action: ActionPlan) -> None:
    """The run named by the dead letter exists nowhere (never persisted or purged)."""
    label = p.rng.choice(("open", "retry_requested", "ignored"))
    if label != "open":
        at = p.after(run.updated_at_ms, MINUTE_MS, 2 * DAY_MS)
        action.dead_letter = DeadLetterPlan(label, at, p.disposition(label, run, at))
    p.plan.dangling_ids.append(action.dead_letter_id)


CATEGORIES: Final[dict[str, Callable[[Planner, RunPlan, ActionPlan], None]]] = {
    "open": open_, "reviewed": reviewed, "ignored": ignored, "linked": linked,
    "candidate": candidate, "exhausted": exhausted, "parked": parked, "backoff": backoff,
    "inflight": inflight, "superseded": superseded, "resolved": resolved,
    "superseded_other": superseded_other, "not_recoverable": not_recoverable,
    "unattributed": unattributed, "dangling": dangling,
}
# Categories that can share a failed run with other dead letters (they never re-drive it).
PASSENGERS: Final = ("open", "reviewed", "ignored", "linked")
WEIGHTS: Final = {
    "open": 30, "reviewed": 6, "ignored": 15, "linked": 12, "parked": 3, "exhausted": 2,
    "backoff": 1, "inflight": 6, "superseded": 2, "resolved": 7, "superseded_other": 2,
    "not_recoverable": 4, "unattributed": 1, "dangling": 1,
}
