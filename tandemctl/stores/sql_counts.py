"""Counting dead letters in a 0.6.9+ database from its index columns alone (`GROUP BY`, no payload
decoded), when the query filters only on what those columns hold; otherwise by decoding the
candidate rows. Either way the result equals `engine/counting.count_matching` over every row."""

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tandemctl.engine.counting import GroupKey, count_matching
from tandemctl.engine.dispositions import tenant_key
from tandemctl.engine.query import DeadLetterQuery, normalize_filter
from tandemctl.stores.db_schema import DEAD_LETTERS
from tandemctl.stores.sql_filters import index_filter

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tandemctl.stores.sql_store import SqlStore

# What each grouping field reads: the columns the engine keeps equal to the payload (checked on every
# decode, see sql_rows._check_columns).
FIELD_COLUMNS = {"status": ("status",), "tenant": ("org_id", "workspace_id", "deployment_id"), "run": ("run_id",)}


def count_dead_letters(store: "SqlStore", query: DeadLetterQuery, by: "Sequence[str]") -> dict[GroupKey, int]:
    where, params = index_filter(store.dialect, query)
    if query.needs_payload:
        return count_matching(store.rows(DEAD_LETTERS, where, params), query, by)
    columns = [column for field in by for column in FIELD_COLUMNS[field]]
    grouped = ", ".join(columns)
    text = f"SELECT {grouped + ', ' if grouped else ''}COUNT(*) FROM {DEAD_LETTERS.name} WHERE {where}"
    group_by = f" GROUP BY {grouped}" if grouped else ""
    # A bare count, or one by tenant alone, is answered from an index (the id's, or the scope index)
    # faster than by scanning the table in ranges; status and run live only in the table's rows.
    from_index = not by and not query.statuses and normalize_filter(query.run_id) is None
    # In ranges, each range's groups are counted on its own connection; they are summed below.
    found = store.fetch_scanned(DEAD_LETTERS, text, params, suffix=group_by, ranged=not from_index)
    counts: dict[GroupKey, int] = {}
    for values in found:
        if int(values[-1]):
            key = _group_key(by, values)
            counts[key] = counts.get(key, 0) + int(values[-1])
    return counts


def count_elsewhere(store: "SqlStore", query: DeadLetterQuery) -> int:
    """How many rows `query` selects in other tenants than its own: one count, by the columns."""
    everywhere = replace(query, tenant=None)
    where, params = index_filter(store.dialect, everywhere)
    where = (f"({where}) AND NOT (org_id = ? AND workspace_id = ? AND deployment_id "
             f"{store.dialect.null_safe_eq} ?)")
    params += tenant_key(query.tenant or {})
    if query.needs_payload:
        return sum(count_matching(store.rows(DEAD_LETTERS, where, params), everywhere, ()).values())
    found = store.fetch_scanned(DEAD_LETTERS, f"SELECT COUNT(*) FROM {DEAD_LETTERS.name} WHERE {where}", params)
    return sum(int(values[0]) for values in found)


def _group_key(by: "Sequence[str]", values: "Sequence[Any]") -> GroupKey:
    key: list[Any] = []
    position = 0
    for field in by:
        width = len(FIELD_COLUMNS[field])
        part = values[position:position + width]
        key.append(tuple(part) if field == "tenant" else part[0])
        position += width
    return tuple(key)
