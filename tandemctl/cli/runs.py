"""`runs show` and `events tail`: thin adapters over `commands/runs.py`."""

import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli.complete import complete_run_id
from tandemctl.cli.runner import run_command
from tandemctl.errors import EXIT_CODE_HELP

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation

runs_app = typer.Typer(no_args_is_help=True, help="Automation runs (the owners of dead letters).",
                       epilog=EXIT_CODE_HELP)
events_app = typer.Typer(no_args_is_help=True, help="The engine's runtime events (runtime/events.jsonl).",
                         epilog=EXIT_CODE_HELP)


@runs_app.command("show")
def runs_show_command(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help="The automation run to show.",
                                          autocompletion=complete_run_id)],
) -> None:
    """A run as the engine sees it (hot file, else its history shard): status, nodes, last failure,
    its dead letters, the dispatcher's requeue history, its last lifecycle and runtime events.

    Example: tandemctl --all-tenants runs show automation-v2-run-5071950e-adec-4f11-bd83-6e77af67d461
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.runs import show_run
        from tandemctl.render.runs import emit_run

        emit_run(show_run(inv, run_id), fmt=inv.output)
        return 0

    run_command(ctx, "runs show", body)


class _Stop:
    """SIGINT/SIGTERM end `--follow` cleanly (exit 0) between two polls."""

    def __init__(self) -> None:
        self.event = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.handle)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()


@events_app.command("tail")
def events_tail_command(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="Only the events of this run id.",
                                            autocompletion=complete_run_id)] = None,
    event_type: Annotated[str | None, typer.Option(
        "--type", help="Only this event type; a glob such as 'automation_v2.run.*' works.")] = None,
    lines: Annotated[int, typer.Option("-n", "--lines", help="How many of the last events; 0 = all.")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new events until Ctrl-C.")] = False,
    interval: Annotated[str, typer.Option("--interval", help="How often --follow looks for new events.")] = "1s",
) -> None:
    """The last runtime events, oldest first, scoped to the tenant; --follow keeps printing new ones
    (JSON Lines with -o json or jsonl) until Ctrl-C, then exits 0.

    Example: tandemctl --all-tenants events tail --run automation-v2-run-5071950e-adec-4f11-bd83-6e77af67d461 -n 50
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.durations import parse_duration_ms
        from tandemctl.commands.runs import follow_events, tail_events
        from tandemctl.render.runs import emit_events

        if not follow:
            emit_events(tail_events(inv, run_id=run, event_type=event_type, limit=lines), fmt=inv.output,
                        now_ms=inv.now_ms, stream=False)
            return 0
        period_s = parse_duration_ms(interval, option="--interval") / 1000
        stop = _Stop()
        follow_events(inv, run_id=run, event_type=event_type, limit=lines,
                      emit=lambda batch: emit_events(batch, fmt=inv.output, now_ms=inv.now_ms, stream=True),
                      wait=lambda: not stop.event.wait(period_s))
        return 0

    run_command(ctx, "events tail", body)
