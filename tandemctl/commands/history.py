"""The operator journal's entries (one JSON line per applied action: who, when, why, what changed)
and the `history` use case; the file itself is `stores/journal_file.py`."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from tandemctl.commands.invocation import Invocation
from tandemctl.engine.dispositions import tenant_key, tenant_label
from tandemctl.engine.rows import Row
from tandemctl.errors import ExitCode, NotFoundError, UsageError
from tandemctl.stores.journal_file import read_journal

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


@dataclass(frozen=True)
class HistoryFilter:
    """`history` selectors: a row, a run, an actor, a time; the page size."""

    dead_letter_id: str | None = None
    run_id: str | None = None
    actor: str | None = None
    since_ms: int | None = None
    limit: int = 20


def _row_matches(row: Row, filt: HistoryFilter) -> bool:
    return ((filt.dead_letter_id is None or row.get("dead_letter_id") == filt.dead_letter_id)
            and (filt.run_id is None or row.get("run_id") == filt.run_id))


def history(entries: list[Row], *, tenant: Row | None, filt: HistoryFilter) -> tuple[list[Row], int]:
    """Newest first; each entry keeps only the rows the tenant may see. Also returns how many matching
    operations only touched other tenants' rows (hidden, but counted so the scope is visible)."""
    shown: list[Row] = []
    hidden = 0
    for entry in reversed(entries):
        if filt.actor is not None and filt.actor not in (entry.get("actor"), entry.get("operator")):
            continue
        at_ms = entry.get("at_ms")
        if filt.since_ms is not None and not (isinstance(at_ms, int) and at_ms >= filt.since_ms):
            continue
        rows = [row for row in entry["rows"] if isinstance(row, dict)]
        if not any(_row_matches(row, filt) for row in rows):
            continue
        visible = [row for row in rows if row_visible(row, tenant)]
        if not any(_row_matches(row, filt) for row in visible):
            hidden += 1
        elif not filt.limit or len(shown) < filt.limit:
            shown.append({**entry, "rows": visible})
    return shown, hidden


@dataclass(frozen=True)
class HistoryOutcome:
    """Journal entries newest first, where they came from, and an interrupted action if one waits."""

    entries: list[Row]
    source: Path
    pending: tuple[str, Path] | None
    tenant: str | None = None  # None: all tenants
    hidden_elsewhere: int = 0  # matching operations that only touched other tenants' rows
    unreadable_lines: tuple[int, ...] = ()

    @property
    def exit_code(self) -> int:
        """6 (partial) when some journal lines could not be read: what is shown is not everything."""
        return int(ExitCode.PARTIAL if self.unreadable_lines else ExitCode.OK)


def show_history(inv: Invocation, filt: HistoryFilter) -> HistoryOutcome:
    if filt.limit < 0:
        raise UsageError("-n/--limit: must be 0 (all) or a positive number")
    store = inv.store()
    entries, bad = read_journal(store.journal_file)
    shown, hidden = history(entries, tenant=inv.tenant, filt=filt)
    label = None if inv.tenant is None else tenant_label(inv.tenant)
    return HistoryOutcome(shown, store.journal_file, store.pending_operation(), label, hidden, tuple(bad))


def load_history(path: Path, *, tenant: Row | None, dead_letter_id: str | None, limit: int) -> list[Row]:
    """The operations that changed one dead letter (or all), newest first, scoped to the tenant."""
    entries, _ = read_journal(path)
    return history(entries, tenant=tenant, filt=HistoryFilter(dead_letter_id=dead_letter_id, limit=limit))[0]
