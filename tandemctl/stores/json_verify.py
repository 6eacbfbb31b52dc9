"""What one write changed, and putting it back if an unlocked writer reverted it.

Pure functions over the raw top-level store object; no I/O. Used by json_file.py's verified
mutate: the engine writes without any lock (spec 01 §7.1), so a version it read before our
rename can land after it and silently revert our rows.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tandemctl.engine.models import COLLECTIONS
from tandemctl.engine.rows import Row, RowChange
from tandemctl.errors import CorruptStateError


def _index(top: dict[str, Any], collection: str) -> dict[str, Row]:
    _, key = COLLECTIONS[collection]
    rows = top.get(collection)
    return {row[key]: row for row in rows if isinstance(row, dict)} if isinstance(rows, list) else {}


def diff_rows(before: dict[str, Any], after: dict[str, Any]) -> list[RowChange]:
    """Every row (by collection and primary key) whose value differs between the two stores."""
    changes: list[RowChange] = []
    for collection in COLLECTIONS:
        old, new = _index(before, collection), _index(after, collection)
        for key in old.keys() | new.keys():
            if old.get(key) != new.get(key):
                changes.append(RowChange(collection, key, old.get(key), new.get(key)))
    return changes


def restore_rows(changes: Sequence[RowChange], top: dict[str, Any]) -> bool:
    """Re-apply our change to every row that is back in its `before` state; True if any was.

    A row that is neither our `before` nor our `after` moved on through someone else's
    legitimate change (the dispatcher, the bridge): that change wins and is left alone.
    """
    restored = False
    for collection in COLLECTIONS:
        wanted = {change.key: change for change in changes if change.collection == collection}
        if wanted and _restore_collection(top, collection, wanted):
            restored = True
    return restored


def _restore_collection(top: dict[str, Any], collection: str, wanted: dict[str, RowChange]) -> bool:
    _, key_name = COLLECTIONS[collection]
    rows: list[Row] = top.setdefault(collection, [])
    current = _index(top, collection)
    reverted = {key for key, change in wanted.items() if current.get(key) == change.before}
    if not reverted:
        return False
    kept: list[Row] = []
    for row in rows:
        key = row.get(key_name)
        if key in reverted:
            after = wanted[key].after
            if after is not None:
                kept.append(after)
        else:
            kept.append(row)
    for key in reverted - current.keys():
        after = wanted[key].after
        if after is not None:
            kept.append(after)
    top[collection] = kept
    return True


def refuse_duplicate_dead_letter_ids(rows: list[Row], path: Path) -> None:
    """Refuse to write a store in which two dead letters share one id.

    The engine reads such a file, but its upsert-by-id and every by-id action touch only the first
    of them, and a database import keeps one; which row an operator's action or the sweep changed
    would be a guess. Reads (list) still show both rows.
    """
    first: dict[object, int] = {}
    for index, row in enumerate(rows):
        dl_id = row.get("dead_letter_id")
        if dl_id in first:
            raise CorruptStateError(
                f"{path}: dead_letters[{first[dl_id]}] and dead_letters[{index}] have the same dead_letter_id "
                f"{str(dl_id)[:80]!r}; tandemctl does not write a store with duplicate ids (the engine would keep "
                "only one of them): remove or rename one, then run the command again"
            )
        first[dl_id] = index
