"""The fake engine's reliability list semantics (spec 01 §12, §13.2) and its query-string parsing.

Pure functions over a loaded store's top-level object; the tenant is always local-implicit.
"""

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tests.remote.fake_engine import COLLECTIONS, LOCAL_TENANT, _norm, _superseded, _visible

Row = dict[str, Any]
DEFAULT_LIMIT = 250
MAX_LIMIT = 1000
ID_KEYS = {"outbox": "outbox_id", "tool_effects": "effect_id", "dead_letters": "dead_letter_id",
           "compensations": "compensation_id"}
SOURCE_KEYS = {"tool_effects": "source_kind", "dead_letters": "source_type"}
COLLECTION_NAMES = {"outbox": "outbox", "tool_effect": "tool_effects", "tool_effects": "tool_effects",
                    "dead_letter": "dead_letters", "dead_letters": "dead_letters", "compensation": "compensations",
                    "compensations": "compensations"}
RELIABILITY_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    "run_id": (("run_id",), "string"),
    "status": (("status",), "string"),
    "source_type": (("source_type",), "string"),
    "after_id": (("after_id",), "string"),
    "after_collection": (("after_collection", "after_kind", "afterCollection"), "string"),
    "before_created_at_ms": (("before_created_at_ms", "before_created_at", "beforeCreatedAtMs", "beforeCreatedAt"),
                             "u64"),
    "active_recovery_only": (("active_recovery_only", "activeRecoveryOnly", "active_only"), "bool"),
    "limit": (("limit",), "usize"),
}
OBSERVABILITY_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    name: ((name,), "usize") for name in ("event_limit", "snapshot_limit", "reliability_limit", "audit_limit")
}
_UNSIGNED = re.compile(r"\+?[0-9]+")


class QueryRejected(Exception):
    """axum's query rejection: 400 with a plain-text body."""


def parse_query(query: str, fields: dict[str, tuple[tuple[str, ...], str]]) -> dict[str, Any]:
    """serde_urlencoded into a struct of Options: aliases, duplicates refused, unknown keys ignored."""
    by_name = {alias: name for name, (aliases, _) in fields.items() for alias in aliases}
    out: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        name = by_name.get(key)
        if name is None:
            continue
        if name in out:
            raise QueryRejected(f"duplicate field `{name}`")
        out[name] = _convert(value, fields[name][1])
    return out


def _convert(value: str, kind: str) -> Any:
    if kind == "string":
        return value
    if kind == "bool":
        if value not in ("true", "false"):
            raise QueryRejected("provided string was not `true` or `false`")
        return value == "true"
    if not value:
        raise QueryRejected("cannot parse integer from empty string")
    if not _UNSIGNED.fullmatch(value):
        raise QueryRejected("invalid digit found in string")
    number = int(value)
    if number > 2**64 - 1:
        raise QueryRejected("number too large to fit in target type")
    return number


def clamp(value: int | None, default: int, high: int) -> int:
    return max(1, min(default if value is None else value, high))


@dataclass(frozen=True)
class ListQuery:
    run_id: str | None = None
    status: str | None = None
    source_type: str | None = None
    after_id: str | None = None
    after_collection: str | None = None
    before_created_at_ms: int | None = None
    active_recovery_only: bool = False
    limit: int = DEFAULT_LIMIT


def list_query(params: dict[str, Any], *, run_id: str | None = None, active: bool | None = None,
               limit: int | None = None) -> ListQuery:
    """The handler's query; `run_id`/`active`/`limit` override the parameters (per-run routes)."""
    return ListQuery(
        run_id=run_id if run_id is not None else params.get("run_id"),
        status=params.get("status"),
        source_type=params.get("source_type"),
        after_id=params.get("after_id"),
        after_collection=params.get("after_collection"),
        before_created_at_ms=params.get("before_created_at_ms"),
        active_recovery_only=params.get("active_recovery_only", False) if active is None else active,
        limit=limit if limit is not None else clamp(params.get("limit"), DEFAULT_LIMIT, MAX_LIMIT),
    )


def _sorted(top: Row, collection: str) -> list[Row]:
    rows = top.get(collection) or []
    return sorted(rows, key=lambda row: row.get("updated_at_ms", 0), reverse=True)


def _passes(row: Row, collection: str, query: ListQuery) -> bool:
    """Steps 2–5: tenant, run, status, source type."""
    if not _visible(row, LOCAL_TENANT):
        return False
    run_id = _norm(query.run_id)
    if run_id is not None and (row.get("run_id") is None or _norm(row["run_id"]) != run_id):
        return False
    status = _norm(query.status)
    if status is not None and _norm(row.get("status")) != status:
        return False
    source = _norm(query.source_type)
    if source is not None and collection in SOURCE_KEYS:
        value = row.get(SOURCE_KEYS[collection])
        if value is None or _norm(value) != source:
            return False
    return True


def _active(row: Row, collection: str) -> bool:
    if collection == "dead_letters":
        return not _superseded(row)
    if collection == "compensations":
        return not _superseded(row) and row.get("status") not in ("completed", "cancelled")
    return True


def filtered(top: Row, collection: str, query: ListQuery) -> list[Row]:
    """Steps 1–6, before the cursor and the limit."""
    return [row for row in _sorted(top, collection) if _passes(row, collection, query)
            and (not query.active_recovery_only or _active(row, collection))]


def resolve_collection(top: Row, query: ListQuery) -> str | None:
    """The collection `after_id` belongs to: the recognised `after_collection`, else inferred."""
    if query.after_id is None or not query.after_id.strip():
        return None
    named = COLLECTION_NAMES.get(_norm(query.after_collection) or "")
    if named is not None:
        return named
    matches = [c for c in COLLECTIONS
               if any(row.get(ID_KEYS[c]) == query.after_id and _passes(row, c, query) for row in _sorted(top, c))]
    return matches[0] if len(matches) == 1 else None


def list_collections(top: Row, query: ListQuery) -> Row:
    """The four lists with `counts`, `limit` and `pagination`, as `list_stateful_reliability` builds them."""
    cursor = query.after_id is not None and bool(query.after_id.strip())
    resolved = resolve_collection(top, query)
    out: Row = {}
    next_cursors: Row = {}
    for collection in COLLECTIONS:
        rows = [] if cursor and resolved is None else filtered(top, collection, query)
        if resolved == collection:
            ids = [row.get(ID_KEYS[collection]) for row in rows]
            rows = rows[ids.index(query.after_id) + 1:] if query.after_id in ids else []
        if query.before_created_at_ms is not None:
            rows = [row for row in rows if row.get("created_at_ms", 0) < query.before_created_at_ms]
        rows = rows[:query.limit]
        out[collection] = rows
        next_cursors[collection] = _next(rows, collection, query)
    out["counts"] = {collection: len(out[collection]) for collection in COLLECTIONS}
    out["limit"] = query.limit
    out["pagination"] = {"after_id": query.after_id, "after_collection": resolved,
                         "before_created_at_ms": query.before_created_at_ms, "next": next_cursors}
    return out


def _next(rows: list[Row], collection: str, query: ListQuery) -> Row | None:
    if len(rows) < query.limit:
        return None
    cursor: Row = {"after_id": rows[-1][ID_KEYS[collection]], "after_collection": collection}
    if query.before_created_at_ms is not None:
        cursor["before_created_at_ms"] = query.before_created_at_ms
    return cursor


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
