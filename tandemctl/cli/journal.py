"""`history` and `undo`: the operator journal and reverting one operation."""

from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli.complete import complete_dead_letter_id, complete_operation_id
from tandemctl.cli.dead_letters import DEFAULT_MAX_RPS, DryRunOpt, MaxRpsOpt, YesOpt
from tandemctl.cli.runner import run_command

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation


def history_command(
    ctx: typer.Context,
    dead_letter_id: Annotated[str | None, typer.Option("--id", help="Only operations that changed this row.",
                                                       autocompletion=complete_dead_letter_id)] = None,
    limit: Annotated[int, typer.Option("-n", "--limit", help="How many operations; 0 = all.")] = 20,
) -> None:
    """Show the operator journal, newest first: who changed which dead letters, when and why.

    Example: tandemctl history --id dead-letter-effect-18ab48006bed9a50 -n 5 -o json
    """
    def body(inv: "Invocation") -> int:
        from tandemctl.commands.history import show_history
        from tandemctl.render.history import emit_history

        emit_history(show_history(inv, dead_letter_id=dead_letter_id, limit=limit), fmt=inv.output, quiet=inv.quiet)
        return 0

    run_command(ctx, "history", body)


def undo_command(
    ctx: typer.Context,
    operation_id: Annotated[str, typer.Argument(help="The operation to revert (see `tandemctl history`).",
                                                autocompletion=complete_operation_id)],
    reason: Annotated[str | None, typer.Option("--reason", help="Why; journaled with the undo.")] = None,
    dry_run: DryRunOpt = False, yes: YesOpt = False, max_rps: MaxRpsOpt = DEFAULT_MAX_RPS,
) -> None:
    """Revert one journaled operation: status, disposition fields and retry-budget metadata.

    Only rows still exactly as that operation left them are reverted; the others are refused
    (exit 6). Unknown operation ids exit 3. Asks for confirmation like a bulk action.

    Example: tandemctl undo op-20261127T101500-1a2b3c4d --dry-run
    """
    def body(inv: "Invocation") -> int:
        from tandemctl.commands.undo import UndoArgs, perform_undo
        from tandemctl.render import actions

        args = UndoArgs(operation_id, reason, dry_run, yes, max_rps)
        outcome = perform_undo(inv, args, interactive=actions.is_interactive(), confirm=actions.confirm)
        actions.emit_action(outcome, fmt=inv.output, quiet=inv.quiet)
        return outcome.exit_code

    run_command(ctx, "undo", body)
