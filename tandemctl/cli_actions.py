"""Commands `dead-letters retry|park|resolve|reopen`, `history` and `undo`: thin adapters that
parse options, make one core call (actions / actions_undo / journal) and render the outcome."""

from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli import (
    ActiveOpt,
    OlderOpt,
    ReasonOpt,
    RunOpt,
    SinceOpt,
    SourceOpt,
    StatusOpt,
    app,
    dead_letters_app,
    run_command,
    selectors,
)
from tandemctl.errors import EXIT_CODE_HELP
from tandemctl.options import SelectorOptions

if TYPE_CHECKING:
    from tandemctl.invocation import Invocation

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
        from tandemctl import render_actions
        from tandemctl.actions import ActionArgs, perform

        args = ActionArgs(action, tuple(ids or ()), sel, all_rows, reason, force, dry_run, yes)
        outcome = perform(inv, args, interactive=render_actions.is_interactive(), confirm=render_actions.confirm)
        render_actions.emit_action(outcome, fmt=inv.output, quiet=inv.quiet)
        return outcome.exit_code

    run_command(ctx, f"dead-letters {action}", body)


@dead_letters_app.command("retry", epilog=ACTION_EPILOG)
def retry_command(
    ctx: typer.Context, ids: IdsArg = None, status: StatusOpt = None, run: RunOpt = None,
    source_type: SourceOpt = None, active_only: ActiveOpt = False, since: SinceOpt = None,
    older_than: OlderOpt = None, reason_match: ReasonOpt = None, all_rows: AllOpt = False,
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
    sel = selectors(status, run, source_type, active_only, since, older_than, reason_match)
    _act(ctx, "retry", ids, sel, all_rows=all_rows, reason=reason, force=force, dry_run=dry_run, yes=yes)


@dead_letters_app.command("park", epilog=ACTION_EPILOG)
def park_command(
    ctx: typer.Context, ids: IdsArg = None, status: StatusOpt = None, run: RunOpt = None,
    source_type: SourceOpt = None, active_only: ActiveOpt = False, since: SinceOpt = None,
    older_than: OlderOpt = None, reason_match: ReasonOpt = None, all_rows: AllOpt = False,
    reason: ReasonTextOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Also park resolved rows.")] = False,
) -> None:
    """Park dead letters (status ignored): the dispatcher leaves them alone. Needs --reason.

    Allowed from open, retry_requested, retrying and linked_to_compensation; resolved needs --force.

    Example: tandemctl dead-letters park dead-letter-effect-18ab48006bed9a50 --reason "duplicate send"
    """
    sel = selectors(status, run, source_type, active_only, since, older_than, reason_match)
    _act(ctx, "park", ids, sel, all_rows=all_rows, reason=reason, force=force, dry_run=dry_run, yes=yes)


@dead_letters_app.command("resolve", epilog=ACTION_EPILOG)
def resolve_command(
    ctx: typer.Context, ids: IdsArg = None, status: StatusOpt = None, run: RunOpt = None,
    source_type: SourceOpt = None, active_only: ActiveOpt = False, since: SinceOpt = None,
    older_than: OlderOpt = None, reason_match: ReasonOpt = None, all_rows: AllOpt = False,
    reason: ReasonTextOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Mark dead letters resolved (handled outside Tandem), from any status. Needs --reason.

    Example: tandemctl dead-letters resolve --active-only --older-than 30d --reason "fixed by hand" --yes
    """
    sel = selectors(status, run, source_type, active_only, since, older_than, reason_match)
    _act(ctx, "resolve", ids, sel, all_rows=all_rows, reason=reason, force=False, dry_run=dry_run, yes=yes)


@dead_letters_app.command("reopen", epilog=ACTION_EPILOG)
def reopen_command(
    ctx: typer.Context, ids: IdsArg = None, status: StatusOpt = None, run: RunOpt = None,
    source_type: SourceOpt = None, active_only: ActiveOpt = False, since: SinceOpt = None,
    older_than: OlderOpt = None, reason_match: ReasonOpt = None, all_rows: AllOpt = False,
    reason: ReasonTextOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Reopen dead letters (status open, disposition reopened) for another look.

    Allowed from ignored, resolved and linked_to_compensation, and from retry_requested and
    retrying, where it cancels the pending retry (a run already re-queued keeps running).

    Example: tandemctl dead-letters reopen --status ignored --reason-match "quota" --reason "quota raised"
    """
    sel = selectors(status, run, source_type, active_only, since, older_than, reason_match)
    _act(ctx, "reopen", ids, sel, all_rows=all_rows, reason=reason, force=False, dry_run=dry_run, yes=yes)


@app.command("history", epilog=EXIT_CODE_HELP)
def history_command(
    ctx: typer.Context,
    dead_letter_id: Annotated[str | None, typer.Option("--id", help="Only operations that changed this row.")] = None,
    limit: Annotated[int, typer.Option("-n", "--limit", help="How many operations; 0 = all.")] = 20,
) -> None:
    """Show the operator journal, newest first: who changed which dead letters, when and why.

    Example: tandemctl history --id dead-letter-effect-18ab48006bed9a50 -n 5 -o json
    """
    def body(inv: "Invocation") -> int:
        from tandemctl import journal, render_actions
        from tandemctl.actions_intent import intent_path, pending_operation
        from tandemctl.render import message

        path = inv.paths.journal_file
        entries = journal.load_history(path, tenant=inv.tenant, dead_letter_id=dead_letter_id, limit=limit)
        render_actions.emit_history(entries, fmt=inv.output, quiet=inv.quiet, source=str(path))
        pending = pending_operation(inv.paths.reliability_file)
        if pending is not None:
            message(f"note: operation {pending} was interrupted ({intent_path(inv.paths.reliability_file)}); the "
                    "next tandemctl write to the store journals it if its change was applied", style="yellow")
        return 0

    run_command(ctx, "history", body)


@app.command("undo", epilog=EXIT_CODE_HELP)
def undo_command(
    ctx: typer.Context,
    operation_id: Annotated[str, typer.Argument(help="The operation to revert (see `tandemctl history`).")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why; journaled with the undo.")] = None,
    dry_run: DryRunOpt = False, yes: YesOpt = False,
) -> None:
    """Revert one journaled operation: status, disposition fields and retry-budget metadata.

    Only rows still exactly as that operation left them are reverted; the others are refused
    (exit 6). Unknown operation ids exit 3. Asks for confirmation like a bulk action.

    Example: tandemctl undo op-20261127T101500-1a2b3c4d --dry-run
    """
    def body(inv: "Invocation") -> int:
        from tandemctl import render_actions
        from tandemctl.actions_undo import UndoArgs, perform_undo

        args = UndoArgs(operation_id, reason, dry_run, yes)
        outcome = perform_undo(inv, args, interactive=render_actions.is_interactive(), confirm=render_actions.confirm)
        render_actions.emit_action(outcome, fmt=inv.output, quiet=inv.quiet)
        return outcome.exit_code

    run_command(ctx, "undo", body)
