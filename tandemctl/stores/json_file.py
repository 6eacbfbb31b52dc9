"""One `stateful_reliability.json` file: strict load, and the locked, atomic, verified
read-modify-write that every JSON-store write goes through.

Records stay as the raw dicts parsed from the file (so unknown keys and the byte layout of
unchanged rows survive); the models only validate them.
"""

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

import orjson

from tandemctl.engine.models import COLLECTIONS
from tandemctl.engine.rows import Row, RowChange, apply_changes_to_rows
from tandemctl.errors import ConflictError
from tandemctl.fs import atomic, locks, reads, temps
from tandemctl.stores import json_chunked, json_readcache, json_verify
from tandemctl.stores.base import ChangeConflict, RowScope
from tandemctl.stores.json_codec import (
    ReliabilityData,
    parse_reliability,
    parse_reliability_layout,
    serialize_reliability,
)

T = TypeVar("T")
MAX_WRITE_ATTEMPTS = 8
VERIFY_DEADLINE_S: Final = 20.0  # how long a verified write keeps trying against an unlocked writer
SETTLE_S: Final = 0.25  # quiet time to wait for an engine write already in flight when ours landed
HOT_NS: Final = 2_000_000_000  # a store written this recently is being written by a live engine
_POLL_S: Final = 0.001


@dataclass
class JsonReliabilityFile:
    """The 0.6.x reliability store file."""

    path: Path

    @property
    def location(self) -> str:
        return str(self.path)

    def load(self) -> ReliabilityData:
        data, _ = reads.read_bytes(self.path)
        return parse_reliability(data, self.path)

    def dead_letters_for_listing(self, env: Mapping[str, str], *, lazy: bool) -> Iterable[Row]:
        """Dead letters for a read-only listing: from a store already validated in full when it
        is unchanged (readcache), else after a full strict load (which is then remembered)."""
        known = json_readcache.validated_dead_letters(self.path, env, lazy=lazy)
        if known is not None:
            return known
        data, st = reads.read_with_stat(self.path)
        # The engine's own layout is proven and validated chunk by chunk in bounded memory;
        # anything else (or any doubt) takes the full strict load, which names the error.
        rows = json_chunked.canonical_dead_letters(data) if data is not None else None
        if rows is None:
            store, canonical = parse_reliability_layout(data, self.path)
            if not canonical:
                return store.dead_letters
            rows = store.dead_letters
        if data is not None and st is not None:
            json_readcache.remember(self.path, st, data, env)
        return rows

    def mutate(self, apply: Callable[[ReliabilityData], tuple[bool, T]], *, lock_timeout: float,
               after: Callable[[T], None] | None = None, verify: bool = False) -> T:
        """Lock, read, apply, write; re-read and re-apply if another writer got in between.

        `after(result)` runs still under the lock, after the write (e.g. a journal append).
        `verify` also defends the written rows against an unlocked writer (`mutate_verified`).
        """
        with locks.exclusive_lock(self.path, lock_timeout):
            temps.remove_stale_temps(self.path)
            result = self.mutate_verified(apply) if verify else self.mutate_locked(apply)
            if after is not None:
                after(result)
            return result

    def mutate_locked(self, apply: Callable[[ReliabilityData], tuple[bool, T]]) -> T:
        for _ in range(MAX_WRITE_ATTEMPTS):
            data, identity = reads.read_bytes(self.path)
            store = parse_reliability(data, self.path)
            changed, result = apply(store)
            if not changed:
                return result
            try:
                atomic.write_atomic(self.path, serialize_reliability(store), expected=identity, check=True)
            except atomic.StaleFileError:
                continue  # the engine (or someone) rewrote it: start again from its version
            return result
        raise ConflictError(
            f"{self.path}: the file kept changing while tandemctl tried to write it "
            f"({MAX_WRITE_ATTEMPTS} attempts); nothing was written"
        )

    def mutate_verified(self, apply: Callable[[ReliabilityData], tuple[bool, T]],
                        changes_of: Callable[[T], Sequence[RowChange]] | None = None) -> T:
        """`mutate_locked` that also makes sure an unlocked writer does not revert our rows.

        Retries are bounded by time, not a count, so a busy engine cannot starve us. After the
        rename we watch the file: an engine write that read the old version before our rename
        lands after it and reverts our rows; we then put exactly our rows back on top of the
        engine's newest version, and repeat until a write by the other side carries our rows or
        the file stays quiet for SETTLE_S. The result is that of the apply that was written;
        `changes_of(result)` names the rows it changed (else they are found by comparing versions).
        """
        deadline = time.monotonic() + VERIFY_DEADLINE_S
        contended = False
        while time.monotonic() < deadline:
            data, identity = reads.read_bytes(self.path)
            store = parse_reliability(data, self.path)
            changed, result = apply(store)
            if not changed:
                return result
            try:
                written = atomic.write_atomic(self.path, serialize_reliability(store), expected=identity, check=True)
            except atomic.StaleFileError:
                contended = True
                continue
            changes = (changes_of(result) if changes_of is not None
                       else json_verify.diff_rows(orjson.loads(data) if data else {}, store.top))
            hot = contended or identity is None or written.mtime_ns - identity.mtime_ns < HOT_NS
            self._settle(changes, written, SETTLE_S if hot else 0.0, deadline)
            return result
        raise ConflictError(
            f"{self.path}: the file kept changing for {VERIFY_DEADLINE_S:g}s while tandemctl tried to "
            "write it; nothing was written"
        )

    def _settle(self, changes: Sequence[RowChange],
                identity: reads.FileIdentity | None, quiet_s: float, deadline: float) -> None:
        quiet_until = time.monotonic() + quiet_s
        while True:
            if reads.FileIdentity.of(self.path) == identity:
                if time.monotonic() >= quiet_until:
                    return
                self._check_deadline(deadline)
                time.sleep(_POLL_S)
                continue
            self._check_deadline(deadline)
            data, identity = reads.read_bytes(self.path)
            store = parse_reliability(data, self.path)
            if not json_verify.restore_rows(changes, store.top):
                return  # that write was made from our version: our rows are in and stay in
            try:
                identity = atomic.write_atomic(self.path, serialize_reliability(store), expected=identity, check=True)
            except atomic.StaleFileError:
                continue
            quiet_until = time.monotonic() + SETTLE_S

    def _check_deadline(self, deadline: float) -> None:
        if time.monotonic() >= deadline:
            raise ConflictError(
                f"{self.path}: another process kept rewriting the file and reverting tandemctl's "
                f"changes for {VERIFY_DEADLINE_S:g}s; they may not be in place (check with `dead-letters list`)"
            )


@dataclass
class JsonWriter:
    """The reliability file while tandemctl holds its lock."""

    file: JsonReliabilityFile

    @property
    def intent_anchor(self) -> Path:
        return self.file.path

    def dead_letters(self, scope: RowScope | None = None) -> list[Row]:
        return self.file.load().dead_letters  # the file is read whole anyway: every row, whatever the scope

    def apply(self, changes: Sequence[RowChange], *, skip_conflicts: bool = False) -> list[RowChange]:
        """One verified rewrite of the file carrying every change (see `JsonReliabilityFile.mutate_verified`)."""

        def cas(store: ReliabilityData) -> tuple[bool, list[RowChange]]:
            if any(change.collection == "dead_letters" for change in changes):
                # By-id writes on a store holding one id twice would be a guess at which row is meant.
                json_verify.refuse_duplicate_dead_letter_ids(store.dead_letters, self.file.path)
            applied = apply_row_changes(store, changes, skip_conflicts=skip_conflicts)
            return bool(applied), applied

        return self.file.mutate_verified(cas, changes_of=lambda applied: applied)


def apply_row_changes(store: ReliabilityData, changes: Sequence[RowChange], *,
                      skip_conflicts: bool) -> list[RowChange]:
    """Compare-and-set every change on the loaded store, all or nothing unless `skip_conflicts`."""
    applied: list[RowChange] = []
    for collection, (_, key_name) in COLLECTIONS.items():
        wanted = [change for change in changes if change.collection == collection]
        if not wanted:
            continue
        done, conflicts = apply_changes_to_rows(store.rows(collection), key_name, wanted)
        if conflicts and not skip_conflicts:
            raise ChangeConflict([change.key for change in conflicts])
        applied += done
    return applied
