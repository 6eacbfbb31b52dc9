"""`check`: a Nagios/Icinga plugin. Its exit codes follow the plugin conventions (0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN), so any failure to read the state, or bad usage, becomes 3 UNKNOWN."""

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli.runner import run_command

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation

NAGIOS_UNKNOWN = 3


def check_command(
    ctx: typer.Context,
    warn_open: Annotated[int | None, typer.Option(
        "--warn-open", min=0, help="WARNING when more than N dead letters are open, retry_requested or "
        "retrying.")] = None,
    crit_open: Annotated[int | None, typer.Option(
        "--crit-open", min=0, help="CRITICAL when more than N are open.")] = None,
    warn_oldest: Annotated[str | None, typer.Option(
        "--warn-oldest", help="WARNING when the oldest open dead letter is older than this (e.g. 1h).")] = None,
    crit_oldest: Annotated[str | None, typer.Option(
        "--crit-oldest", help="CRITICAL when the oldest open dead letter is older than this.")] = None,
    warn_exhausted: Annotated[int | None, typer.Option(
        "--warn-exhausted", min=0, help="WARNING when more than N rows are parked as retry_exhausted.")] = None,
    crit_exhausted: Annotated[int | None, typer.Option(
        "--crit-exhausted", min=0, help="CRITICAL when more than N rows are parked as retry_exhausted.")] = None,
) -> None:
    """Nagios/Icinga plugin: one status line with perfdata; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

    A value alerts when it is MORE than its threshold. An unreadable state or bad usage is UNKNOWN (3).

    Example: tandemctl --all-tenants check --warn-open 10 --crit-open 50 --warn-oldest 1h --crit-exhausted 0
    """
    finished = False

    def body(inv: "Invocation") -> int:
        nonlocal finished
        from tandemctl.commands.check import parse_thresholds, run_check, unknown
        from tandemctl.errors import TandemctlError
        from tandemctl.render.check import emit_check

        try:
            thresholds = parse_thresholds(warn_open=warn_open, crit_open=crit_open, warn_oldest=warn_oldest,
                                          crit_oldest=crit_oldest, warn_exhausted=warn_exhausted,
                                          crit_exhausted=crit_exhausted)
            outcome = run_check(inv, thresholds)
        except TandemctlError as exc:
            outcome = unknown(exc.message)
        finished = True
        return emit_check(outcome, fmt=inv.output)

    try:
        run_command(ctx, "check", body)
    except typer.Exit as done:
        if finished or done.exit_code == 0:
            raise
        # Failed before the check ran (the error line is already on stderr): Nagios's UNKNOWN.
        sys.stdout.write("TANDEMCTL UNKNOWN - cannot run the check (see stderr)\n")
        raise typer.Exit(NAGIOS_UNKNOWN) from None
