"""`runs show RUN_ID` and `events tail`: a run with its dead letters and requeue history, and the
runtime events (spec 02 §1.3), both through the storage seam and scoped to the tenant."""

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from tandemctl.commands.invocation import Invocation
from tandemctl.commands.show import run_dead_letters, run_summary
from tandemctl.engine.dispatcher import REQUEUED_EVENT
from tandemctl.engine.dispositions import dead_letter_retry_dispatch_count, tenant_key
from tandemctl.engine.models import LOCAL_TENANT
from tandemctl.engine.rows import Row
from tandemctl.errors import NotFoundError, UsageError

LIFECYCLE_SHOWN: Final = 20
EVENTS_SHOWN: Final = 10


@dataclass(frozen=True)
class RunOutcome:
    run: Row
    dead_letters: list[Row]
    requeues: list[Row]
    lifecycle: list[Row]
    events: list[Row]
    now_ms: int

    def data(self) -> dict[str, Any]:
        return {"run": run_summary(self.run), "dead_letters": self.dead_letters, "requeues": self.requeues,
                "lifecycle": self.lifecycle, "events": self.events, "record": self.run}


def _run_visible(run: Row, tenant: Row | None) -> bool:
    return tenant is None or tenant_key(run.get("tenant_context") or dict(LOCAL_TENANT)) == tenant_key(tenant)


def _dead_letter_line(row: Row) -> Row:
    return {"dead_letter_id": row["dead_letter_id"], "status": row.get("status"), "reason": row.get("reason"),
            "retry_dispatch_count": dead_letter_retry_dispatch_count(row), "updated_at_ms": row.get("updated_at_ms")}


def show_run(inv: Invocation, run_id: str) -> RunOutcome:
    store = inv.store()
    run = store.get_run(run_id)
    if run is None or not _run_visible(run, inv.tenant):
        raise NotFoundError(f"run {run_id!r} not found in the runs file or the history shards (runs of other "
                            "tenants need --tenant or --all-tenants)", run_id=run_id)
    rows = run_dead_letters(store, run_id, inv.tenant)
    history = [e for e in (run.get("checkpoint") or {}).get("lifecycle_history", []) if isinstance(e, dict)]
    return RunOutcome(
        run=run, dead_letters=[_dead_letter_line(row) for row in rows],
        requeues=[e for e in history if e.get("event") == REQUEUED_EVENT],
        lifecycle=history[-LIFECYCLE_SHOWN:], events=tail_events(inv, run_id=run_id, event_type=None,
                                                               limit=EVENTS_SHOWN),
        now_ms=inv.now_ms,
    )


def _event_visible(event: Row, tenant: Row | None) -> bool:
    if tenant is None:
        return True
    context = event.get("tenant_context")
    return tenant_key(context if isinstance(context, dict) else dict(LOCAL_TENANT)) == tenant_key(tenant)


def _type_matches(event: Row, pattern: str | None) -> bool:
    return pattern is None or fnmatch.fnmatchcase(str(event.get("event_type")), pattern)


def tail_events(inv: Invocation, *, run_id: str | None, event_type: str | None, limit: int) -> list[Row]:
    """The last `limit` events (0 = all) in scope, oldest first; `event_type` may be a glob."""
    if limit < 0:
        raise UsageError("-n: must be 0 (all) or a positive number")
    simple = event_type is None and inv.tenant is None
    events = inv.store().run_events(run_id, limit if simple else 0)
    chosen = [e for e in events if _type_matches(e, event_type) and _event_visible(e, inv.tenant)]
    return chosen[-limit:] if limit else chosen


def _key(event: Row) -> tuple[str, str]:
    return str(event.get("event_id")), str(event.get("seq"))


def follow_events(inv: Invocation, *, run_id: str | None, event_type: str | None, limit: int,
                  emit: Callable[[list[Row]], None], wait: Callable[[], bool]) -> None:
    """Emit the last `limit` events, then every new one as it is appended, until `wait()` says stop.
    New = an (event_id, seq) not seen before (the engine's seq restarts with the process)."""
    first = tail_events(inv, run_id=run_id, event_type=event_type, limit=limit)
    seen = {_key(e) for e in tail_events(inv, run_id=run_id, event_type=event_type, limit=0)}
    emit(first)
    while wait():
        fresh = [e for e in tail_events(inv, run_id=run_id, event_type=event_type, limit=0) if _key(e) not in seen]
        seen.update(_key(e) for e in fresh)
        if fresh:
            emit(fresh)
