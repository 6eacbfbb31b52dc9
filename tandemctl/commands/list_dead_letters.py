"""`dead-letters list`: one page of dead letters from the store, with the engine's semantics."""

from dataclasses import dataclass, replace
from typing import Any

from tandemctl.engine.dispositions import tenant_label
from tandemctl.engine.query import DeadLetterQuery
from tandemctl.stores.base import Store


@dataclass(frozen=True)
class ListOutcome:
    """Matching dead letters exactly as stored, and the cursor when more remain."""

    rows: list[dict[str, Any]]
    next_cursor: dict[str, Any] | None
    now_ms: int
    source: str
    notes: tuple[str, ...] = ()  # what the store says about how far to trust this answer
    tenant: str | None = None  # the tenant shown; None: all tenants
    elsewhere: int = 0  # rows matching the filters that other tenants hold


def run_list(store: Store, query: DeadLetterQuery, *, now_ms: int, count_elsewhere: bool = False) -> ListOutcome:
    """One page; with `count_elsewhere`, also how many matching rows other tenants hold (one more read).
    The outcome's notes are what the store learned while listing (its notes from opening were shown then)."""
    known = set(store.info.notes)
    page = store.list_dead_letters(query)
    info = store.info
    elsewhere = 0
    if count_elsewhere and query.tenant is not None:
        # Counted, not listed: a database answers with one count on its index columns when it can.
        elsewhere = store.count_elsewhere(replace(query, after_id=None, before_created_at_ms=None, limit=0))
    label = None if query.tenant is None else tenant_label(query.tenant)
    return ListOutcome(rows=page.rows, next_cursor=page.next_cursor, now_ms=now_ms, source=info.location,
                       notes=tuple(note for note in info.notes if note not in known), tenant=label, elsewhere=elsewhere)
