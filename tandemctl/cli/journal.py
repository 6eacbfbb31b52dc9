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
    dead_letter_id: Annotated[str | None, typer.Option(
        "--dead-letter", "--id", help="Only operations that changed this dead letter.",
        autocompletion=complete_dead_letter_id)] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only operations that changed a row of this run.")] = None,
    actor: Annotated[str | None, typer.Option(
        "--actor", help="Only operations by this actor (tandemctl-sweep for sweeps).")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only operations within this long (e.g. 2h, 7d).")] = None,
    limit: Annotated[int, typer.Option("-n", "--limit", help="How many operations; 0 = all.")] = 20,
) -> None:
    """Show the operator journal, newest first: who changed which dead letters, when and why.

    Operator actions, undos and sweeps that changed something are all journaled, so this answers
    "what changed this row?" whoever did it. Exit 6 when some journal lines are unreadable (they
    are reported by line number; the readable entries are still shown).

    Example: tandemctl --all-tenants history --dead-letter dead-letter-effect-a6cc191590fe185d -n 5
    """
    def body(inv: "Invocation") -> int:
        from tandemctl.commands.durations import parse_duration_ms
        from tandemctl.commands.history import HistoryFilter, show_history
        from tandemctl.render.history import emit_history

        since_ms = inv.now_ms - parse_duration_ms(since, option="--since") if since else None
        filt = HistoryFilter(dead_letter_id=dead_letter_id, run_id=run, actor=actor, since_ms=since_ms, limit=limit)
        outcome = show_history(inv, filt)
        emit_history(outcome, fmt=inv.output, quiet=inv.quiet)
        return outcome.exit_code

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

    Example: tandemctl undo op-20261116T000000-3fa2c1d0 --dry-run
    """
    def body(inv: "Invocation") -> int:
        from tandemctl.commands.undo import UndoArgs, perform_undo
        from tandemctl.render import actions
        from tandemctl.render.progress import activity

        args = UndoArgs(operation_id, reason, dry_run, yes, max_rps)
        outcome = perform_undo(inv, args, interactive=actions.is_interactive(), confirm=actions.confirm,
                              working=lambda label: activity(label, quiet=inv.quiet))
        actions.emit_action(outcome, fmt=inv.output, quiet=inv.quiet)
        return outcome.exit_code

    run_command(ctx, "undo", body)
