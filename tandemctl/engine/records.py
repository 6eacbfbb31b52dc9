"""The engine's serialisation of a reliability record tandemctl changed: fields in declaration order,
free-form JSON with sorted keys, unknown keys kept last."""

from typing import Any

from tandemctl.engine import jsonio
from tandemctl.engine.models import COLLECTIONS, FREE_FORM_KEYS, field_order
from tandemctl.engine.rows import Row


def canonical_row(row: Row, collection: str) -> Row:
    """Re-key a changed row in declaration order, free-form values key-sorted; extras last."""
    model, _ = COLLECTIONS[collection]
    ordered: Row = {}
    for name in field_order(model):
        if name in row and row[name] is not None:
            value = row[name]
            ordered[name] = jsonio.sort_keys_deep(value) if name in FREE_FORM_KEYS else value
    for name, value in row.items():
        if name not in ordered and value is not None:
            ordered[name] = value
    return ordered


def serialize_reliability_top(top: dict[str, Any]) -> bytes:
    """`stateful_reliability.json` in the engine's layout: schema_version 1, the four arrays sorted
    by updated_at_ms descending (stable); unknown top-level keys kept after them."""
    out: dict[str, Any] = {"schema_version": 1}
    for collection in COLLECTIONS:
        rows = top.get(collection, [])
        out[collection] = sorted(rows, key=_updated_at, reverse=True)
    for key, value in top.items():
        if key not in out:
            out[key] = value  # unknown top-level keys: the engine drops them, we keep them
    return jsonio.dumps_pretty(out)


def _updated_at(row: Row) -> int:
    value = row["updated_at_ms"]
    assert isinstance(value, int)
    return value
