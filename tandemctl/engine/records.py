"""The engine's serialisation of a reliability record tandemctl changed: fields in declaration order,
free-form JSON with sorted keys, unknown keys kept last."""

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
