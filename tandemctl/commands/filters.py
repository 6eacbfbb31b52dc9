"""Selector values checked before they select: a typo is a usage error, never "0 dead letters"."""

from typing import Final

from tandemctl.engine.models import DeadLetterStatus
from tandemctl.engine.query import normalize_filter
from tandemctl.errors import UsageError

STATUSES: Final = tuple(status.value for status in DeadLetterStatus)
SOURCE_TYPES: Final = ("tool_effect", "stateful_wait")
# The short names the list table shows are accepted too.
SOURCE_ALIASES: Final = {"effect": "tool_effect", "wait": "stateful_wait"}
NO_STATUS: Final = "\x00none"  # a status no row has: what is left when every status was excluded


def parse_statuses(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated and comma-separated `--status` values, normalised like the engine (`Retry-Requested`
    → `retry_requested`); `all` means no filter; anything else unknown is a usage error."""
    if NO_STATUS in values:
        return (NO_STATUS,)
    parsed: list[str] = []
    for value in (part for raw in values for part in raw.split(",")):
        normalized = normalize_filter(value)
        if normalized is None:
            if value.strip().lower() == "all":
                return ()
            continue
        if normalized not in STATUSES:
            raise UsageError(f"--status: unknown status {value.strip()!r}; valid: {', '.join(STATUSES)} (or all)")
        parsed.append(normalized)
    return tuple(dict.fromkeys(parsed))


def parse_source_type(value: str | None) -> str | None:
    """`--source-type tool_effect|stateful_wait` (or `effect`/`wait`, `all`); unknown is a usage error."""
    if value is None:
        return None
    names: set[str] = set()
    for part in (part for part in value.split(",") if part.strip()):
        normalized = normalize_filter(part)
        if normalized is None:
            return None  # `all`
        normalized = SOURCE_ALIASES.get(normalized, normalized)
        if normalized not in SOURCE_TYPES:
            raise UsageError(f"--source-type: unknown source type {part.strip()!r}; valid: "
                             f"{', '.join(SOURCE_TYPES)} (or effect, wait, all)")
        names.add(normalized)
    return names.pop() if len(names) == 1 else None  # both types: no filter
