"""The order the engine leaves the dead letters in after a sweep: it writes the store after each
mark, and every write re-sorts the array by `updated_at_ms` descending (stable). When a marked row
was future-dated (clocks differ between hosts), its mark moves it back in time and the ties among
marked rows come out in mark order only through those intermediate sorts, not one final sort.

Mirrors the per-mark `save` of tandem-server `reliability.rs` (spec 01 §7.3, spec 02 §4 step j).
"""

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from tandemctl.engine.rows import Row, RowChange


def engine_order(rows: list[Row], marks: Sequence[RowChange]) -> list[Row]:
    """`rows` as they are after the marks (each mark's `after` is the very object in `rows`), in
    the engine's order: the load sort of the rows as they were, then one stable re-sort per mark."""
    before_key: dict[int, int] = {id(mark.after): int(mark.before["updated_at_ms"]) for mark in marks
                                  if mark.after is not None and mark.before is not None}
    items = sorted(((before_key.get(id(row), int(row["updated_at_ms"])), row) for row in rows),
                   key=lambda item: -item[0])
    order = [row for _, row in items]
    ids = [id(row) for row in order]
    keys = [-key for key, _ in items]  # ascending, for bisect
    for mark in marks:
        if mark.after is None or id(mark.after) not in before_key:
            continue
        index = ids.index(id(mark.after))
        del order[index], ids[index], keys[index]
        key = -mark.after["updated_at_ms"]
        # A stable sort of a sorted list with one changed row: after every newer row, before every
        # older one, and among equal ones where it was.
        at = min(max(index, bisect_left(keys, key)), bisect_right(keys, key))
        order.insert(at, mark.after)
        ids.insert(at, id(mark.after))
        keys.insert(at, key)
    return order
