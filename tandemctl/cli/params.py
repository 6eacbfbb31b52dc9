"""Options shared by several commands: the selector flags of `list` and the bulk actions."""

from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli.complete import complete_run_id
from tandemctl.commands.options import SelectorOptions

if TYPE_CHECKING:
    pass


StatusOpt = Annotated[list[str] | None, typer.Option(
    "--status", help="Only this status (repeatable): open, retry_requested, retrying, ignored, "
    "linked_to_compensation, resolved.")]
RunOpt = Annotated[str | None, typer.Option("--run", help="Only dead letters of this run id.",
                                            autocompletion=complete_run_id)]
SourceOpt = Annotated[str | None, typer.Option("--source-type", help="tool_effect or stateful_wait.")]
ActiveOpt = Annotated[bool, typer.Option("--active-only", help="Hide rows superseded by a success.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Created within this long (e.g. 2h, 7d).")]
OlderOpt = Annotated[str | None, typer.Option("--older-than", help="Created at least this long ago.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason-match", help="Reason matches this regex.")]
StaleOpt = Annotated[bool, typer.Option(
    "--stale", help="Only untouched open rows whose tool effect has since succeeded (left open by 0.6.9+ "
    "databases).")]


def selectors(status: list[str] | None, run: str | None, source_type: str | None, active_only: bool,
              since: str | None, older_than: str | None, reason_match: str | None,
              stale: bool = False) -> SelectorOptions:
    return SelectorOptions(statuses=tuple(status or ()), run_id=run, source_type=source_type,
                           active_only=active_only, since=since, older_than=older_than, reason_match=reason_match,
                           stale=stale)
