"""`dead-letters count`: a thin adapter (selector flags and --by in, one use-case call, the renderer)."""

from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli.params import (
    ActiveOpt,
    OlderOpt,
    ReasonOpt,
    RunOpt,
    SinceOpt,
    SourceOpt,
    StaleOpt,
    StatusOpt,
    selectors,
)
from tandemctl.cli.runner import run_command

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation


def count_command(
    ctx: typer.Context, status: StatusOpt = None, run: RunOpt = None, source_type: SourceOpt = None,
    active_only: ActiveOpt = False, since: SinceOpt = None, older_than: OlderOpt = None,
    reason_match: ReasonOpt = None, stale: StaleOpt = False,
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="Group by this field (repeatable): status, tenant, run. Default: status.")] = None,
    top: Annotated[int, typer.Option(
        "--top", help="Show the N largest groups; the rest are summed as (other). 0 = all.")] = 20,
) -> None:
    """How many dead letters the selector picks, by status (or tenant, or run), and the total.

    Takes the selector flags of `list`. On a 0.6.9+ database, a selector of status, run and tenant
    only is counted from the index columns without decoding a payload (fast on millions of rows);
    the other selectors read the payloads of the rows they have to judge.

    Example: tandemctl --all-tenants dead-letters count --by tenant --status open
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.count import count_dead_letters
        from tandemctl.render.count import emit_count
        from tandemctl.render.progress import activity

        sel = selectors(status, run, source_type, active_only, since, older_than, reason_match, stale)
        with activity("counting dead letters…", quiet=inv.quiet):
            outcome = count_dead_letters(inv, sel, by=by or [], top=top)
        emit_count(outcome, fmt=inv.output, quiet=inv.quiet)
        return 0

    run_command(ctx, "dead-letters count", body)
