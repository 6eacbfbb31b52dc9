"""`sweep` and `audit verify`: thin adapters over the sweep and audit use cases."""

import signal
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli.runner import run_command
from tandemctl.constants import ENV_ENGINE_URL
from tandemctl.errors import EXIT_CODE_HELP

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation
    from tandemctl.commands.sweep import SweepResult

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


class _Timer:
    """Times each sweep (the clock is read here, in the CLI) and writes its metrics file."""

    def __init__(self, inv: "Invocation", metrics_file: str | None) -> None:
        self.inv, self.metrics_file, self.began = inv, metrics_file, 0.0

    def start(self) -> int:
        from tandemctl.commands.invocation import read_now_ms

        self.began = time.perf_counter()
        return read_now_ms(self.inv.env)

    def done(self, result: "SweepResult") -> None:
        if self.metrics_file is None:
            return
        from pathlib import Path

        from tandemctl.commands.invocation import read_now_ms
        from tandemctl.commands.metrics import sweep_registry, write_textfile

        registry = sweep_registry(result, finished_ms=read_now_ms(self.inv.env),
                                  duration_s=time.perf_counter() - self.began)
        write_textfile(Path(self.metrics_file), registry)


def sweep_command(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run one sweep and exit.")] = False,
    interval: Annotated[str, typer.Option("--interval", help="Time between sweeps (default 1s, the "
                                          "engine's tick).")] = "1s",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the full plan; write nothing.")] = False,
    max_dispatches: Annotated[int | None, typer.Option("--max", min=0, help="At most N dispatches per sweep.")] = None,
    lock_timeout: Annotated[float | None, typer.Option("--lock-timeout", min=0, help="Seconds to wait for "
                                                       "tandemctl's lock (exit 4 after).")] = None,
    engine_url: Annotated[str | None, typer.Option("--engine-url", envvar=ENV_ENGINE_URL, help="Engine "
                                                   "health probe base URL (default http://127.0.0.1:"
                                                   "$TANDEM_ENGINE_PORT, port 39731).")] = None,
    skip_if_engine_live: Annotated[bool, typer.Option("--skip-if-engine-live", help="Exit 0 with a note "
                                                      "instead of 4 when an engine is live (for cron).")] = False,
    metrics_file: Annotated[str | None, typer.Option(
        "--metrics-file", help="After each sweep, atomically write its Prometheus metrics to this file "
        "(node_exporter textfile collector; name it *.prom).")] = None,
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
        timer = _Timer(inv, metrics_file)
        if once:
            from tandemctl.render.progress import activity

            timer.start()
            with activity("sweeping…", quiet=inv.quiet):
                result = sweep_once(inv, request, now_ms=inv.now_ms)
            timer.done(result)
            emit_sweep(result, fmt=inv.output, now_ms=inv.now_ms, loop=False, quiet=inv.quiet)
            return 0
        period_ms = parse_duration_ms(interval, option="--interval")
        if period_ms < MIN_INTERVAL_MS:
            raise UsageError(f"--interval: {interval!r} is too short; the minimum is 100ms "
                             "(the engine sweeps every 1s)")
        period_s = period_ms / 1000
        stop = _StopFlag()
        stop.install()

        def report(result: "SweepResult") -> None:
            timer.done(result)
            emit_sweep(result, fmt=inv.output, now_ms=read_now_ms(inv.env), loop=True, quiet=inv.quiet)

        sweep_loop(inv, request, clock=timer.start, wait=lambda: not stop.event.wait(period_s), report=report)
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

        outcome = audit_verify(inv)
        emit_audit(outcome, fmt=inv.output)
        return outcome.exit_code

    run_command(ctx, "audit verify", body)
