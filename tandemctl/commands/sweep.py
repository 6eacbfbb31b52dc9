"""The `sweep` use case: the engine guard, then one sweep or a loop of them, through the store."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tandemctl.commands.invocation import Invocation
from tandemctl.engine.sweep_plan import SweepOutcome
from tandemctl.remote.engine_guard import check_engine_idle, detect_live_engine
from tandemctl.stores.base import SweepArgs


@dataclass(frozen=True)
class SweepRequest:
    dry_run: bool
    max_dispatches: int | None
    lock_timeout: float
    engine_url: str | None
    skip_if_engine_live: bool


@dataclass(frozen=True)
class SweepResult:
    """One sweep's outcome, or the note that it was skipped because an engine is live."""

    outcome: SweepOutcome | None
    skipped_engine_live: str | None = None


def sweep_tenant(inv: Invocation) -> dict[str, Any] | None:
    """The engine sweeps every tenant; only an explicitly given --tenant restricts it."""
    return inv.tenant if inv.tenant_explicit else None


def sweep_once(inv: Invocation, request: SweepRequest, *, now_ms: int) -> SweepResult:
    """Refuse (or skip) while an engine is live; otherwise run one sweep at `now_ms`."""
    url = request.engine_url or inv.engine_url
    if request.skip_if_engine_live:
        reason = detect_live_engine(inv.paths.engine_lock_file, url, inv.env)
        if reason is not None:
            return SweepResult(outcome=None, skipped_engine_live=reason)
    elif not request.dry_run:
        check_engine_idle(inv.paths.engine_lock_file, url, inv.env)
    outcome = inv.store().sweep(SweepArgs(now_ms=now_ms, dry_run=request.dry_run, max_dispatches=request.max_dispatches,
                                          tenant=sweep_tenant(inv), lock_timeout=request.lock_timeout,
                                          operator=inv.actor, argv=inv.argv))
    return SweepResult(outcome=outcome)


def sweep_loop(inv: Invocation, request: SweepRequest, *, clock: Callable[[], int],
               wait: Callable[[], bool], report: Callable[[SweepResult], None]) -> int:
    """Sweep until `wait()` says stop (it sleeps one interval and returns False on SIGINT/SIGTERM).

    A stop request never interrupts a sweep in progress: signals only set the flag `wait` reads.
    """
    sweeps = 0
    while True:
        report(sweep_once(inv, request, now_ms=clock()))
        sweeps += 1
        if not wait():
            return sweeps
