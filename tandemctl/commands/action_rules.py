"""Which operator action may move which dead letter where, and exactly what a move writes.

Pure: no I/O, no clock (`now_ms` is passed in). The engine itself checks no transition
(spec 01 §11.1); these guards are tandemctl's, the field writes are the engine's.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from tandemctl.engine.dispositions import (
    dead_letter_retry_dispatch_count,
    forward_clock,
    mark_dead_letter_disposition,
    stamp_metadata,
)
from tandemctl.engine.models import DeadLetterStatus
from tandemctl.engine.records import canonical_row
from tandemctl.engine.rows import Row

BUDGET_KEYS: Final = ("retry_dispatch_count", "retry_dispatched_at_ms", "retry_backoff_ms")
_U32_MAX: Final = 2**32 - 1
_ABSENT: Final = object()


class Outcome(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    UNKNOWN = "unknown"  # sent to a live engine, no answer came back (never retried)


@dataclass(frozen=True)
class Rule:
    """One action: its target, the statuses it leaves, and the ones that need --force."""

    action: str
    target: str
    disposition: str
    allowed: frozenset[str]
    forceable: dict[str, str]
    reason_required: bool


def _statuses(*names: str) -> frozenset[str]:
    return frozenset(names)


_RESOLVED_HINT: Final = "already resolved; pass --force to {verb} it anyway"
RULES: Final[dict[str, Rule]] = {
    "retry": Rule(
        "retry", "retry_requested", "retry_requested", _statuses("open", "ignored", "linked_to_compensation"),
        {"resolved": _RESOLVED_HINT.format(verb="retry"),
         "retrying": "a retry is already in flight (status retrying); pass --force to request another"},
        reason_required=False,
    ),
    "park": Rule(
        "park", "ignored", "ignored", _statuses("open", "retry_requested", "retrying", "linked_to_compensation"),
        {"resolved": _RESOLVED_HINT.format(verb="park")}, reason_required=True,
    ),
    "resolve": Rule(
        "resolve", "resolved", "resolved",
        _statuses("open", "retry_requested", "retrying", "ignored", "linked_to_compensation"), {},
        reason_required=True,
    ),
    "reopen": Rule(
        "reopen", "open", "reopened",
        _statuses("ignored", "resolved", "linked_to_compensation", "retry_requested", "retrying"), {},
        reason_required=False,
    ),
}
ALL_STATUSES: Final = frozenset(status.value for status in DeadLetterStatus)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str | None = None


def retry_ineligibility(row: Row) -> str | None:
    """Why the engine's dispatcher would never re-drive this row (spec 01 §11.3 step 1-2)."""
    problems = []
    if row.get("source_type") != "tool_effect":
        problems.append(f"source type is {row.get('source_type')!r}, not 'tool_effect'")
    if "retry" not in (row.get("recovery_options") or []):
        problems.append("its recovery options do not include 'retry'")
    if not row.get("run_id"):
        problems.append("it has no run_id")
    if not problems:
        return None
    return "the retry dispatcher would never act on it: " + "; ".join(problems) + " (park or resolve it instead)"


EXHAUSTED_AT: Final = 5  # mirrors the dispatcher's cap check (spec 01 §11.3 step 4)


def spent_budget(row: Row) -> str | None:
    """Why a retry that keeps the dispatcher's counters would be undone at once (spec 03 §2.10)."""
    count = dead_letter_retry_dispatch_count(row)
    if count < EXHAUSTED_AT:
        return None
    return (f"its retry budget is spent (retry_dispatch_count {count} >= {EXHAUSTED_AT}) and this store cannot reset "
            "it: the engine's dispatcher would park it again as retry_exhausted within a second. Stop the engine and "
            "retry it without --live (which resets the budget), or pass --force to send the request anyway")


def decide(rule: Rule, row: Row, *, force: bool, resets_budget: bool = True) -> Decision:
    """Already there → unchanged; retry needs a dispatchable row; --force opens the guarded ones."""
    status = row["status"]
    if status == rule.target:
        return Decision(Outcome.UNCHANGED)
    if rule.action == "retry":
        why = retry_ineligibility(row) or (None if resets_budget or force else spent_budget(row))
        if why is not None:
            return Decision(Outcome.REFUSED, why)
    if status in rule.forceable and not force:
        return Decision(Outcome.REFUSED, rule.forceable[status])
    if status in rule.allowed or status in rule.forceable:
        return Decision(Outcome.CHANGED)
    return Decision(Outcome.REFUSED, f"status {status!r} cannot be moved by {rule.action}")


def changed_row(rule: Rule, row: Row, *, reason: str | None, actor: str, now_ms: int,
                resets_budget: bool = True) -> Row:
    """The row after the action: the engine's disposition write, plus retry's fresh budget."""
    new = dict(row)
    mark_dead_letter_disposition(new, status=rule.target, disposition=rule.disposition, reason=reason,
                                 actor_id=actor, now_ms=now_ms)
    if rule.action == "retry" and resets_budget:
        reset_retry_budget(new)
    new["updated_at_ms"] = forward_clock(row, now_ms)
    return canonical_row(new, "dead_letters")


def reset_retry_budget(row: Row) -> None:
    """Drop the dispatcher's counters so it gets a fresh 5 dispatches; keep the history."""
    previous = dead_letter_retry_dispatch_count(row)
    meta = row.get("metadata")
    operator_count = meta.get("operator_retry_count") if isinstance(meta, dict) else None
    if type(operator_count) is not int or not 0 <= operator_count < _U32_MAX:
        operator_count = 0
    if isinstance(meta, dict):
        row["metadata"] = {key: value for key, value in meta.items() if key not in BUDGET_KEYS}
    stamp_metadata(row, {"operator_retry_count": operator_count + 1, "previous_retry_dispatch_count": previous})


def changed_fields(before: Row, after: Row) -> list[str]:
    """Top-level fields whose value differs (absent counts as a value), in `after`'s order."""
    names = list(after) + [name for name in before if name not in after]
    return [name for name in names if before.get(name, _ABSENT) != after.get(name, _ABSENT)]


def field_values(row: Row, fields: list[str]) -> Row:
    """The given fields of a row; absent fields are left out (so absent ≠ null)."""
    return {name: row[name] for name in fields if name in row}


def metadata_changes(before: Row, after: Row) -> dict[str, Row]:
    """Per metadata key: {"before": v, "after": v}, a side left out when the key is absent."""
    old, new = _as_object(before.get("metadata")), _as_object(after.get("metadata"))
    changes: dict[str, Row] = {}
    for key in sorted(old.keys() | new.keys()):
        if old.get(key, _ABSENT) != new.get(key, _ABSENT):
            changes[key] = {side: source[key] for side, source in (("before", old), ("after", new)) if key in source}
    return changes


def _as_object(value: Any) -> Row:
    return value if isinstance(value, dict) else {}
