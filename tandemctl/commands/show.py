"""`dead-letters show ID`: everything needed to decide on one dead letter, gathered through the
storage seam: the row, its effect, outbox and compensations, its run, the retry state and the
dispatcher's verdict, its journal entries and the run's last runtime events."""

from dataclasses import asdict, dataclass
from typing import Any, Final

from tandemctl.commands.history import load_history
from tandemctl.commands.invocation import Invocation
from tandemctl.commands.retry_verdict import UNKNOWN, RetryState, Verdict, explain, retry_state, sweep_decision
from tandemctl.engine.dispositions import visible_to_tenant
from tandemctl.engine.query import DeadLetterQuery
from tandemctl.engine.rows import Row
from tandemctl.errors import NotFoundError, TandemctlError
from tandemctl.stores.base import RowScope, Store, SweepArgs

EVENTS_SHOWN: Final = 10


@dataclass(frozen=True)
class ShowOutcome:
    dead_letter: Row
    tool_effect: Row | None
    outbox: Row | None
    compensations: list[Row]
    run: Row | None
    run_dead_letters: int
    retry: RetryState
    verdict: Verdict
    journal: list[Row]
    events: list[Row]
    now_ms: int

    def data(self) -> dict[str, Any]:
        """The `-o json` contract."""
        return {
            "dead_letter": self.dead_letter, "tool_effect": self.tool_effect, "outbox": self.outbox,
            "compensations": self.compensations,
            "run": None if self.run is None else {**run_summary(self.run), "dead_letters": self.run_dead_letters},
            "retry": asdict(self.retry), "dispatcher": asdict(self.verdict),
            "journal": self.journal, "events": self.events,
        }


def run_summary(run: Row) -> Row:
    """What a person needs of a run record to decide (the full record stays in `runs show`)."""
    checkpoint = run.get("checkpoint") or {}
    return {
        "run_id": run["run_id"], "automation_id": run.get("automation_id"), "status": run.get("status"),
        "trigger_type": run.get("trigger_type"), "tenant_context": run.get("tenant_context"),
        "created_at_ms": run.get("created_at_ms"), "updated_at_ms": run.get("updated_at_ms"),
        "finished_at_ms": run.get("finished_at_ms"), "detail": run.get("detail"),
        "blocked_nodes": checkpoint.get("blocked_nodes", []), "pending_nodes": checkpoint.get("pending_nodes", []),
        "completed_nodes": checkpoint.get("completed_nodes", []), "last_failure": checkpoint.get("last_failure"),
    }


def find_dead_letter(rows: list[Row], dead_letter_id: str, tenant: Row | None) -> Row:
    for row in rows:
        if row.get("dead_letter_id") == dead_letter_id and (tenant is None or visible_to_tenant(row, tenant)):
            return row
    raise NotFoundError(f"dead letter {dead_letter_id!r} not found (rows of other tenants need --tenant or "
                        "--all-tenants)", dead_letter_id=dead_letter_id)


def _first(rows: list[Row], key: str, value: Any) -> Row | None:
    return next((row for row in rows if value is not None and row.get(key) == value), None)


def dispatcher_verdict(store: Store, dead_letter: Row, run: Row | None, *, now_ms: int,
                       lock_timeout: float) -> Verdict:
    """The sweep's own plan (a dry run over every tenant, like the engine's) for this row."""
    try:
        outcome = store.sweep(SweepArgs(now_ms=now_ms, dry_run=True, max_dispatches=None, tenant=None,
                                        lock_timeout=lock_timeout))
    except TandemctlError as exc:
        return Verdict(UNKNOWN, False, f"cannot tell: the sweep cannot plan ({exc.message})",
                       "`tandemctl doctor` checks every file")
    return explain(sweep_decision(outcome, dead_letter["dead_letter_id"]), dead_letter, run, now_ms=now_ms)


def run_dead_letters(store: Store, run_id: str, tenant: Row | None = None) -> list[Row]:
    """The dead letters whose run_id is exactly `run_id` (and visible to `tenant`, when given). The
    run filter's normalised match is wider: a database reads just those rows, the exact ones are kept."""
    candidates = store.load_dead_letters(RowScope(DeadLetterQuery(tenant=tenant, run_id=run_id, limit=0)))
    return [row for row in candidates
            if row.get("run_id") == run_id and (tenant is None or visible_to_tenant(row, tenant))]


def show_dead_letter(inv: Invocation, dead_letter_id: str) -> ShowOutcome:
    store = inv.store()
    # Only the rows this screen names: a database looks them up instead of reading every table.
    dead_letter = find_dead_letter(store.load_dead_letters(RowScope(ids=frozenset({dead_letter_id}))), dead_letter_id,
                                   inv.tenant)
    effect = None
    source_id = dead_letter.get("source_id")
    if dead_letter.get("source_type") == "tool_effect" and isinstance(source_id, str):
        effect = _first(store.load_collection("tool_effects", frozenset({source_id})), "effect_id", source_id)
    outbox_id = (effect or {}).get("outbox_id")
    outbox = _first(store.load_collection("outbox", frozenset({outbox_id})), "outbox_id", outbox_id) \
        if isinstance(outbox_id, str) else None
    effect_id = (effect or {}).get("effect_id")
    compensations = store.compensations_of(effect_id) if isinstance(effect_id, str) else []
    run_id = dead_letter.get("run_id")
    run = store.get_run(run_id) if run_id else None
    owned = 0 if run_id is None else len(run_dead_letters(store, run_id))
    return ShowOutcome(
        dead_letter=dead_letter, tool_effect=effect, outbox=outbox, compensations=compensations, run=run,
        run_dead_letters=owned, retry=retry_state(dead_letter),
        verdict=dispatcher_verdict(store, dead_letter, run, now_ms=inv.now_ms, lock_timeout=inv.lock_timeout),
        journal=load_history(store.journal_file, tenant=inv.tenant, dead_letter_id=dead_letter_id, limit=0),
        events=store.run_events(run_id, EVENTS_SHOWN) if run_id else [],
        now_ms=inv.now_ms,
    )
