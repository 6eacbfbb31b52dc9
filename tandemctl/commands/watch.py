"""`dead-letters list --watch`: re-read the selection every interval and report what changed. The
diff is pure; the loop takes the clock and the wait from the CLI."""

from collections.abc import Callable
from typing import Any

from tandemctl.commands.list_dead_letters import ListOutcome, run_list
from tandemctl.engine.query import DeadLetterQuery
from tandemctl.engine.rows import Row
from tandemctl.stores.base import Store

Query = DeadLetterQuery  # the selection a watch re-reads (named here for the CLI, which sees no engine types)


def diff_rows(before: dict[str, Row], after: dict[str, Row]) -> list[dict[str, Any]]:
    """added / changed / removed rows, in the order of `after` (removed ones last, by id)."""
    changes: list[dict[str, Any]] = []
    for key, row in after.items():
        old = before.get(key)
        if old is None:
            changes.append({"change": "added", "dead_letter_id": key, "row": row})
        elif old != row:
            changes.append({"change": "changed", "dead_letter_id": key, "from_status": old.get("status"),
                            "row": row})
    changes += [{"change": "removed", "dead_letter_id": key, "row": None} for key in sorted(before)
                if key not in after]
    return changes


def by_id(outcome: ListOutcome) -> dict[str, Row]:
    return {str(row["dead_letter_id"]): row for row in outcome.rows}


def watch(store: Store, query: DeadLetterQuery, *, clock: Callable[[], int],
          show: Callable[[ListOutcome, list[dict[str, Any]]], None], wait: Callable[[], bool]) -> int:
    """Show the selection, then every change, until `wait()` says stop; returns how many reads."""
    previous: dict[str, Row] = {}
    reads = 0
    while True:
        outcome = run_list(store, query, now_ms=clock())
        current = by_id(outcome)
        show(outcome, diff_rows(previous, current))
        previous, reads = current, reads + 1
        if not wait():
            return reads
