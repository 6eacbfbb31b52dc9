"""`tandemctl sweep` and `tandemctl audit verify`."""

import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli.runner import run_command
from tandemctl.errors import EXIT_CODE_HELP

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation

audit_app = typer.Typer(no_args_is_help=True, help="The protected audit ledger.", epilog=EXIT_CODE_HELP)
MIN_INTERVAL_MS = 100


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop checks it only between sweeps."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()

    def install(self) -> None:
        signal.signal(signal.SIGINT, self.handle)
        signal.signal(signal.SIGTERM, self.handle)


def sweep_command(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run one sweep and exit.")] = False,
    interval: Annotated[str, typer.Option("--interval", help="Time between sweeps (default 1s, the "
                                          "engine's tick).")] = "1s",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the full plan; write nothing.")] = False,
    max_dispatches: Annotated[int | None, typer.Option("--max", min=0, help="At most N dispatches per sweep.")] = None,
    lock_timeout: Annotated[float | None, typer.Option("--lock-timeout", min=0, help="Seconds to wait for "
                                                       "tandemctl's lock (exit 4 after).")] = None,
    engine_url: Annotated[str | None, typer.Option("--engine-url", envvar="TANDEM_ENGINE_URL", help="Engine "
                                                   "health probe base URL (default http://127.0.0.1:"
                                                   "$TANDEM_ENGINE_PORT, port 39731).")] = None,
    skip_if_engine_live: Annotated[bool, typer.Option("--skip-if-engine-live", help="Exit 0 with a note "
                                                      "instead of 4 when an engine is live (for cron).")] = False,
) -> None:
    """Run the engine's dead-letter retry dispatcher against the files (engine stopped).

    Covers every tenant like the engine; an explicit --tenant restricts it. Refuses (exit 4)
    while an engine is live. Without --once, sweeps every --interval until SIGINT/SIGTERM,
    finishing the sweep in progress.

    Example: tandemctl sweep --once --dry-run
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.durations import parse_duration_ms
        from tandemctl.commands.invocation import read_now_ms
        from tandemctl.commands.sweep import SweepRequest, sweep_loop, sweep_once
        from tandemctl.errors import UsageError
        from tandemctl.render.sweep import emit_sweep

        request = SweepRequest(dry_run=dry_run, max_dispatches=max_dispatches,
                               lock_timeout=inv.lock_timeout if lock_timeout is None else lock_timeout,
                               engine_url=engine_url, skip_if_engine_live=skip_if_engine_live)
        if once:
            emit_sweep(sweep_once(inv, request, now_ms=inv.now_ms), fmt=inv.output, now_ms=inv.now_ms, loop=False,
                       quiet=inv.quiet)
            return 0
        period_ms = parse_duration_ms(interval, option="--interval")
        if period_ms < MIN_INTERVAL_MS:
            raise UsageError(f"--interval: {interval!r} is too short; the minimum is 100ms "
                             "(the engine sweeps every 1s)")
        period_s = period_ms / 1000
        stop = _StopFlag()
        stop.install()
        sweep_loop(inv, request, clock=lambda: read_now_ms(inv.env),
                   wait=lambda: not stop.event.wait(period_s),
                   report=lambda result: emit_sweep(result, fmt=inv.output, now_ms=read_now_ms(inv.env), loop=True,
                                                    quiet=inv.quiet))
        return 0

    run_command(ctx, "sweep", body)


@audit_app.command("verify", epilog=EXIT_CODE_HELP)
def audit_verify_command(ctx: typer.Context) -> None:
    """Check the protected audit ledger: seq 1, 2, 3…, every record_hash, every prev_hash link.

    Reports the first violation with its line number and exits 5 when the chain is broken.

    Exit 3 when there is no ledger yet (nothing has been audited: not the same as a valid chain).

    Example: tandemctl sweep --once && tandemctl audit verify
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.audit import audit_verify
        from tandemctl.render.sweep import emit_audit

        return emit_audit(audit_verify(inv), fmt=inv.output)

    run_command(ctx, "audit verify", body)
