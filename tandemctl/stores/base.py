"""The storage seam: what every command needs from a store, whichever keeps the dead letters
(the 0.6.x JSON files, a 0.6.9+ database, or a running engine). Commands only see these types."""

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tandemctl.engine.rows import Row, RowChange

if TYPE_CHECKING:  # only named in signatures: a plain `list` does not pay for the sweep's and audit's imports
    from tandemctl.engine.audit_chain import AuditVerification
    from tandemctl.engine.counting import GroupKey
    from tandemctl.engine.query import DeadLetterQuery, Page
    from tandemctl.engine.sweep_plan import SweepOutcome


@dataclass(frozen=True)
class StoreInfo:
    """Which store this is, where, whether a running engine holds it, and why it was chosen."""

    kind: str  # "json", "sqlite", "postgres" or "live"
    location: str  # a path or a URL without credentials
    why: str
    engine_holds: bool | None = None  # None: cannot be told
    notes: tuple[str, ...] = ()
    # What this store cannot do, consulted by the use cases (so no command asks which store it is):
    unsupported_actions: tuple[tuple[str, str], ...] = ()  # (action, why not and what to do instead)
    resets_retry_budget: bool = True  # False: a retried row keeps its spent dispatcher budget
    lock_file: str | None = None  # tandemctl's own write lock, when it is a file (doctor probes it)


@dataclass(frozen=True)
class RowFailure:
    """A change a non-atomic store (the live engine) could not confirm: `kind` is "refused",
    "not_found" or "unknown" (sent, but no answer came back; `reason` says what a re-read found)."""

    key: str
    kind: str
    reason: str


class PartialApply(Exception):
    """Some changes were written (`written`, as the store now holds them) and some were not."""

    def __init__(self, written: Sequence[RowChange], failures: Sequence[RowFailure]) -> None:
        super().__init__(", ".join(f"{f.key}: {f.kind}" for f in failures))
        self.written = list(written)
        self.failures = list(failures)


class ChangeConflict(Exception):
    """Some rows are no longer what the plan was made from: re-read and re-plan."""

    def __init__(self, keys: Sequence[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = tuple(keys)


@dataclass(frozen=True)
class RowScope:
    """The dead letters a reader needs: every row `query` selects (its cursor and limit ignored) and
    every row whose id is in `ids`, whatever its tenant. A store may return more (the JSON file
    returns them all), never fewer, and always in the engine's order."""

    query: "DeadLetterQuery | None" = None
    ids: frozenset[str] = frozenset()

    def with_ids(self, ids: frozenset[str] | None) -> "RowScope":
        return self if not ids else RowScope(self.query, self.ids | ids)


@dataclass(frozen=True)
class StoreSelection:
    """What decides the store, beyond the data dir: flags, config and the engine's own env vars."""

    storage_backend: str | None = None  # --storage-backend, else TANDEM_STORAGE_BACKEND
    postgres_url: str | None = None  # --postgres-url, else TANDEM_STORAGE_POSTGRES_URL
    live: bool = False  # --live or `mode = "live"`: act through the running engine's HTTP API
    engine_url: str | None = None  # --engine-url / TANDEM_ENGINE_URL / config `engine_url`
    api_token_file: str | None = None  # --api-token-file
    live_why: str = ""  # which setting chose live mode, e.g. "--live"
    engine_url_source: str = ""  # which setting gave `engine_url`, e.g. "--engine-url"
    max_rps: float | None = None  # live writes: at most this many requests per second (--max-rps)


@dataclass(frozen=True)
class SweepArgs:
    now_ms: int
    dry_run: bool
    max_dispatches: int | None
    tenant: Row | None
    lock_timeout: float
    operator: str = "operator"  # who ran the sweep: recorded in its journal entry
    argv: tuple[str, ...] = ()


class StoreWriter(Protocol):
    """A store held for writing (its lock taken); every read through it is fresh."""

    @property
    def intent_anchor(self) -> Path:
        """The file next to which an action's journal entry is made durable before the store write."""
        ...

    def dead_letters(self, scope: RowScope | None = None) -> list[Row]:
        """Every dead letter, or at least those of `scope` (see RowScope)."""
        ...

    def apply(self, changes: Sequence[RowChange], *, skip_conflicts: bool = False) -> list[RowChange]:
        """Write every change atomically, each a compare-and-set. A row that is not its `before`
        raises ChangeConflict (nothing written), or with `skip_conflicts` is left out. Returns the
        changes written (their `after` as the store now holds it). A store that cannot write
        atomically raises PartialApply with what it wrote and what it could not."""
        ...


class Store(Protocol):
    """A reader and writer of the reliability records, plus the sweep and the audit ledger."""

    @property
    def info(self) -> StoreInfo: ...

    @property
    def journal_file(self) -> Path: ...

    @property
    def audit_file(self) -> Path: ...

    def list_dead_letters(self, query: "DeadLetterQuery") -> "Page":
        """The engine's filter and cursor semantics; may stop reading after the page."""
        ...

    def load_dead_letters(self, scope: RowScope | None = None) -> list[Row]:
        """Every dead letter in the engine's order (newest update first); with `scope`, at least
        the rows it names (a database reads just those: see RowScope)."""
        ...

    def load_collection(self, collection: str, keys: frozenset[str] | None = None) -> list[Row]:
        """Every record of a collection in the engine's order; with `keys`, at least those whose
        record id (`effect_id`, `outbox_id`, ...) is one of them (a database looks just those up)."""
        ...

    def compensations_of(self, effect_id: str) -> list[Row]:
        """The compensations whose `target_effect_id` is `effect_id`, in the engine's order."""
        ...

    def count_elsewhere(self, query: "DeadLetterQuery") -> int:
        """How many dead letters `query` would select (cursor and limit ignored) in tenants other
        than `query.tenant` (engine/counting.py::count_elsewhere), for "N more in other tenants"."""
        ...

    def count_dead_letters(self, query: "DeadLetterQuery", by: Sequence[str]) -> "dict[GroupKey, int]":
        """How many dead letters `query` selects (its cursor and limit ignored), per combination of
        the `by` fields (engine/counting.py); a database answers from its index columns when it can."""
        ...

    def writer(self, lock_timeout: float) -> AbstractContextManager[StoreWriter]: ...

    def pending_operation(self) -> tuple[str, Path] | None:
        """An interrupted action's operation id and intent file, if one waits to be settled."""
        ...

    def sweep(self, args: SweepArgs) -> "SweepOutcome": ...

    def verify_audit(self) -> "AuditVerification": ...

    def get_run(self, run_id: str) -> Row | None:
        """The automation run as the engine's `get_automation_v2_run` finds it: the hot copy or its
        history shard, whichever the engine prefers (spec 02 §2.9); None when neither holds it."""
        ...

    def run_events(self, run_id: str | None, limit: int) -> list[Row]:
        """The last `limit` runtime events (spec 02 §1.3: `event_id`, `seq`, `occurred_at_ms`,
        `run_id`, `event_type`, `payload`, ...), oldest first; only `run_id`'s when given; limit 0 =
        all. Unreadable lines are skipped; a store that keeps no events returns []."""
        ...


__all__ = ["ChangeConflict", "PartialApply", "RowChange", "RowFailure", "RowScope", "Store", "StoreInfo",
           "StoreSelection", "StoreWriter", "SweepArgs"]
