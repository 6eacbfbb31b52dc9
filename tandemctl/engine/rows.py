"""The raw record type shared by every layer (a JSON object exactly as the engine stored it), and
finding rows by their primary key."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]


def first_by_key(rows: Iterable[Row], key: str,
                 keep: Callable[[Row], bool] | None = None) -> dict[Any, tuple[int, Row]]:
    """The first row (and its position) per key value, like the engine's by-id lookups;
    `keep` filters rows first (e.g. tenant visibility)."""
    found: dict[Any, tuple[int, Row]] = {}
    for index, row in enumerate(rows):
        value = row.get(key)
        if value not in found and (keep is None or keep(row)):
            found[value] = (index, row)
    return found


def positions_by_key(rows: Iterable[Row], key: str) -> dict[Any, list[int]]:
    """Every position per key value (a JSON store may hold one id twice)."""
    positions: dict[Any, list[int]] = {}
    for index, row in enumerate(rows):
        positions.setdefault(row.get(key), []).append(index)
    return positions


@dataclass(frozen=True)
class RowChange:
    """One row's compare-and-set: it is written as `after` only while it is still exactly `before`
    (None: absent; `after` None: removed). The one change type of actions, undo and the sweep."""

    collection: str
    key: str
    before: Row | None
    after: Row | None


def apply_changes_to_rows(rows: list[Row], key_name: str,
                          changes: Iterable[RowChange]) -> tuple[list[RowChange], list[RowChange]]:
    """Apply each change whose row is still its `before`, in place; a row already at its `after`
    counts as done. Returns (applied, conflicting): conflicting rows are neither, and untouched."""
    positions = first_by_key(rows, key_name)
    applied: list[RowChange] = []
    conflicts: list[RowChange] = []
    removed: set[int] = set()
    for change in changes:
        at = positions.get(change.key)
        current = rows[at[0]] if at is not None and at[0] not in removed else None
        if current == change.after:
            continue
        if current != change.before:
            conflicts.append(change)
            continue
        if at is not None and change.after is None:
            removed.add(at[0])
        elif at is not None and change.after is not None:
            rows[at[0]] = change.after
        elif change.after is not None:
            rows.append(change.after)
        applied.append(change)
    if removed:
        rows[:] = [row for index, row in enumerate(rows) if index not in removed]
    return applied, conflicts


def compensations_targeting(compensations: Iterable[Row], effect_id: str) -> list[Row]:
    """The compensations whose `target_effect_id` is `effect_id`, in their order."""
    return [row for row in compensations if row.get("target_effect_id") == effect_id]
