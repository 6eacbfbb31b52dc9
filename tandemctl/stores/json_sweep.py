"""`run_sweep`: the engine's dead-letter retry dispatcher run offline, with the files left as
the server leaves them for its next start (spec 02 §6.2), crash-safe through a redo intent.

The caller must first make sure no engine is live (`engine_guard.check_engine_idle`): a live
engine holds the runs and the audit tail in memory and runs this dispatcher itself.
"""

import uuid
from dataclasses import dataclass, field

from tandemctl.engine.audit_chain import AuditTail, event_line
from tandemctl.engine.definitions import Definitions
from tandemctl.engine.dispatcher import DeadLetterBook
from tandemctl.engine.dispositions import tenant_label
from tandemctl.engine.rows import Row, RowChange
from tandemctl.engine.run_records import run_validation_error
from tandemctl.engine.run_store import RunStore, shard_bytes, shard_relpath
from tandemctl.engine.sweep_order import engine_order
from tandemctl.engine.sweep_plan import SweepChanges, SweepOutcome, SweepState, plan_sweep
from tandemctl.errors import ConflictError, TandemctlError, UsageError
from tandemctl.fs import atomic, limits, locks, reads, temps
from tandemctl.fs.reads import FileIdentity
from tandemctl.stores.action_intent import recover_pending
from tandemctl.stores.audit_ledger import read_audit_tail
from tandemctl.stores.json_codec import ReliabilityData, parse_reliability, serialize_reliability
from tandemctl.stores.json_definitions import load_definitions
from tandemctl.stores.json_file import JsonReliabilityFile, JsonWriter
from tandemctl.stores.json_runs import load_hot_runs, shard_reader
from tandemctl.stores.json_verify import refuse_duplicate_dead_letter_ids
from tandemctl.stores.paths import StatePaths
from tandemctl.stores.sweep_intent import (
    intent_path,
    read_intent,
    read_intent_journal,
    remove_intent,
    roll_forward,
    write_intent,
)
from tandemctl.stores.sweep_journal import journal_once, sweep_entry


def run_sweep(paths: StatePaths, *, now_ms: int, dry_run: bool, max_dispatches: int | None,
              tenant: Row | None, lock_timeout: float, operator: str = "operator",
              argv: tuple[str, ...] = ()) -> SweepOutcome:
    """One dispatcher sweep at `now_ms`. `tenant` limits it to the dead letters that tenant sees;
    `max_dispatches` caps dispatches (not resolves or exhausts); `dry_run` writes nothing."""
    if max_dispatches is not None and max_dispatches < 0:
        raise UsageError(f"--max must be 0 or more, got {max_dispatches}")
    if dry_run:
        return _plan_only(paths, now_ms, max_dispatches, tenant)
    if not paths.reliability_file.exists() and not intent_path(paths).exists():
        # A fresh install (no reliability store yet): nothing to sweep, and nothing is created.
        return _plan_only(paths, now_ms, max_dispatches, tenant, dry_run=False)
    with locks.exclusive_lock(paths.runs_file, lock_timeout), \
            locks.exclusive_lock(paths.reliability_file, lock_timeout):
        for path in (paths.runs_file, paths.reliability_file, intent_path(paths)):
            temps.remove_stale_temps(path)  # left by a killed sweep; never the engine's files
        # An operator action killed after its store write: journal it before we move its rows on.
        recover_pending(paths.reliability_file, lambda: JsonReliabilityFile(paths.reliability_file).load().dead_letters)
        interrupted = read_intent(paths)
        finished = None
        if interrupted is not None:
            state = load_sweep_state(paths)
            refuse_duplicate_dead_letter_ids(state.reliability.dead_letters, paths.reliability_file)
            todo = roll_forward(state, interrupted)
            _engine_order(state, todo.dead_letters)
            _persist_or_explain(paths, state, todo)
            entry = read_intent_journal(paths)
            if entry is not None:
                journal_once(paths.journal_file, entry, state.reliability.dead_letters, rolled_forward=True)
            remove_intent(paths)
            finished = (f"{len(todo.runs)} run(s) requeued, {len(todo.audit)} audit record(s), "
                        f"{len(todo.dead_letters)} dead-letter change(s) written")
        state = load_sweep_state(paths)
        outcome, changes = plan_sweep(state, now_ms=now_ms, max_dispatches=max_dispatches, tenant=tenant,
                                      new_event_id=_new_event_id)
        if changes:
            _engine_order(state, changes.dead_letters)
            refuse_duplicate_dead_letter_ids(state.reliability.dead_letters, paths.reliability_file)
            label = None if tenant is None else tenant_label(tenant)
            entry = sweep_entry(changes.dead_letters, now_ms=now_ms, operator=operator, argv=list(argv),
                                tenant=label) if changes.dead_letters else None
            write_intent(paths, state, changes, now_ms, journal=entry)
            _persist_or_explain(paths, state, changes)
            if entry is not None:  # after the store write, before the intent goes: exactly once
                journal_once(paths.journal_file, entry, state.reliability.dead_letters, rolled_forward=False)
            remove_intent(paths)
        outcome.finished_interrupted = finished
        return outcome


def _plan_only(paths: StatePaths, now_ms: int, max_dispatches: int | None, tenant: Row | None, *,
               dry_run: bool = True) -> SweepOutcome:
    """A dry run reads without locking; a pending intent is rolled forward in memory only."""
    state = load_sweep_state(paths)
    interrupted = read_intent(paths)
    if interrupted is not None:
        roll_forward(state, interrupted)
    outcome, _ = plan_sweep(state, now_ms=now_ms, max_dispatches=max_dispatches, tenant=tenant,
                            new_event_id=_new_event_id)
    outcome.dry_run = dry_run
    return outcome


def _engine_order(state: "JsonSweepState", marks: list[RowChange]) -> None:
    """Leave the dead letters in the order the engine's per-mark writes leave them."""
    if marks:
        state.reliability.dead_letters[:] = engine_order(state.reliability.dead_letters, marks)




def _new_event_id() -> str:
    return str(uuid.uuid4())


@dataclass
class JsonSweepState(SweepState):
    """A sweep's state loaded from the JSON files, with the store version it was read from."""

    reliability: ReliabilityData = field(default_factory=ReliabilityData)
    reliability_identity: FileIdentity | None = None


def load_sweep_state(paths: StatePaths) -> JsonSweepState:
    """Everything one sweep reads: hot runs (shards on demand), definitions (on demand),
    the reliability store and the audit tail."""
    limits.check_together([paths.reliability_file, paths.runs_file, paths.audit_file], command="the sweep")
    hot = load_hot_runs(paths.runs_file)
    data, identity = reads.read_bytes(paths.reliability_file)
    reliability = parse_reliability(data, paths.reliability_file)
    entries = list(hot.entries.values())  # as loaded, before this sweep changes any
    definitions = Definitions(lambda: load_definitions(paths.definitions_dir, paths.legacy_definitions_file),
                              lambda: snapshot_runs(entries))
    return JsonSweepState(
        runs=RunStore(hot, shard_reader(paths.shard_root)),
        definitions=definitions,
        reliability=reliability,
        reliability_identity=identity,
        dead_letters=DeadLetterBook(reliability.dead_letters),
        audit=read_audit_tail(paths.audit_file),
    )


def snapshot_runs(entries: list[Row]) -> list[Row]:
    """Hot runs with a valid snapshot: the only ones the definition override looks at."""
    return [run for run in entries if run.get("automation_snapshot") is not None and run_validation_error(run) is None]


def _persist_or_explain(paths: StatePaths, state: JsonSweepState, changes: SweepChanges) -> None:
    """`_persist`; a failure part-way says that the intent keeps the rest for the next sweep."""
    try:
        _persist(paths, state, changes)
    except TandemctlError as exc:
        exc.message += (f"; the sweep stopped part-way and keeps its intent {intent_path(paths)}: "
                        "the next sweep finishes it")
        raise


def _persist(paths: StatePaths, state: JsonSweepState, changes: SweepChanges) -> None:
    """Write each file once, in the server's order: shards and the hot runs file, the audit
    lines, then the dead letters."""
    records = [change.after for change in changes.runs.values() if change.after is not None]
    for month in sorted({(paths.shard_root / shard_relpath(record)).parent for record in records}):
        temps.remove_stale_temps_in(month)  # left by a sweep killed while writing its shards
    for record in records:
        atomic.write_atomic(paths.shard_root / shard_relpath(record), shard_bytes(record))
    if changes.runs:
        hot = state.runs.hot
        identity = hot.identity if isinstance(hot.identity, FileIdentity) else None
        try:
            atomic.write_atomic(paths.runs_file, hot.serialize(), expected=identity, check=True)
        except atomic.StaleFileError:
            raise ConflictError(f"{paths.runs_file}: changed while tandemctl swept; "
                                "run the sweep again to finish (its intent is kept)") from None
    if changes.audit:
        atomic.append_durable(paths.audit_file, _audit_bytes(state.audit, changes.audit))
    if changes.dead_letters:
        _write_dead_letters(paths, state, changes)


def _write_dead_letters(paths: StatePaths, state: JsonSweepState, changes: SweepChanges) -> None:
    """Write the store as planned. It should not change under us (we hold the lock and the engine is
    stopped), but an unlocked writer whose liveness we cannot see may rewrite it while we sweep: then
    apply only the rows still in their prior state onto its version, and defend them the way operator
    actions do (a write of its that read the store before our rename would revert our marks)."""
    try:
        atomic.write_atomic(paths.reliability_file, serialize_reliability(state.reliability),
                            expected=state.reliability_identity, check=True)
    except atomic.StaleFileError:
        JsonWriter(JsonReliabilityFile(paths.reliability_file)).apply(changes.dead_letters, skip_conflicts=True)


def _audit_bytes(tail: AuditTail, events: list[Row]) -> bytes:
    """All new lines in one append. A torn last line that is the start of our first line (an
    earlier append cut short) is completed; any other unterminated tail is closed first."""
    data = b"".join(event_line(event) for event in events)
    partial = tail.partial_line
    if not partial:
        return data
    return data[len(partial):] if data.startswith(partial) else b"\n" + data
