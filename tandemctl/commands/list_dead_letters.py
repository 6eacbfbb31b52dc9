"""`dead-letters list`: load the store once, select, page."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tandemctl.engine.query import DeadLetterQuery, list_dead_letters
from tandemctl.stores.json_store import JsonFileBackend


@dataclass(frozen=True)
class ListOutcome:
    """Matching dead letters exactly as stored, and the cursor when more remain."""

    rows: list[dict[str, Any]]
    next_cursor: dict[str, Any] | None
    now_ms: int
    source: str


def run_list(backend: JsonFileBackend, query: DeadLetterQuery, *, now_ms: int, env: Mapping[str, str]) -> ListOutcome:
    # A page that can stop early reads the records one by one; `--limit 0` parses them at once.
    rows = backend.dead_letters_for_listing(env, lazy=query.limit > 0)
    page = list_dead_letters(rows, query)
    return ListOutcome(rows=page.rows, next_cursor=page.next_cursor, now_ms=now_ms, source=backend.location)
