"""`doctor` and `metrics`: the state's health for people and for cron/monitoring."""

from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli.runner import run_command

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation


def doctor_command(
    ctx: typer.Context,
    stale_after: Annotated[str, typer.Option(
        "--stale-after", help="An open dead letter older than this is reported as stale.")] = "7d",
) -> None:
    """Check the installation and the state: resolved paths and where each came from, the store and
    whether an engine is live (and how that was decided), the lock, whether every file parses, the
    audit chain, counts, and what looks wrong (retry requests the dispatcher can never act on, stale
    open rows, exhausted rows, a stale JSON store next to a database).

    Exit 0 healthy, 1 warnings, 5 errors.

    Example: tandemctl --state-dir /srv/tandem doctor
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.doctor import run_doctor
        from tandemctl.render.doctor import emit_doctor
        from tandemctl.render.progress import activity

        with activity("checking the state…", quiet=inv.quiet):
            outcome = run_doctor(inv, stale_after=stale_after)
        return emit_doctor(outcome, fmt=inv.output)

    run_command(ctx, "doctor", body)


def metrics_command(
    ctx: typer.Context,
    textfile: Annotated[str | None, typer.Option(
        "--textfile", help="Atomically write the metrics to this file (node_exporter textfile collector; "
        "name it *.prom) instead of stdout.")] = None,
) -> None:
    """Prometheus text exposition of the dead letters in scope: counts by status and tenant, the
    oldest open age, retries in flight, exhausted rows (all and in the last 24 h).

    Use --all-tenants for every tenant. The last sweep's metrics come from `sweep --metrics-file`.

    Example: tandemctl --all-tenants metrics --textfile /var/lib/node_exporter/textfile/tandemctl.prom
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.metrics import dead_letter_metrics
        from tandemctl.render.metrics import emit_metrics

        emit_metrics(dead_letter_metrics(inv, textfile=textfile), quiet=inv.quiet)
        return 0

    run_command(ctx, "metrics", body)
