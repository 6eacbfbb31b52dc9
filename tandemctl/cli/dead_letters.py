"""`dead-letters list|retry|park|resolve|reopen`: thin adapters that parse options, make one use-case
call and hand its outcome to the renderer."""

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
from tandemctl.commands.options import SelectorOptions
from tandemctl.constants import DEFAULT_LIMIT
from tandemctl.errors import EXIT_CODE_HELP

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation

dead_letters_app = typer.Typer(no_args_is_help=True, help="List and act on dead letters.", epilog=EXIT_CODE_HELP)


@dead_letters_app.command("list")
def list_command(
    ctx: typer.Context, status: StatusOpt = None, run: RunOpt = None, source_type: SourceOpt = None,
    active_only: ActiveOpt = False, since: SinceOpt = None, older_than: OlderOpt = None,
    reason_match: ReasonOpt = None, stale: StaleOpt = False,
    after_id: Annotated[str | None, typer.Option("--after-id", help="Cursor: start after this id.")] = None,
    before_created_at_ms: Annotated[int | None, typer.Option(
        "--before-created-at-ms", min=0, help="Cursor: only rows created before this time.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Page size; 0 = all.")] = DEFAULT_LIMIT,
) -> None:
    """List dead letters, newest update first, with the engine's filter and cursor rules.

    Example: tandemctl --all-tenants dead-letters list --status retry_requested -o json
    """
    sel = selectors(status, run, source_type, active_only, since, older_than, reason_match, stale)

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.invocation import build_query
        from tandemctl.commands.list_dead_letters import run_list
        from tandemctl.render import listing

        query = build_query(inv, sel, after_id=after_id, before_created_at_ms=before_created_at_ms, limit=limit)
        listing.emit_list(run_list(inv.store(), query, now_ms=inv.now_ms), fmt=inv.output,
                         command="dead-letters list", quiet=inv.quiet)
        return 0

    run_command(ctx, "dead-letters list", body)

# Core and rendering modules are imported inside the command bodies (fast --help and completion).

IdsArg = Annotated[list[str] | None, typer.Argument(
    metavar="DEAD_LETTER_ID", show_default=False,
    help="Act on these dead letters. Or select them with the filter flags instead, never both.")]
AllOpt = Annotated[bool, typer.Option(
    "--all", help="Act on every dead letter in scope (needed when no filter is given).")]
ReasonTextOpt = Annotated[str | None, typer.Option(
    "--reason", help="Why; stored as disposition_reason and journaled. Required for park, resolve and bulk.")]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Show exactly what would change (in any -o); write nothing.")]
YesOpt = Annotated[bool, typer.Option(
    "--yes", "-y", help="Skip the confirmation of a bulk action (required off a terminal and with -o json|jsonl|csv).")]
ACTION_EPILOG = (
    "Ids or selector flags select rows, never both; a selector without a filter needs --all. Rows of other "
    "tenants are not found (use --tenant or --all-tenants). A row already in the target status is unchanged. "
    "Bulk actions show the match count and ask for confirmation (--yes skips it). Exit 0 when nothing was "
    "refused, 6 when some rows were refused, 3 when an id does not exist (3 wins when both). " + EXIT_CODE_HELP
)


def _act(ctx: typer.Context, action: str, ids: list[str] | None, sel: SelectorOptions, *, all_rows: bool,
         reason: str | None, force: bool, dry_run: bool, yes: bool) -> None:
    def body(inv: "Invocation") -> int:
        from tandemctl.commands.actions import ActionArgs, perform
        from tandemctl.render import actions

        args = ActionArgs(action, tuple(ids or ()), sel, all_rows, reason, force, dry_run, yes)
        outcome = perform(inv, args, interactive=actions.is_interactive(), confirm=actions.confirm)
        actions.emit_action(outcome, fmt=inv.output, quiet=inv.quiet)
        return outcome.exit_code

    run_command(ctx, f"dead-letters {action}", body)


@dead_letters_app.command("retry", epilog=ACTION_EPILOG)
def retry_command(
    ctx: typer.Context, ids: IdsArg = None, status: StatusOpt = None, run: RunOpt = None,
    source_type: SourceOpt = None, active_only: ActiveOpt = False, since: SinceOpt = None,
    older_than: OlderOpt = None, reason_match: ReasonOpt = None, stale: StaleOpt = False, all_rows: AllOpt = False,
    reason: ReasonTextOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Also retry resolved rows and rows already retrying.")] = False,
) -> None:
    """Request a retry (status retry_requested) with a fresh dispatch budget.

    Allowed from open, ignored and linked_to_compensation; retrying and resolved rows need --force.
    Rows the engine's dispatcher would never re-drive (not a tool_effect, no 'retry' recovery option,
    no run_id) are refused. The dispatcher's retry_dispatch_count, retry_dispatched_at_ms and
    retry_backoff_ms are removed from metadata, so a parked retry_exhausted row gets 5 new dispatches;
    operator_retry_count and previous_retry_dispatch_count record the history.

    Example: tandemctl dead-letters retry --status ignored --run run-42 --reason "provider is back" --dry-run
    """
    sel = selectors(status, run, source_type, active_only, since, older_than, reason_match, stale)
    _act(ctx, "retry", ids, sel, all_rows=all_rows, reason=reason, force=force, dry_run=dry_run, yes=yes)


@dead_letters_app.command("park", epilog=ACTION_EPILOG)
def park_command(
    ctx: typer.Context, ids: IdsArg = None, status: StatusOpt = None, run: RunOpt = None,
    source_type: SourceOpt = None, active_only: ActiveOpt = False, since: SinceOpt = None,
    older_than: OlderOpt = None, reason_match: ReasonOpt = None, stale: StaleOpt = False, all_rows: AllOpt = False,
    reason: ReasonTextOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Also park resolved rows.")] = False,
) -> None:
    """Park dead letters (status ignored): the dispatcher leaves them alone. Needs --reason.

    Allowed from open, retry_requested, retrying and linked_to_compensation; resolved needs --force.

    Example: tandemctl dead-letters park dead-letter-effect-18ab48006bed9a50 --reason "duplicate send"
    """
    sel = selectors(status, run, source_type, active_only, since, older_than, reason_match, stale)
    _act(ctx, "park", ids, sel, all_rows=all_rows, reason=reason, force=force, dry_run=dry_run, yes=yes)


@dead_letters_app.command("resolve", epilog=ACTION_EPILOG)
def resolve_command(
    ctx: typer.Context, ids: IdsArg = None, status: StatusOpt = None, run: RunOpt = None,
    source_type: SourceOpt = None, active_only: ActiveOpt = False, since: SinceOpt = None,
    older_than: OlderOpt = None, reason_match: ReasonOpt = None, stale: StaleOpt = False, all_rows: AllOpt = False,
    reason: ReasonTextOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Mark dead letters resolved (handled outside Tandem), from any status. Needs --reason.

    Example: tandemctl dead-letters resolve --active-only --older-than 30d --reason "fixed by hand" --yes
    """
    sel = selectors(status, run, source_type, active_only, since, older_than, reason_match, stale)
    _act(ctx, "resolve", ids, sel, all_rows=all_rows, reason=reason, force=False, dry_run=dry_run, yes=yes)


@dead_letters_app.command("reopen", epilog=ACTION_EPILOG)
def reopen_command(
    ctx: typer.Context, ids: IdsArg = None, status: StatusOpt = None, run: RunOpt = None,
    source_type: SourceOpt = None, active_only: ActiveOpt = False, since: SinceOpt = None,
    older_than: OlderOpt = None, reason_match: ReasonOpt = None, stale: StaleOpt = False, all_rows: AllOpt = False,
    reason: ReasonTextOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Reopen dead letters (status open, disposition reopened) for another look.

    Allowed from ignored, resolved and linked_to_compensation, and from retry_requested and
    retrying, where it cancels the pending retry (a run already re-queued keeps running).

    Example: tandemctl dead-letters reopen --status ignored --reason-match "quota" --reason "quota raised"
    """
    sel = selectors(status, run, source_type, active_only, since, older_than, reason_match, stale)
    _act(ctx, "reopen", ids, sel, all_rows=all_rows, reason=reason, force=False, dry_run=dry_run, yes=yes)
