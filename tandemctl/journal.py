"""The operator journal: one JSON line per applied action: who, when, why, what changed.

Append-only JSONL (default `<data>/runtime/tandemctl-journal.jsonl`), fsynced, written while
the store lock is held. Reading is tolerant: a torn or foreign line is skipped, never fatal.
"""

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import orjson

from tandemctl import fsutil
from tandemctl.dispositions import tenant_key
from tandemctl.errors import CorruptStateError, NotFoundError, UsageError

Row = dict[str, Any]
JOURNAL_VERSION: Final = 1


def new_operation_id(now_ms: int) -> str:
    """`op-<UTC yyyymmddThhmmss>-<8 hex>`: sortable by time, unique without coordination."""
    stamp = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y%m%dT%H%M%S")
    return f"op-{stamp}-{secrets.token_hex(4)}"


def iso_utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def tenant_label(tenant: Row | None) -> str | None:
    """`org/workspace[/deployment]`, or None for "all tenants"."""
    if tenant is None:
        return None
    parts = [tenant.get("org_id", ""), tenant.get("workspace_id", "")]
    if tenant.get("deployment_id"):
        parts.append(tenant["deployment_id"])
    return "/".join(parts)


def append(path: Path, entry: Row) -> None:
    """Append one entry as one line; a torn last line (crash mid-append) is closed off first."""
    line = orjson.dumps(entry) + b"\n"
    if not _ends_with_newline(path):
        line = b"\n" + line
    fsutil.append_durable(path, line)


def _ends_with_newline(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            if handle.seek(0, os.SEEK_END) == 0:
                return True
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise CorruptStateError(f"{path}: cannot read the journal: {exc.strerror or exc}") from None


def read_entries(path: Path) -> list[Row]:
    """Every well-formed entry, oldest first; unreadable lines are skipped."""
    data, _ = fsutil.read_bytes(path)  # refuses symlinks and non-files, like every state file
    if data is None:
        return []
    entries: list[Row] = []
    for line in data.splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("operation_id"), str) and isinstance(
                entry.get("rows"), list):
            entries.append(entry)
    return entries


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
