"""The journal entry of a sweep that changed dead letters: the same shape as an operator action's
(per row the before/after of every changed field), actor `tandemctl-sweep`. It travels inside the
sweep's redo intent and is appended exactly once, by operation id, by the sweep or its roll-forward."""

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from tandemctl.engine.dispositions import tenant_of
from tandemctl.engine.rows import Row, RowChange
from tandemctl.stores import journal_file

SWEEP_ACTOR: Final = "tandemctl-sweep"
JOURNAL_VERSION: Final = 1  # the operator journal's line format (commands/history.py)
_ABSENT: Final = object()


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sweep_entry(changes: list[RowChange], *, now_ms: int, operator: str, tenant: str | None,
                argv: list[str]) -> Row:
    stamp = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y%m%dT%H%M%S")
    return {
        "journal_version": JOURNAL_VERSION, "operation_id": f"op-{stamp}-{secrets.token_hex(4)}", "at_ms": now_ms,
        "at": _iso(now_ms), "actor": SWEEP_ACTOR, "operator": operator, "action": "sweep",
        "reason": "the engine's dead-letter retry dispatcher, run by tandemctl", "force": False, "argv": argv,
        "tenant": tenant, "selector": {}, "rows": [_row(change) for change in changes if change.after is not None],
        "unchanged": [], "refused": [], "not_found": [],
    }


def _row(change: RowChange) -> Row:
    before, after = change.before or {}, change.after or {}
    names = list(after) + [name for name in before if name not in after]
    fields = [name for name in names if before.get(name, _ABSENT) != after.get(name, _ABSENT)]
    tenant = tenant_of(after)
    return {
        "dead_letter_id": change.key, "run_id": after.get("run_id"),
        "tenant": {key: tenant[key] for key in ("org_id", "workspace_id", "deployment_id") if key in tenant},
        "from": before.get("status"), "to": after.get("status"), "fields": fields,
        "before": {name: before[name] for name in fields if name in before},
        "after": {name: after[name] for name in fields if name in after},
    }


def journal_once(path: Path, entry: Row, current: list[Row], *, rolled_forward: bool) -> None:
    """Append the entry unless a rolled-forward sweep already journaled it (by operation id; a fresh
    sweep's id is new, so it does not read the journal); only the rows that are now as it says it
    left them (a roll-forward may have found some moved on by someone else)."""
    if rolled_forward and entry["operation_id"] in {e["operation_id"] for e in journal_file.read_entries(path)}:
        return
    by_id: dict[object, Row] = {}
    for row in current:
        by_id.setdefault(row.get("dead_letter_id"), row)
    landed = [record for record in entry["rows"] if _as_left(record, by_id.get(record.get("dead_letter_id")))]
    if landed:
        journal_file.append(path, {**entry, "rows": landed})


def _as_left(record: Row, row: Row | None) -> bool:
    after = record.get("after")
    return row is not None and isinstance(after, dict) and all(
        row.get(name, _ABSENT) == after.get(name, _ABSENT) for name in record.get("fields") or ())
