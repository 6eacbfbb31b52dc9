"""Writing a 0.6.9+ database (spec 03 §2.10): one short write transaction per `apply`, a
compare-and-set per row against its freshly decoded payload, clocks that only move forward."""

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tandemctl.engine.protected_records import scope_columns
from tandemctl.engine.rows import Row, RowChange
from tandemctl.engine.sealed import READ_ONLY_REASON, without_marker
from tandemctl.errors import UnsupportedStateError
from tandemctl.stores.base import ChangeConflict, RowScope
from tandemctl.stores.db_schema import TABLE_BY_COLLECTION, ReliabilityTable
from tandemctl.stores.sql_rows import RawRow, encode_for_write, select_columns
from tandemctl.stores.sql_scan import FETCH_BATCH

if TYPE_CHECKING:
    from tandemctl.stores.sql_store import SqlStore


class SqlWriter:
    """The database while tandemctl holds the engine lock (and, on PostgreSQL, its advisory lock)."""

    def __init__(self, store: "SqlStore") -> None:
        self.store = store

    @property
    def intent_anchor(self) -> Path:
        return self.store.dialect.anchor

    def dead_letters(self, scope: RowScope | None = None) -> list[Row]:
        return self.store.load_dead_letters(scope)

    def apply(self, changes: Sequence[RowChange], *, skip_conflicts: bool = False) -> list[RowChange]:
        """Every change in one transaction; a row that is no longer its `before` is a conflict
        (ChangeConflict and nothing written, or left out with `skip_conflicts`). The rows are re-read
        and updated in batches (one statement per FETCH_BATCH rows, updates sent together), not one
        round trip per row."""
        store = self.store
        with store.guard(), store.dialect.write_transaction(store.connection):
            current = self._current_rows(changes)
            applied: list[RowChange] = []
            conflicts: list[str] = []
            updates: dict[str, list[tuple[Any, ...]]] = {}  # by collection
            for change in changes:
                written = self._planned_write(change, current.get((change.collection, change.key)))
                if written is False:
                    conflicts.append(change.key)
                elif isinstance(written, tuple):
                    row_change, params = written
                    applied.append(row_change)
                    updates.setdefault(row_change.collection, []).append(params)
            if conflicts and not skip_conflicts:
                raise ChangeConflict(conflicts)  # leaving the block rolls the transaction back
            for collection, rows in updates.items():
                self._update(TABLE_BY_COLLECTION[collection], rows)
        return applied

    def _planned_write(self, change: RowChange, found: tuple[RawRow, Row] | None
                       ) -> tuple[RowChange, tuple[Any, ...]] | bool | None:
        """The write for one change (with its UPDATE parameters), False on a conflict, None when the
        row already is its `after`."""
        table = TABLE_BY_COLLECTION[change.collection]
        if change.before is None or change.after is None:
            raise UnsupportedStateError(f"{self.store.dialect.location}: {table.name} {change.key!r}: tandemctl "
                                        "never inserts or deletes rows of a database store")
        if found is None:
            return False
        raw, current = found
        if current == change.after:
            return None
        if current != change.before:
            return False
        if "tandemctl_sealed" in current:
            # The plans refuse sealed rows already; this is the store's own guarantee.
            raise UnsupportedStateError(f"{table.name} {change.key!r}: {READ_ONLY_REASON}")
        after = without_marker(change.after)
        # Last writer wins on updated_at_ms in the engine: ours must be strictly newer to survive.
        after["updated_at_ms"] = max(int(after["updated_at_ms"]), raw.updated_at_ms + 1)
        org_id, workspace_id, deployment_id = scope_columns(after)
        params = (after["status"], encode_for_write(table, after), after["updated_at_ms"], after.get("run_id"),
                  org_id, workspace_id, deployment_id, raw.key, raw.updated_at_ms)
        return RowChange(change.collection, change.key, change.before, after), params

    def _current_rows(self, changes: Sequence[RowChange]) -> dict[tuple[str, str], tuple[RawRow, Row]]:
        """The rows the changes name, as stored now (locked FOR UPDATE on PostgreSQL), decoded."""
        lock = " FOR UPDATE" if self.store.dialect.kind == "postgres" else ""
        found: dict[tuple[str, str], tuple[RawRow, Row]] = {}
        keys: dict[str, list[str]] = {}
        for change in changes:
            keys.setdefault(change.collection, []).append(change.key)
        for collection, wanted in keys.items():
            table = TABLE_BY_COLLECTION[collection]
            for start in range(0, len(wanted), FETCH_BATCH):
                batch = wanted[start:start + FETCH_BATCH]
                values = self.store.fetch(f"SELECT {select_columns(table)} FROM {table.name} WHERE "
                                          f"{table.id_column} IN ({', '.join('?' * len(batch))}){lock}", tuple(batch))
                raws = [RawRow.of(value) for value in values]
                for raw, decoded in zip(raws, self.store.decode_batch(table, raws), strict=True):
                    found[(collection, raw.key)] = (raw, decoded.record)
        return found

    def _update(self, table: ReliabilityTable, rows: list[tuple[Any, ...]]) -> None:
        """Each row a compare-and-set on its stored updated_at_ms; all of them sent as one batch."""
        count = self.store.execute_many(
            f"UPDATE {table.name} SET status = ?, {table.payload_column} = ?, updated_at_ms = ?, run_id = ?, "
            f"org_id = ?, workspace_id = ?, deployment_id = ? WHERE {table.id_column} = ? AND updated_at_ms = ?",
            rows)
        if count != len(rows):
            # Cannot happen inside the write lock; never write blind: roll back and re-plan.
            raise ChangeConflict([str(row[7]) for row in rows])
