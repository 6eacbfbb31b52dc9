"""`dead-letters list` additions: the "needs attention" selection, status negation, and the cells of
the triage columns (tool, next retry, last change, disposition). Pure."""

from collections.abc import Sequence
from typing import Final

from tandemctl.commands.filters import NO_STATUS, STATUSES
from tandemctl.commands.stats import tool_of
from tandemctl.engine.query import normalize_filter
from tandemctl.engine.rows import Row
from tandemctl.errors import UsageError

ATTENTION: Final = ("open", "retry_requested", "retrying")


def select_statuses(statuses: Sequence[str], *, exclude: Sequence[str], needs_attention: bool) -> tuple[str, ...]:
    """The statuses to list: given ones (or all), narrowed by --needs-attention, minus --exclude-status.
    Accepts `!STATUS` in --status as a negation."""
    wanted = [s for s in statuses if not s.startswith("!")]
    excluded = [*exclude, *(s[1:] for s in statuses if s.startswith("!"))]
    for status in excluded:
        if normalize_filter(status) not in STATUSES:
            raise UsageError(f"--exclude-status: unknown status {status!r}; choose from {', '.join(STATUSES)}")
    if not excluded and not needs_attention:
        return tuple(wanted)
    chosen = [s.strip().replace("-", "_").lower() for s in wanted] or list(STATUSES)  # `all` stays `all`
    if needs_attention:
        chosen = [s for s in chosen if s in ATTENTION]
    gone = {normalize_filter(s) for s in excluded}
    result = tuple(s for s in chosen if s not in gone)
    return result or (NO_STATUS,)


def next_retry_ms(row: Row) -> int | None:
    """When the dispatcher may next dispatch this row (None: not waiting on a retry)."""
    if row.get("status") not in ("retry_requested", "retrying"):
        return None
    from tandemctl.commands.retry_verdict import retry_state  # the dispatcher's mirror: triage columns only

    state = retry_state(row)
    return state.next_eligible_at_ms if state.next_eligible_at_ms is not None else row.get("updated_at_ms")


def tool_cell(row: Row) -> str:
    return tool_of(row)


def disposition_cell(row: Row) -> str:
    disposition = row.get("operator_disposition")
    if not disposition:
        return "-"
    reason = row.get("disposition_reason")
    return f"{disposition}: {reason}" if reason else str(disposition)


def actor_cell(row: Row) -> str:
    actor = row.get("disposition_actor")
    return str(actor.get("id")) if isinstance(actor, dict) and actor.get("id") else "-"
