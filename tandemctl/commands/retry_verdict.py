"""Would the dispatcher act on a dead letter now, and if not why: the sweep's own decision for the
row (a dry-run plan, `engine/sweep_plan.py`) turned into a sentence and the next step. No I/O."""

from dataclasses import dataclass
from typing import Final

from tandemctl.commands.durations import relative
from tandemctl.commands.history import iso_utc
from tandemctl.engine.dispatcher import (
    MAX_DEAD_LETTER_RETRY_ATTEMPTS,
    dead_letter_retry_backoff_ms,
)
from tandemctl.engine.dispositions import (
    dead_letter_retry_dispatch_count,
    dead_letter_retry_dispatched_at_ms,
    tenant_label,
)
from tandemctl.engine.rows import Row
from tandemctl.engine.sweep_plan import SweepOutcome

# The decisions that are not skip reasons: the sweep acted, or never looked at the row.
DISPATCH: Final = "dispatch"
RESOLVE: Final = "resolve"
EXHAUST: Final = "exhaust"
NOT_CANDIDATE: Final = "not_candidate"
UNKNOWN: Final = "unknown"
_WAIT_STATUSES: Final = frozenset({"queued", "running", "pausing"})
_DONE_STATUSES: Final = frozenset({"completed", "cancelled"})


@dataclass(frozen=True)
class Verdict:
    """`decision` is the sweep's code (its skip reason verbatim, or one of the names above)."""

    decision: str
    acts: bool
    explanation: str
    next_step: str


@dataclass(frozen=True)
class RetryState:
    dispatch_count: int
    max_dispatches: int
    last_dispatch_at_ms: int | None
    next_eligible_at_ms: int | None


def retry_state(dead_letter: Row) -> RetryState:
    """The dispatcher's counters; the next eligible time recomputes the backoff like gate (h)."""
    count = dead_letter_retry_dispatch_count(dead_letter)
    last = dead_letter_retry_dispatched_at_ms(dead_letter)
    nxt = None if last is None else last + dead_letter_retry_backoff_ms(count)
    return RetryState(count, MAX_DEAD_LETTER_RETRY_ATTEMPTS, last, nxt)


def sweep_decision(outcome: SweepOutcome, dead_letter_id: str) -> str:
    """What one planned sweep did with this row: acted (how), skipped (the reason), or nothing."""
    if any(item.dead_letter_id == dead_letter_id for item in outcome.dispatched):
        return DISPATCH
    if dead_letter_id in outcome.resolved:
        return RESOLVE
    if dead_letter_id in outcome.exhausted:
        return EXHAUST
    for skipped in outcome.skipped:
        if skipped.dead_letter_id == dead_letter_id:
            return skipped.reason
    return NOT_CANDIDATE


def explain(decision: str, dead_letter: Row, run: Row | None, *, now_ms: int) -> Verdict:
    """The sentence and next step for `decision` (see `sweep_decision`)."""
    dl_id = dead_letter["dead_letter_id"]
    run_id = dead_letter.get("run_id") or "-"
    if decision == DISPATCH:
        return Verdict(decision, True, f"the next sweep requeues run {run_id} and marks this row retrying "
                       f"(dispatch {retry_state(dead_letter).dispatch_count + 1} of {MAX_DEAD_LETTER_RETRY_ATTEMPTS})",
                       "nothing: the engine's dispatcher (or `tandemctl sweep` with the engine stopped) does it")
    if decision == RESOLVE:
        return Verdict(decision, True, "a later replay of the effect succeeded: the next sweep marks it resolved "
                       "(retry_succeeded)", "nothing: the next sweep settles it")
    if decision == EXHAUST:
        return Verdict(decision, True, f"all {MAX_DEAD_LETTER_RETRY_ATTEMPTS} dispatches are used: the next sweep "
                       "parks it (ignored, retry_exhausted)",
                       f"look at the cause; `tandemctl dead-letters retry {dl_id} --reason ...` grants a fresh budget")
    if decision == NOT_CANDIDATE:
        return _not_candidate(dead_letter)
    if decision == "backoff":
        return _backoff(dead_letter, now_ms)
    if decision.startswith("run_not_recoverable:"):
        return _run_status(decision, decision.partition(":")[2], dl_id)
    if decision.startswith("requeue_impossible:"):
        return _requeue_impossible(decision, decision.partition(":")[2], dl_id, run_id)
    sentence, step = _SIMPLE.get(decision, (f"the sweep skips it ({decision})", "`tandemctl doctor`"))
    tenant = (run or {}).get("tenant_context") or {}
    return Verdict(decision, False, sentence.format(run_id=run_id, run_tenant=tenant_label(tenant)),
                   step.format(id=dl_id, run_id=run_id))


_SIMPLE: Final = {
    "no_run_id": ("it names no run, so the dispatcher has nothing to re-drive",
                  "handle it by hand, then `tandemctl dead-letters resolve {id} --reason ...`"),
    "run_not_found": ("its run {run_id} is in neither the runs file nor a history shard",
                      "check that --state-dir is the engine's; otherwise `tandemctl dead-letters resolve {id}`"),
    "tenant_mismatch": ("its tenant differs from its run's ({run_tenant}): the dispatcher's tenant guard skips it",
                        "park or resolve it: `tandemctl dead-letters park {id} --reason ...`"),
    "max_reached": ("the sweep's --max cap was reached before this row",
                    "sweep again, or raise --max"),
    "dead_letter_changed": ("another row with the same id changed first (duplicate dead_letter_id)",
                            "`tandemctl doctor` names the duplicates"),
}




def _not_candidate(dead_letter: Row) -> Verdict:
    dl_id, status = dead_letter["dead_letter_id"], dead_letter.get("status")
    if dead_letter.get("source_type") != "tool_effect":
        return Verdict(NOT_CANDIDATE, False, f"a {dead_letter.get('source_type')} dead letter: the dispatcher "
                       "re-drives tool effects only", f"settle it in the engine, then `tandemctl dead-letters "
                       f"resolve {dl_id} --reason ...`")
    if "retry" not in (dead_letter.get("recovery_options") or []):
        return Verdict(NOT_CANDIDATE, False, "'retry' is not among its recovery options",
                       f"park, resolve or compensate it: `tandemctl dead-letters park {dl_id} --reason ...`")
    if status == "ignored" and dead_letter.get("operator_disposition") == "retry_exhausted":
        return Verdict(NOT_CANDIDATE, False, "exhausted: the dispatcher used all "
                       f"{MAX_DEAD_LETTER_RETRY_ATTEMPTS} dispatches and parked it",
                       f"fix the cause; `tandemctl dead-letters retry {dl_id} --reason ...` grants a fresh budget")
    if status == "resolved":
        return Verdict(NOT_CANDIDATE, False, "resolved: nothing left to do", "nothing")
    return Verdict(NOT_CANDIDATE, False, f"status is {status}: the dispatcher acts on retry_requested and "
                   "retrying rows only", f"`tandemctl dead-letters retry {dl_id} --reason ...` requests a retry")


def _backoff(dead_letter: Row, now_ms: int) -> Verdict:
    state = retry_state(dead_letter)
    until = state.next_eligible_at_ms or now_ms
    return Verdict("backoff", False, f"backoff until {iso_utc(until)} ({relative(now_ms, until)}) after dispatch "
                   f"{state.dispatch_count} of {state.max_dispatches}",
                   "wait: the first sweep after that time dispatches it")


def _run_status(decision: str, status: str, dl_id: str) -> Verdict:
    if status in _WAIT_STATUSES:
        return Verdict(decision, False, f"run is {status}: the engine is re-executing it",
                       "wait; if the run fails again, the next sweep re-drives it")
    if status in _DONE_STATUSES:
        return Verdict(decision, False, f"run is {status}: only failed or blocked runs are re-driven",
                       f"nothing to retry; `tandemctl dead-letters resolve {dl_id} --reason ...`")
    return Verdict(decision, False, f"run is {status}: only failed or blocked runs are re-driven",
                   "settle the run in the engine (resume, approve or cancel it) first")


_REQUEUE: Final = {
    "missing_automation_snapshot": ("the run has no automation snapshot and its automation is not defined",
                                    "restore the automation definition, or handle the effect by hand"),
    "definition_snapshot_hash_mismatch": ("the automation changed since the run started (definition hash mismatch)",
                                          "the engine will not re-drive it; handle the effect by hand"),
    "no_failed_roots": ("the run records no failed or blocked node to reset",
                        "inspect `tandemctl runs show {run_id}`; handle the effect by hand"),
    "no_reset_nodes": ("none of the run's failed nodes is in its automation's flow",
                       "inspect `tandemctl runs show {run_id}`; handle the effect by hand"),
    "corrupt_run": ("the run's entry in the runs file is corrupt",
                    "let the engine restart (it converts the entry), then sweep again"),
}


def _requeue_impossible(decision: str, why: str, dl_id: str, run_id: str) -> Verdict:
    if why.startswith("run_status:"):
        status = why.partition(":")[2]
        return Verdict(decision, False, f"the stored run is {status} (the requeue's re-check under the lock)",
                       "wait; if the run fails again, the next sweep re-drives it")
    sentence, step = _REQUEUE.get(why, (f"the run cannot be requeued ({why})", "`tandemctl doctor`"))
    return Verdict(decision, False, f"cannot requeue: {sentence}", step.format(id=dl_id, run_id=run_id))
