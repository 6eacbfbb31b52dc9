"""Counting the dead letters a query selects, grouped by fields the index columns also hold
(status, tenant, run): pure, so every store counts the same way and a database can answer from
its columns with the same result."""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Final

from tandemctl.engine.dispositions import tenant_key, tenant_of
from tandemctl.engine.query import DeadLetterQuery, iter_matching
from tandemctl.engine.rows import Row

COUNT_FIELDS: Final = ("status", "tenant", "run")
GroupKey = tuple[Any, ...]  # one value per field: status str, tenant (org, workspace, deployment), run id


def group_value(row: Row, field: str) -> Any:
    if field == "status":
        return row["status"]
    if field == "tenant":
        return tenant_key(tenant_of(row))
    return row.get("run_id")


def count_matching(rows: Iterable[Row], query: DeadLetterQuery, by: Sequence[str]) -> dict[GroupKey, int]:
    """How many rows `query` selects (cursor and limit ignored), per combination of `by` values."""
    counts: Counter[GroupKey] = Counter(tuple(group_value(row, field) for field in by)
                                        for row in iter_matching(rows, query))
    return dict(counts)


def count_elsewhere(rows: Iterable[Row], query: DeadLetterQuery) -> int:
    """How many rows `query` would select in tenants other than its own (`query.tenant` is set)."""
    shown = tenant_key(query.tenant or {})
    counts = count_matching(rows, replace(query, tenant=None), ("tenant",))
    return sum(count for (tenant,), count in counts.items() if tenant != shown)
