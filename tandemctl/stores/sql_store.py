"""The 0.6.9+ database as a `Store` (SQLite or PostgreSQL through a `Dialect`): reads in the
engine's order straight from the indexed columns, decoding only what a page needs; writes through
`SqlWriter` while tandemctl holds the engine's lock."""

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

from tandemctl.engine.counting import GroupKey
from tandemctl.engine.protected_records import SEALED_PREFIX
from tandemctl.engine.query import (
    DeadLetterQuery,
    Page,
    iter_matching,
    list_dead_letters,
)
from tandemctl.engine.rows import Row, compensations_targeting
from tandemctl.errors import TandemctlError
from tandemctl.stores import sql_counts
from tandemctl.stores.base import RowScope, StoreInfo, SweepArgs
from tandemctl.stores.db_schema import COMPENSATIONS, DEAD_LETTERS, TABLE_BY_COLLECTION, ReliabilityTable
from tandemctl.stores.local_key import load_local_key
from tandemctl.stores.paths import StatePaths
from tandemctl.stores.sql_dialect import Dialect
from tandemctl.stores.sql_filters import index_filter, scope_filter
from tandemctl.stores.sql_prefilter import payload_check
from tandemctl.stores.sql_rows import DecodedRow, RawRow, decode_row, select_columns, validate_records
from tandemctl.stores.sql_scan import (
    PARALLEL_MIN_ROWIDS,
    Key,
    as_keys,
    fetch_by_key,
    key_query,
    parallel_fetch,
    parallel_top_keys,
    rowid_ranges,
    workers_for,
)
from tandemctl.stores.sql_writer import SqlWriter

if TYPE_CHECKING:  # the sweep's and the audit's modules load only when those commands run
    from tandemctl.engine.audit_chain import AuditVerification
    from tandemctl.engine.sweep_plan import SweepOutcome

BATCH: Final = 500  # rows per keyset page: memory stays flat whatever the table size
TOP_N_ROUNDS: Final = 2  # top-N scans before streaming the rest of the order
GROWTH: Final = 8  # the second scan asks for this many times the first one's rows


@dataclass
class SqlStore:
    paths: StatePaths
    env: Mapping[str, str]
    dialect: Dialect
    why: str
    notes: tuple[str, ...] = ()
    parallel_min_rowids: int = PARALLEL_MIN_ROWIDS  # tests lower it to scan small tables in parallel too
    _connection: Any = field(default=None, repr=False)

    @property
    def info(self) -> StoreInfo:
        return StoreInfo(kind=self.dialect.kind, location=self.dialect.location, why=self.why,
                         notes=self.notes, lock_file=self.dialect.lock_file)

    @property
    def journal_file(self) -> Path:
        return self.paths.journal_file

    @property
    def audit_file(self) -> Path:
        return self.paths.audit_file

    @cached_property
    def key(self) -> bytes | None:
        return load_local_key(self.env)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Driver exceptions become tandemctl's one-line errors."""
        try:
            yield
        except TandemctlError:
            raise
        except Exception as exc:
            translated = self.dialect.translate(exc)
            if translated is None:
                raise
            raise translated from None

    @property
    def connection(self) -> Any:
        if self._connection is None:
            with self.guard():
                self._connection = self.dialect.connect()
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def fetch(self, text: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.guard():
            return list(self.connection.execute(self.dialect.sql(text), params).fetchall())

    def execute(self, text: str, params: tuple[Any, ...] = ()) -> int:
        """A statement without rows; its row count."""
        with self.guard():
            return int(self.connection.execute(self.dialect.sql(text), params).rowcount)

    def execute_many(self, text: str, rows: list[tuple[Any, ...]]) -> int:
        """One statement for each parameter row, sent together; the rows they changed in all."""
        with self.guard():
            cursor = self.connection.cursor()
            try:
                cursor.executemany(self.dialect.sql(text), rows)
                return int(cursor.rowcount)
            finally:
                cursor.close()

    # -- reads ---------------------------------------------------------------------------------

    def rows(self, table: ReliabilityTable, where: str = "1=1", params: tuple[Any, ...] = (),
             after: tuple[int, int] | None = None, first_batch: int = BATCH,
             prefilter: RowScope | None = None) -> Iterator[Row]:
        """Decoded rows in the engine's order; `after` is the (updated_at_ms, rowid) to start after.

        A page first asks for the keys of `first_batch` rows (a top-N scan: decoding about what it
        shows), then, if the caller wants more (a payload filter dropped some), for GROWTH times as
        many; past that the rest comes from one streamed key query, BATCH keys at a time (never one
        query per batch: without an index on updated_at_ms each would scan the table again).
        With `prefilter`, rows its query certainly drops are not decoded (sql_prefilter.py)."""
        select = f"SELECT {select_columns(table)} FROM {table.name}"
        size = max(1, first_batch)
        for _ in range(TOP_N_ROUNDS):
            clause, args = self._after(where, params, after)
            keys = self.top_keys(table, clause, args, size)
            yield from self._fetched(table, select, keys, prefilter)
            if len(keys) < size:
                return
            after, size = (keys[-1][1], keys[-1][0]), size * GROWTH
        clause, args = self._after(where, params, after)
        with self.guard():
            cursor = self.connection.execute(self.dialect.sql(key_query(table.name, table.id_column, clause, None)),
                                             args)
        try:
            while True:
                with self.guard():
                    chunk = as_keys(cursor.fetchmany(BATCH))
                if not chunk:
                    return
                yield from self._fetched(table, select, chunk, prefilter)
        finally:
            cursor.close()  # a page that stopped early must not keep a read snapshot open

    def _fetched(self, table: ReliabilityTable, select: str, keys: list[Key],
                 prefilter: RowScope | None = None) -> Iterator[Row]:
        column = "rowid" if self.dialect.rowid_is_key else table.id_column
        check = None if prefilter is None or prefilter.query is None else payload_check(prefilter.query)
        for values in fetch_by_key(self.fetch, select, keys, column=column):
            if check is not None and prefilter is not None:
                values = [value for value in values if value[1] in prefilter.ids or check(value[4])]
            yield from self._decoded(table, values)

    def top_keys(self, table: ReliabilityTable, where: str, params: tuple[Any, ...], limit: int) -> list[Key]:
        """The (rowid, updated_at_ms) of the first `limit` matching rows in the engine's order."""
        ranges = self.scan_ranges(table)
        if ranges:
            with self.guard():
                return parallel_top_keys(self.dialect.connect, self.dialect.sql, table.name, table.id_column, where,
                                         params, limit, ranges)
        return as_keys(self.fetch(key_query(table.name, table.id_column, where, limit), params))

    def scan_ranges(self, table: ReliabilityTable) -> list[tuple[int, int]]:
        """The rowid ranges to scan `table` in at once; none when one scan is the better plan."""
        if not self.dialect.parallel_reads:
            return []
        (high,) = self.fetch(f"SELECT max(rowid) FROM {table.name}")[0]
        (low,) = self.fetch(f"SELECT min(rowid) FROM {table.name}")[0]
        if high is None:
            return []
        workers = workers_for(int(high) - int(low) + 1, min_rowids=self.parallel_min_rowids)
        return rowid_ranges(int(low), int(high), workers) if workers > 1 else []

    def fetch_scanned(self, table: ReliabilityTable, text: str, params: tuple[Any, ...], *, suffix: str = "",
                      ranged: bool = True) -> list[tuple[Any, ...]]:
        """All rows of `text` (a SELECT ending in its WHERE clause) then `suffix` (e.g. a GROUP BY); with
        `ranged`, a large table is read one rowid range per connection at once and the parts joined."""
        ranges = self.scan_ranges(table) if ranged else []
        if not ranges:
            return self.fetch(text + suffix, params)
        ranged_text = self.dialect.sql(f"{text} AND rowid >= ? AND rowid < ?{suffix}")
        with self.guard():
            return [row for part in parallel_fetch(self.dialect.connect, ranged_text, params, ranges) for row in part]

    @staticmethod
    def _after(where: str, params: tuple[Any, ...], after: tuple[int, int] | None) -> tuple[str, tuple[Any, ...]]:
        if after is None:
            return where, params
        return (f"({where}) AND (updated_at_ms < ? OR (updated_at_ms = ? AND rowid > ?))",
                (*params, after[0], after[0], after[1]))

    def _decoded(self, table: ReliabilityTable, values: list[Any]) -> Iterator[Row]:
        return (row.record for row in self.decode_batch(table, [RawRow.of(value) for value in values]))

    def decode_batch(self, table: ReliabilityTable, raws: list[RawRow]) -> list[DecodedRow]:
        decoded = [decode_row(table, raw, key=self.key, location=self.dialect.location) for raw in raws]
        validate_records(table, decoded, self.dialect.location)
        return decoded

    def list_dead_letters(self, query: DeadLetterQuery) -> Page:
        where, params = index_filter(self.dialect, query)
        first = query.limit + 1 if query.limit > 0 else BATCH  # the page and the row telling whether more remain
        if query.needs_payload and query.limit > 0:
            first += first // 4 + 16  # a payload filter drops some rows: a little more spares a second scan
        if query.after_id is None or not query.after_id.strip():
            return list_dead_letters(self.rows(DEAD_LETTERS, where, params, first_batch=first), query)
        anchor = self.fetch(f"SELECT {select_columns(DEAD_LETTERS)} FROM dead_letters WHERE dead_letter_id = ?",
                            (query.after_id,))
        rest = dataclasses.replace(query, after_id=None)
        if not anchor:
            return Page(rows=[], next_cursor=None)  # the engine: an unknown anchor yields nothing
        anchor_row = self.decode_batch(DEAD_LETTERS, [RawRow.of(anchor[0])])[0].record
        if not list(iter_matching([anchor_row], rest)):
            return Page(rows=[], next_cursor=None)
        start = (anchor[0][5], anchor[0][0])
        return list_dead_letters(self.rows(DEAD_LETTERS, where, params, after=start, first_batch=first), rest)

    def compensations_of(self, effect_id: str) -> list[Row]:
        # A plaintext payload naming the effect holds its id verbatim when the id needs no JSON escape,
        # so a text search narrows the table; sealed payloads cannot be searched and are kept.
        column = COMPENSATIONS.payload_column
        if orjson.dumps(effect_id)[1:-1].decode() == effect_id:
            where = f"(substr({column}, 1, {len(SEALED_PREFIX)}) = ? OR {self.dialect.text_position(column)} > 0)"
            rows = self.rows(COMPENSATIONS, where, (SEALED_PREFIX, effect_id))
        else:
            rows = self.rows(COMPENSATIONS)
        return compensations_targeting(rows, effect_id)

    def count_elsewhere(self, query: DeadLetterQuery) -> int:
        return sql_counts.count_elsewhere(self, query)

    def count_dead_letters(self, query: DeadLetterQuery, by: Sequence[str]) -> dict[GroupKey, int]:
        return sql_counts.count_dead_letters(self, query, by)

    def load_dead_letters(self, scope: RowScope | None = None) -> list[Row]:
        if scope is None:
            return list(self.rows(DEAD_LETTERS))
        where, params = scope_filter(self.dialect, scope)
        return list(self.rows(DEAD_LETTERS, where, params, prefilter=scope))

    def load_collection(self, collection: str, keys: frozenset[str] | None = None) -> list[Row]:
        table = TABLE_BY_COLLECTION[collection]
        if keys is None:
            return list(self.rows(table))
        if not keys:
            return []
        wanted = sorted(keys)
        return list(self.rows(table, f"{table.id_column} IN ({', '.join('?' * len(wanted))})", tuple(wanted)))

    # -- writes --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def writer(self, lock_timeout: float) -> Iterator[SqlWriter]:
        with self.guard(), self.dialect.writer_locks(self.connection, lock_timeout):
            yield SqlWriter(self)

    def pending_operation(self) -> tuple[str, Path] | None:
        from tandemctl.stores import action_intent

        pending = action_intent.pending_operation(self.dialect.anchor)
        return None if pending is None else (pending, action_intent.intent_path(self.dialect.anchor))

    def sweep(self, args: SweepArgs) -> "SweepOutcome":
        from tandemctl.stores import sql_sweep  # the dispatcher's mirror: only the sweep and runs need it

        return sql_sweep.plan_only(self, args)

    def get_run(self, run_id: str) -> Row | None:
        from tandemctl.stores import sql_sweep

        return sql_sweep.run_store(self)[0].get_automation_v2_run(run_id)

    def run_events(self, run_id: str | None, limit: int) -> list[Row]:
        # 0.6.9+ keeps runtime events in `runtime/events.sqlite3`, whose layout the spec does not give;
        # the 0.6.x `events.jsonl` is still read when it is there.
        from tandemctl.stores import json_events

        return json_events.read_run_events(self.paths.runtime_dir / json_events.EVENTS_FILE, run_id, limit)

    def verify_audit(self) -> "AuditVerification":
        from tandemctl.stores import audit_ledger

        return audit_ledger.verify_audit_ledger(self.paths.audit_file)
