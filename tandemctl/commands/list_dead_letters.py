"""`dead-letters list`: load the store once, select, page."""

from dataclasses import dataclass
from typing import Any

from tandemctl.engine.query import DeadLetterQuery
from tandemctl.stores.base import Store


@dataclass(frozen=True)
class ListOutcome:
    """Matching dead letters exactly as stored, and the cursor when more remain."""

    rows: list[dict[str, Any]]
    next_cursor: dict[str, Any] | None
    now_ms: int
    source: str
    notes: tuple[str, ...] = ()


def run_list(store: Store, query: DeadLetterQuery, *, now_ms: int) -> ListOutcome:
    page = store.list_dead_letters(query)
    info = store.info
    return ListOutcome(rows=page.rows, next_cursor=page.next_cursor, now_ms=now_ms, source=info.location,
                       notes=info.notes)
