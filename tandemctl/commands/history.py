"""The operator journal's entries (one JSON line per applied action: who, when, why, what changed)
and the `history` use case; the file itself is `stores/journal_file.py`."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from tandemctl.commands.invocation import Invocation
from tandemctl.engine.dispositions import tenant_key
from tandemctl.engine.rows import Row
from tandemctl.errors import NotFoundError, UsageError
from tandemctl.stores.journal_file import read_entries

JOURNAL_VERSION: Final = 1


def new_operation_id(now_ms: int) -> str:
    """`op-<UTC yyyymmddThhmmss>-<8 hex>`: sortable by time, unique without coordination."""
    stamp = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y%m%dT%H%M%S")
    return f"op-{stamp}-{secrets.token_hex(4)}"


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def find_operation(entries: list[Row], operation_id: str, *, path: Path) -> Row:
    for entry in entries:
        if entry["operation_id"] == operation_id:
            return entry
    raise NotFoundError(f"operation {operation_id!r} is not in the journal {path}", operation_id=operation_id)


def row_visible(journal_row: Row, tenant: Row | None) -> bool:
    """Tenant scoping for journal rows, the same rule as `dead-letters list`."""
    if tenant is None:
        return True
    row_tenant = journal_row.get("tenant")
    return isinstance(row_tenant, dict) and tenant_key(row_tenant) == tenant_key(tenant)


def history(entries: list[Row], *, tenant: Row | None, dead_letter_id: str | None, limit: int) -> list[Row]:
    """Newest first; each entry keeps only the rows the tenant may see (hidden if none)."""
    shown: list[Row] = []
    for entry in reversed(entries):
        rows = [row for row in entry["rows"] if isinstance(row, dict) and row_visible(row, tenant)]
        if not rows or (dead_letter_id is not None and all(r.get("dead_letter_id") != dead_letter_id for r in rows)):
            continue
        shown.append({**entry, "rows": rows})
        if limit and len(shown) >= limit:
            break
    return shown


def load_history(path: Path, *, tenant: Row | None, dead_letter_id: str | None, limit: int) -> list[Row]:
    """`tandemctl history`: the journal, newest first, scoped to the tenant."""
    if limit < 0:
        raise UsageError("-n/--limit: must be 0 (all) or a positive number")
    return history(read_entries(path), tenant=tenant, dead_letter_id=dead_letter_id, limit=limit)


@dataclass(frozen=True)
class HistoryOutcome:
    """Journal entries newest first, where they came from, and an interrupted action if one waits."""

    entries: list[Row]
    source: Path
    pending: tuple[str, Path] | None


def show_history(inv: Invocation, *, dead_letter_id: str | None, limit: int) -> HistoryOutcome:
    store = inv.store()
    entries = load_history(store.journal_file, tenant=inv.tenant, dead_letter_id=dead_letter_id, limit=limit)
    return HistoryOutcome(entries, store.journal_file, store.pending_operation())
