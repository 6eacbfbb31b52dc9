"""`doctor`: where everything is and why, which store and whether an engine is live, whether every
file parses, the audit chain, counts, and what looks wrong. Exit 0 healthy, 1 warnings, 5 errors."""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tandemctl.commands.config_report import config_location
from tandemctl.commands.durations import parse_duration_ms
from tandemctl.commands.invocation import Invocation
from tandemctl.commands.retry_verdict import sweep_decision
from tandemctl.engine.dispatcher import MAX_DEAD_LETTER_RETRY_ATTEMPTS
from tandemctl.engine.dispositions import dead_letter_retry_dispatch_count
from tandemctl.engine.rows import Row
from tandemctl.engine.sweep_plan import SweepOutcome
from tandemctl.errors import ExitCode, TandemctlError
from tandemctl.fs import locks
from tandemctl.remote.engine_guard import detect_live_engine, engine_url
from tandemctl.stores.base import Store, SweepArgs
from tandemctl.stores.history_shards import stale_copies
from tandemctl.stores.journal_file import read_entries

OK: Final = "ok"
WARNING: Final = "warning"
ERROR: Final = "error"
COLLECTIONS: Final = ("outbox", "tool_effects", "compensations")
SHOWN_IDS: Final = 5
# Sweep decisions that no amount of waiting changes: a retry request stuck for good.
_NEVER_PREFIXES: Final = ("not_candidate", "no_run_id", "run_not_found", "tenant_mismatch",
                          "run_not_recoverable:completed", "run_not_recoverable:cancelled", "requeue_impossible:")


@dataclass(frozen=True)
class Check:
    name: str
    level: str
    message: str


@dataclass
class DoctorOutcome:
    paths: list[dict[str, Any]]
    store: dict[str, Any]
    engine: dict[str, Any]
    counts: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        levels = {check.level for check in self.checks}
        if ERROR in levels:
            return int(ExitCode.CORRUPT)
        return 1 if WARNING in levels else 0

    def data(self) -> dict[str, Any]:
        return {"paths": self.paths, "store": self.store, "engine": self.engine, "counts": self.counts,
                "checks": [{"name": c.name, "level": c.level, "message": c.message} for c in self.checks]}

    def add(self, name: str, level: str, message: str) -> None:
        self.checks.append(Check(name, level, message))


def _paths(inv: Invocation) -> list[dict[str, Any]]:
    p = inv.paths
    config, config_source = config_location(inv)
    reliability_source = "--reliability-file" if inv.options.reliability_file else f"data dir ({p.source})"
    entries = [("data dir", p.data_dir, p.source), ("reliability store", p.reliability_file, reliability_source),
               ("runs file", p.runs_file, "data dir"), ("history shards", p.shard_root, "data dir"),
               ("audit ledger", p.audit_file, "data dir"), ("runtime events", p.runtime_dir / "events.jsonl",
                                                             "beside the store"),
               ("journal", p.journal_file, "beside the store"), ("config file", config, config_source)]
    return [{"name": name, "path": str(path), "source": source, "exists": path.exists()}
            for name, path, source in entries]


def run_doctor(inv: Invocation, *, stale_after: str) -> DoctorOutcome:
    stale_ms = parse_duration_ms(stale_after, option="--stale-after")
    store = inv.store()
    info = store.info
    live = detect_live_engine(inv.paths.engine_lock_file, inv.engine_url, inv.env)
    outcome = DoctorOutcome(
        paths=_paths(inv),
        store={"kind": info.kind, "location": info.location, "why": info.why, "engine_holds": info.engine_holds,
               "notes": list(info.notes)},
        engine={"live": live is not None, "how": live or f"engine lock {inv.paths.engine_lock_file} not held and "
                f"nothing answers at {engine_url(inv.env, inv.engine_url)}"},
    )
    if live is not None:
        outcome.add("engine", OK, f"live ({live}): the engine runs the dispatcher; `tandemctl sweep` refuses")
    if info.lock_file is not None:
        held = locks.is_flock_held(Path(info.lock_file))
        outcome.add("lock", WARNING if held else OK,
                    "another tandemctl holds the store lock now" if held else "tandemctl's store lock is free")
    if info.kind != "json" and inv.paths.reliability_file.exists():
        outcome.add("stale json store", WARNING, f"{inv.paths.reliability_file} exists next to the {info.kind} "
                    "store, which is authoritative: the file is stale and tandemctl ignores it")
    rows = _check_records(store, outcome)
    plan = _check_sweep(store, inv, outcome)
    _check_audit(store, outcome)
    _check_journal(store, outcome)
    _check_shards(inv, outcome)
    outcome.counts["runtime_events"] = len(store.run_events(None, 0))
    if rows is not None:
        _suspicious(rows, plan, outcome, now_ms=inv.now_ms, stale_ms=stale_ms, stale_after=stale_after)
    return outcome


def _check_records(store: Store, outcome: DoctorOutcome) -> list[Row] | None:
    try:
        rows = store.load_dead_letters()
        for name in COLLECTIONS:
            outcome.counts[name] = len(store.load_collection(name))
    except TandemctlError as exc:
        outcome.add("reliability store", ERROR, exc.message)
        return None
    outcome.counts["dead_letters"] = dict(sorted(Counter(str(r.get("status")) for r in rows).items()))
    outcome.add("reliability store", OK, f"{len(rows)} dead letter(s) and every other record parse")
    duplicates = sorted(str(k) for k, n in Counter(r.get("dead_letter_id") for r in rows).items() if n > 1)
    if duplicates:
        outcome.add("duplicate ids", WARNING, f"dead_letter_id used more than once: {_ids(duplicates)}")
    return rows


def _check_sweep(store: Store, inv: Invocation, outcome: DoctorOutcome) -> SweepOutcome | None:
    """A dry-run sweep reads the runs, history shards, definitions and the audit tail, as a sweep would."""
    try:
        plan = store.sweep(SweepArgs(now_ms=inv.now_ms, dry_run=True, max_dispatches=None, tenant=None,
                                     lock_timeout=inv.lock_timeout))
    except TandemctlError as exc:
        outcome.add("runs and definitions", ERROR, f"the sweep cannot plan: {exc.message}")
        return None
    outcome.add("runs and definitions", OK, f"a sweep now would act on {plan.acted} dead letter(s) "
                f"({len(plan.dispatched)} dispatch, {len(plan.resolved)} resolve, {len(plan.exhausted)} exhaust)")
    return plan


def _check_audit(store: Store, outcome: DoctorOutcome) -> None:
    try:
        verification = store.verify_audit()
    except TandemctlError as exc:
        outcome.add("audit chain", ERROR, exc.message)
        return
    outcome.counts["audit_records"] = verification.record_count
    if verification.valid:
        outcome.add("audit chain", OK, f"{verification.record_count} record(s), every hash and link valid")
    else:
        violation = verification.first_violation
        outcome.add("audit chain", ERROR, f"broken: {violation.model_dump() if violation else 'unknown'}")


def _check_journal(store: Store, outcome: DoctorOutcome) -> None:
    try:
        outcome.counts["journal_operations"] = len(read_entries(store.journal_file))
    except TandemctlError as exc:
        outcome.add("journal", ERROR, exc.message)
    pending = store.pending_operation()
    if pending is not None:
        outcome.add("interrupted action", WARNING, f"operation {pending[0]} was interrupted ({pending[1]}); the next "
                    "tandemctl write journals it")


def _check_shards(inv: Invocation, outcome: DoctorOutcome) -> None:
    stale = stale_copies(inv.paths.shard_root)
    outcome.add("stale history shards", WARNING if stale else OK,
                f"{len(stale)} run(s) have a history shard in more than one month, and the engine may read the "
                f"stale one: {_ids([' + '.join(paths) for _, paths in stale])}" if stale
                else "no run has a history shard in more than one month")


def _ids(ids: list[str]) -> str:
    more = f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
    return ", ".join(ids[:SHOWN_IDS]) + more


def _suspicious(rows: list[Row], plan: SweepOutcome | None, outcome: DoctorOutcome, *, now_ms: int,
                stale_ms: int, stale_after: str) -> None:
    if plan is not None:
        stuck = sorted(r["dead_letter_id"] for r in rows if r.get("status") in ("retry_requested", "retrying")
                       and sweep_decision(plan, r["dead_letter_id"]).startswith(_NEVER_PREFIXES))
        outcome.add("stuck retry requests", WARNING if stuck else OK,
                    f"{len(stuck)} retry request(s) the dispatcher can never act on: {_ids(stuck)} "
                    "(`tandemctl dead-letters show ID` says why)" if stuck else "every retry request can progress")
    stale = sorted((r for r in rows if r.get("status") == "open"
                    and now_ms - r.get("created_at_ms", now_ms) >= stale_ms), key=lambda r: r.get("created_at_ms", 0))
    outcome.add("stale open rows", WARNING if stale else OK,
                f"{len(stale)} open for more than {stale_after}: {_ids([r['dead_letter_id'] for r in stale])}"
                if stale else f"none open for more than {stale_after}")
    exhausted = sorted(r["dead_letter_id"] for r in rows if r.get("operator_disposition") == "retry_exhausted"
                       and r.get("status") == "ignored")
    due = sorted(r["dead_letter_id"] for r in rows if r.get("status") in ("retry_requested", "retrying")
                 and dead_letter_retry_dispatch_count(r) >= MAX_DEAD_LETTER_RETRY_ATTEMPTS)
    outcome.add("exhausted rows", WARNING if exhausted or due else OK,
                f"{len(exhausted)} parked after {MAX_DEAD_LETTER_RETRY_ATTEMPTS} dispatches"
                + (f": {_ids(exhausted)}" if exhausted else "")
                + (f"; {len(due)} about to be: {_ids(due)}" if due else ""))
