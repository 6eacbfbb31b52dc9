"""The 0.6.x JSON files as a `Store`: `runtime/stateful_reliability.json` for the dead letters,
plus the runs files and the audit ledger for the sweep."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tandemctl.engine.audit_chain import AuditVerification
from tandemctl.engine.counting import GroupKey, count_elsewhere, count_matching
from tandemctl.engine.query import DeadLetterQuery, Page, list_dead_letters
from tandemctl.engine.rows import Row, compensations_targeting
from tandemctl.engine.run_store import RunStore
from tandemctl.engine.sweep_plan import SweepOutcome
from tandemctl.fs import locks, temps
from tandemctl.stores import action_intent, audit_ledger, json_events, json_sweep
from tandemctl.stores.base import RowScope, StoreInfo, SweepArgs
from tandemctl.stores.json_file import JsonReliabilityFile, JsonWriter
from tandemctl.stores.json_runs import load_hot_runs, shard_reader
from tandemctl.stores.paths import StatePaths


@dataclass
class JsonFileStore:
    """Reads validate the whole file as strictly as the engine; writes are one atomic, locked,
    verified rewrite of the file (see `JsonReliabilityFile`)."""

    paths: StatePaths
    env: Mapping[str, str]
    why: str = "the JSON files of tandem-server 0.6.x"

    @property
    def file(self) -> JsonReliabilityFile:
        return JsonReliabilityFile(self.paths.reliability_file)

    @property
    def info(self) -> StoreInfo:
        path = self.paths.reliability_file
        notes = () if path.exists() else (f"fresh install: no reliability store at {path} yet",)
        return StoreInfo(kind="json", location=str(path), why=self.why, notes=notes,
                         lock_file=str(path.with_name(path.name + locks.LOCK_SUFFIX)))

    @property
    def journal_file(self) -> Path:
        return self.paths.journal_file

    @property
    def audit_file(self) -> Path:
        return self.paths.audit_file

    def list_dead_letters(self, query: DeadLetterQuery) -> Page:
        # A page that can stop early reads the records one by one; `--limit 0` parses them at once.
        return list_dead_letters(self.file.dead_letters_for_listing(self.env, lazy=query.limit > 0), query)

    def load_dead_letters(self, scope: RowScope | None = None) -> list[Row]:
        return self.file.load().dead_letters

    def compensations_of(self, effect_id: str) -> list[Row]:
        return compensations_targeting(self.load_collection("compensations"), effect_id)

    def count_elsewhere(self, query: DeadLetterQuery) -> int:
        return count_elsewhere(self.load_dead_letters(), query)

    def count_dead_letters(self, query: DeadLetterQuery, by: Sequence[str]) -> dict[GroupKey, int]:
        return count_matching(self.load_dead_letters(), query, by)

    def load_collection(self, collection: str, keys: frozenset[str] | None = None) -> list[Row]:
        return self.file.load().rows(collection)

    @contextmanager
    def writer(self, lock_timeout: float) -> Iterator["JsonWriter"]:
        path = self.paths.reliability_file
        with locks.exclusive_lock(path, lock_timeout):
            temps.remove_stale_temps(path)
            yield JsonWriter(self.file)

    def pending_operation(self) -> tuple[str, Path] | None:
        pending = action_intent.pending_operation(self.paths.reliability_file)
        return None if pending is None else (pending, action_intent.intent_path(self.paths.reliability_file))

    def sweep(self, args: SweepArgs) -> SweepOutcome:
        return json_sweep.run_sweep(self.paths, now_ms=args.now_ms, dry_run=args.dry_run,
                                    max_dispatches=args.max_dispatches, tenant=args.tenant,
                                    lock_timeout=args.lock_timeout, operator=args.operator, argv=args.argv)

    def verify_audit(self) -> AuditVerification:
        return audit_ledger.verify_audit_ledger(self.paths.audit_file)

    def get_run(self, run_id: str) -> Row | None:
        runs = RunStore(load_hot_runs(self.paths.runs_file), shard_reader(self.paths.shard_root))
        return runs.get_automation_v2_run(run_id)

    def run_events(self, run_id: str | None, limit: int) -> list[Row]:
        return json_events.read_run_events(self.paths.runtime_dir / json_events.EVENTS_FILE, run_id, limit)
