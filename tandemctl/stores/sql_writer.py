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
        (ChangeConflict and nothing written, or left out with `skip_conflicts`)."""
        store = self.store
        with store.guard(), store.dialect.write_transaction(store.connection):
            applied: list[RowChange] = []
            conflicts: list[str] = []
            for change in changes:
                written = self._apply_one(change)
                if written is False:
                    conflicts.append(change.key)
                elif isinstance(written, RowChange):
                    applied.append(written)
            if conflicts and not skip_conflicts:
                raise ChangeConflict(conflicts)  # leaving the block rolls the transaction back
        return applied

    def _apply_one(self, change: RowChange) -> RowChange | bool | None:
        """The written change, False on a conflict, None when the row already is its `after`."""
        table = TABLE_BY_COLLECTION[change.collection]
        if change.before is None or change.after is None:
            raise UnsupportedStateError(f"{self.store.dialect.location}: {table.name} {change.key!r}: tandemctl "
                                        "never inserts or deletes rows of a database store")
        found = self._current(table, change.key)
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
        self._update(table, raw, after)
        return RowChange(change.collection, change.key, change.before, after)

    def _current(self, table: ReliabilityTable, key: str) -> tuple[RawRow, Row] | None:
        lock = " FOR UPDATE" if self.store.dialect.kind == "postgres" else ""
        found = self.store.fetch(f"SELECT {select_columns(table)} FROM {table.name} WHERE {table.id_column} = ?{lock}",
                                 (key,))
        if not found:
            return None
        raw = RawRow.of(found[0])
        return raw, self.store.decode_batch(table, [raw])[0].record

    def _update(self, table: ReliabilityTable, raw: RawRow, after: Row) -> None:
        org_id, workspace_id, deployment_id = scope_columns(after)
        params: tuple[Any, ...] = (after["status"], encode_for_write(table, after), after["updated_at_ms"],
                                   after.get("run_id"), org_id, workspace_id, deployment_id, raw.key,
                                   raw.updated_at_ms)
        count = self.store.execute(
            f"UPDATE {table.name} SET status = ?, {table.payload_column} = ?, updated_at_ms = ?, run_id = ?, "
            f"org_id = ?, workspace_id = ?, deployment_id = ? WHERE {table.id_column} = ? AND updated_at_ms = ?",
            params)
        if count != 1:
            raise ChangeConflict([raw.key])  # cannot happen inside the write lock; never write blind
