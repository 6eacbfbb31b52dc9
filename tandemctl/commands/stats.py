"""`dead-letters stats`: counts by status, tenant, tool, source type and normalised reason, an age
histogram, the oldest open row, retries in flight and recent exhaustions. Aggregation is pure."""

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tandemctl.commands.invocation import Invocation
from tandemctl.engine.dispositions import tenant_label, tenant_of, visible_to_tenant
from tandemctl.engine.rows import Row
from tandemctl.errors import UsageError

FIELDS: Final = ("status", "tenant", "tool", "source_type", "reason", "run")
OPEN_STATUSES: Final = ("open", "retry_requested", "retrying")
DAY_MS: Final = 86_400_000
# Upper bounds (exclusive) of the age buckets of open dead letters.
AGE_BUCKETS: Final = (("<1h", 3_600_000), ("1h-6h", 21_600_000), ("6h-24h", DAY_MS), ("1d-7d", 7 * DAY_MS),
                      ("7d-30d", 30 * DAY_MS), (">=30d", None))
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_HEX = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b")
_NUMBER = re.compile(r"\d+")


def normalise_reason(reason: str) -> str:
    """Group reasons that differ only in ids and numbers: lower case, ids → <id>, numbers → N."""
    text = _UUID.sub("<id>", reason.strip().lower())
    text = _HEX.sub("<id>", text)
    text = _NUMBER.sub("N", text)
    return " ".join(text.split())


def tenant_text(row: Row) -> str:
    """The row's tenant as tandemctl names it (`org/workspace[/deployment]`)."""
    return tenant_label(tenant_of(row))


def tool_of(row: Row) -> str:
    """The effect's operation as the dead letter records it (`metadata.operation`), else `-`."""
    metadata = row.get("metadata")
    operation = metadata.get("operation") if isinstance(metadata, dict) else None
    return operation if isinstance(operation, str) else "-"


def field_value(row: Row, field: str) -> str:
    if field == "tenant":
        return tenant_text(row)
    if field == "tool":
        return tool_of(row)
    if field == "reason":
        return normalise_reason(str(row.get("reason", "")))
    if field == "run":
        return str(row.get("run_id") or "-")
    return str(row.get(field, "-"))


def breakdown(rows: Iterable[Row], field: str, top: int) -> list[dict[str, Any]]:
    """Counts, largest first (ties by key); beyond `top` (0 = all) summed into `(other)`."""
    counts = Counter(field_value(row, field) for row in rows)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = ordered if not top else ordered[:top]
    result = [{"key": key, "count": count} for key, count in shown]
    rest = sum(count for _, count in ordered[len(shown):])
    if rest:
        result.append({"key": "(other)", "count": rest})
    return result


def age_histogram(rows: Iterable[Row], now_ms: int) -> list[dict[str, Any]]:
    counts = dict.fromkeys((name for name, _ in AGE_BUCKETS), 0)
    for row in rows:
        age = now_ms - int(row.get("created_at_ms", now_ms))
        name = next(name for name, bound in AGE_BUCKETS if bound is None or age < bound)
        counts[name] += 1
    return [{"bucket": name, "count": count} for name, count in counts.items()]


@dataclass(frozen=True)
class StatsOutcome:
    data: dict[str, Any]
    now_ms: int


def aggregate(rows: Sequence[Row], *, now_ms: int, by: Sequence[str], top: int) -> dict[str, Any]:
    open_rows = [row for row in rows if row.get("status") in OPEN_STATUSES]
    oldest = min(open_rows, key=lambda row: (row.get("created_at_ms", 0), row["dead_letter_id"]), default=None)
    exhausted = [row for row in rows if row.get("operator_disposition") == "retry_exhausted"
                 and int(row.get("disposition_at_ms") or 0) >= now_ms - DAY_MS]
    return {
        "total": len(rows),
        "open": len(open_rows),
        "by": {field: breakdown(rows, field, top) for field in by},
        "age_histogram": age_histogram(open_rows, now_ms),
        "oldest_open": None if oldest is None else {
            "dead_letter_id": oldest["dead_letter_id"], "status": oldest["status"],
            "created_at_ms": oldest["created_at_ms"], "age_ms": now_ms - oldest["created_at_ms"],
            "reason": oldest.get("reason")},
        "retries_in_flight": {"retry_requested": sum(1 for r in rows if r.get("status") == "retry_requested"),
                              "retrying": sum(1 for r in rows if r.get("status") == "retrying")},
        "exhausted_last_24h": len(exhausted),
    }


def dead_letter_stats(inv: Invocation, *, by: Sequence[str], top: int) -> StatsOutcome:
    unknown = [field for field in by if field not in FIELDS]
    if unknown:
        raise UsageError(f"--by: unknown field {unknown[0]!r}; choose from {', '.join(FIELDS)}")
    if top < 0:
        raise UsageError("--top: must be 0 (all) or a positive number")
    rows = inv.store().load_dead_letters()
    if inv.tenant is not None:
        rows = [row for row in rows if visible_to_tenant(row, inv.tenant)]
    fields = list(dict.fromkeys(by)) or [field for field in FIELDS if field != "run"]
    return StatsOutcome(aggregate(rows, now_ms=inv.now_ms, by=fields, top=top), inv.now_ms)
