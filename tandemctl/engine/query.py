"""Dead-letter list semantics of the engine's reliability queries (spec 01 §12), plus
tandemctl's own selectors (age windows, reason regex) applied at the filter stage."""

import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from tandemctl.constants import DEFAULT_LIMIT
from tandemctl.engine.dispositions import dead_letter_superseded_by_success, visible_to_tenant
from tandemctl.engine.rows import Row
from tandemctl.engine.sealed import is_readable
from tandemctl.engine.stale import EffectKey, is_stale_open

# What Rust's `str::trim` removes: Unicode White_Space (Python's bare `strip()` also drops \x1c-\x1f).
WHITESPACE: Final = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + \
    "\u2028\u2029\u202f\u205f\u3000"
_ASCII_LOWER: Final = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def normalize_filter(value: str | None) -> str | None:
    """Trim, `-`→`_`, ASCII lowercase; empty and `all` mean no filter (spec 01 §12 step 3)."""
    if value is None:
        return None
    normalized = value.strip(WHITESPACE).replace("-", "_").translate(_ASCII_LOWER)
    return None if normalized in ("", "all") else normalized


@dataclass(frozen=True)
class DeadLetterQuery:
    """A selection of dead letters; `tenant` None means every tenant."""

    tenant: Row | None = None
    statuses: tuple[str, ...] = ()
    run_id: str | None = None
    source_type: str | None = None
    active_only: bool = False
    created_after_ms: int | None = None
    created_before_ms: int | None = None
    reason_pattern: re.Pattern[str] | None = None
    after_id: str | None = None
    before_created_at_ms: int | None = None
    limit: int = DEFAULT_LIMIT
    # --stale: only untouched open rows whose effect succeeded (these keys; see engine/stale.py).
    stale_effects: frozenset[EffectKey] | None = None

    @property
    def has_filter(self) -> bool:
        """True when something narrows the selection (used to demand --all for bulk)."""
        return bool(
            _status_set(self.statuses) or normalize_filter(self.run_id) or normalize_filter(self.source_type)
            or self.active_only or self.created_after_ms is not None
            or self.created_before_ms is not None or self.reason_pattern is not None
            or self.stale_effects is not None
        )

    @property
    def needs_payload(self) -> bool:
        """True when a filter reads fields only the payload holds (not the index columns)."""
        return bool(normalize_filter(self.source_type) or self.active_only or self.created_after_ms is not None
                    or self.created_before_ms is not None or self.reason_pattern is not None
                    or self.stale_effects is not None or self.before_created_at_ms is not None)


def _status_set(statuses: Iterable[str]) -> set[str]:
    return {s for s in (normalize_filter(v) for v in statuses) if s is not None}


def iter_matching(rows: Iterable[Row], query: DeadLetterQuery) -> Iterator[Row]:
    """Filters in the engine's order: tenant, run, status, source type, active; then ours."""
    run_id = normalize_filter(query.run_id)
    statuses = _status_set(query.statuses)
    source = normalize_filter(query.source_type)
    payload_filter = query.needs_payload
    for row in rows:
        if query.tenant is not None and not visible_to_tenant(row, query.tenant):
            continue
        if run_id is not None and (row.get("run_id") is None or normalize_filter(row["run_id"]) != run_id):
            continue
        if statuses and normalize_filter(row["status"]) not in statuses:
            continue
        if not is_readable(row):
            # A sealed row shows only its index columns: a payload filter cannot say it matches.
            if not payload_filter:
                yield row
            continue
        if source is not None and normalize_filter(row["source_type"]) != source:
            continue
        if query.active_only and dead_letter_superseded_by_success(row):
            continue
        if not _matches_ours(row, query):
            continue
        if query.stale_effects is not None and not is_stale_open(row, query.stale_effects):
            continue
        yield row


def _matches_ours(row: Row, query: DeadLetterQuery) -> bool:
    created = row["created_at_ms"]
    if query.created_after_ms is not None and created < query.created_after_ms:
        return False
    if query.created_before_ms is not None and created > query.created_before_ms:
        return False
    return query.reason_pattern is None or query.reason_pattern.search(row["reason"]) is not None


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    next_cursor: Row | None


def list_dead_letters(rows: Iterable[Row], query: DeadLetterQuery) -> Page:
    """Filter, apply the cursor (after_id, then the created-time bound), then the limit."""
    matching: Iterable[Row] = iter_matching(rows, query)
    if query.after_id is not None and query.after_id.strip():
        matching = _after(matching, query.after_id)
    if query.before_created_at_ms is not None:
        bound = query.before_created_at_ms
        matching = (row for row in matching if row["created_at_ms"] < bound)
    if query.limit <= 0:
        return Page(rows=list(matching), next_cursor=None)
    page: list[Row] = []
    iterator = iter(matching)
    for row in iterator:
        if len(page) == query.limit:
            return Page(rows=page, next_cursor=_cursor(page[-1], query))
        page.append(row)
    return Page(rows=page, next_cursor=None)


def _after(rows: Iterable[Row], after_id: str) -> Iterator[Row]:
    """Drop rows up to and including the anchor; an unknown anchor yields nothing."""
    found = False
    for row in rows:
        if found:
            yield row
        elif row["dead_letter_id"] == after_id:
            found = True


def _cursor(last: Row, query: DeadLetterQuery) -> Row:
    cursor: Row = {"after_id": last["dead_letter_id"], "after_collection": "dead_letters"}
    if query.before_created_at_ms is not None:
        cursor["before_created_at_ms"] = query.before_created_at_ms
    return cursor
