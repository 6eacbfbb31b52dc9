"""The sweep on a 0.6.9+ database: the real plan (`--dry-run`, every skip reason), never the
writes. Requeueing a run edits `automation_runs` and the protected audit log, which spec 03
§2.10 reserves to the engine; its dispatcher handles requested retries at start-up and every second."""

from typing import TYPE_CHECKING, Final
from uuid import uuid4

from tandemctl.engine import protected_records as pr
from tandemctl.engine.definitions import Definitions
from tandemctl.engine.dispatcher import DeadLetterBook
from tandemctl.engine.dispositions import visible_to_tenant
from tandemctl.engine.query import DeadLetterQuery
from tandemctl.engine.rows import Row
from tandemctl.engine.run_store import HotRuns, RunStore
from tandemctl.engine.sealed import is_readable
from tandemctl.engine.sweep_plan import SkippedItem, SweepOutcome, SweepState, plan_sweep
from tandemctl.errors import CorruptStateError, SweepDelegatedError, UsageError
from tandemctl.stores.audit_ledger import read_audit_tail
from tandemctl.stores.base import RowScope, SweepArgs
from tandemctl.stores.db_schema import AUTOMATION_RUNS
from tandemctl.stores.json_definitions import load_definitions
from tandemctl.stores.json_runs import shard_reader
from tandemctl.stores.json_sweep import snapshot_runs

if TYPE_CHECKING:
    from tandemctl.stores.sql_store import SqlStore

REFUSAL: Final = (
    "sweep writes nothing on a Tandem 0.6.9+ database store: requeueing runs would edit the runs table and the "
    "protected audit log, which only the engine may write (spec 03 §2.10). The engine's own dispatcher handles "
    "requested retries at start-up and every second: request retries with `dead-letters retry`, then start "
    "the engine (or use --live). `sweep --dry-run` shows the plan and why a retry is not happening"
)
RETRY_STATUSES: Final = frozenset({"retry_requested", "retrying"})
SEALED_SKIP: Final = "sealed payload: tandemctl cannot evaluate it (the engine will)"
_RUN_COLUMNS: Final = "run_id, org_id, workspace_id, deployment_id, is_hot, run_json"


def plan_only(store: "SqlStore", args: SweepArgs) -> SweepOutcome:
    if args.max_dispatches is not None and args.max_dispatches < 0:
        raise UsageError(f"--max must be 0 or more, got {args.max_dispatches}")
    if not args.dry_run:
        raise SweepDelegatedError(REFUSAL)
    # The dispatcher considers, and edits, only retry candidates (retry_requested / retrying), each by
    # its own id, which is the table's primary key: the other rows cannot change the plan.
    rows = store.load_dead_letters(RowScope(DeadLetterQuery(statuses=tuple(sorted(RETRY_STATUSES)), limit=0)))
    runs, entries = run_store(store)
    paths = store.paths
    state = SweepState(
        runs=runs,
        definitions=Definitions(lambda: load_definitions(paths.definitions_dir, paths.legacy_definitions_file),
                                lambda: snapshot_runs(entries)),
        dead_letters=DeadLetterBook([row for row in rows if is_readable(row)]),
        audit=read_audit_tail(paths.audit_file),
    )
    outcome, _ = plan_sweep(state, now_ms=args.now_ms, max_dispatches=args.max_dispatches, tenant=args.tenant,
                            new_event_id=lambda: str(uuid4()))
    outcome.skipped += [SkippedItem(dead_letter_id=row["dead_letter_id"], reason=SEALED_SKIP) for row in rows
                        if not is_readable(row) and row["status"] in RETRY_STATUSES
                        and (args.tenant is None or visible_to_tenant(row, args.tenant))]
    outcome.dry_run = True
    return outcome


def run_store(store: "SqlStore") -> tuple[RunStore, list[Row]]:
    """The engine's run lookup over the database: the hot runs of `automation_runs`, then (by id,
    ignoring is_hot) its other rows and the history shards on disk. Also the hot runs themselves."""
    hot, cold = _load_runs(store)
    disk = shard_reader(store.paths.shard_root)

    def read_history(run_id: str) -> dict[str, Row]:
        found = disk(run_id)
        if run_id in cold:  # the engine's lookup by id ignores is_hot
            found[f"{AUTOMATION_RUNS}/{run_id}"] = cold[run_id]
        return found

    return RunStore(HotRuns(path=store.dialect.anchor, version=1, entries=dict(hot)), read_history), list(hot.values())


def _load_runs(store: "SqlStore") -> tuple[dict[str, Row], dict[str, Row]]:
    """(hot runs, the other stored runs) decoded from `automation_runs`; sealed runs are absent."""
    hot: dict[str, Row] = {}
    cold: dict[str, Row] = {}
    where = f"{store.dialect.location}: table {AUTOMATION_RUNS}"
    for run_id, org_id, workspace_id, deployment_id, is_hot, text in store.fetch(
            f"SELECT {_RUN_COLUMNS} FROM {AUTOMATION_RUNS} ORDER BY updated_at_ms, run_id"):
        try:
            decoded = pr.decode_payload(text, kind="run", record_id=run_id,
                                        columns=(org_id, workspace_id, deployment_id), key=store.key)
        except pr.SealedPayloadError:
            continue
        except pr.PayloadDecodeError as exc:
            raise CorruptStateError(f"{where}, run_id {run_id!r}: field {exc.field!r}: {exc.message}") from None
        (hot if is_hot else cold)[run_id] = decoded.record
    return hot, cold
