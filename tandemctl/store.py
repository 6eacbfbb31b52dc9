"""The reliability store (`stateful_reliability.json`): strict load, exact write, safe mutate.

Records stay as the raw dicts parsed from the file (so unknown keys and the byte layout of
unchanged rows survive); the models in models.py only validate them.
"""

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol, TypeVar

import orjson

from tandemctl import fsutil, jsonio, readcache, store_verify
from tandemctl.errors import ConflictError, CorruptStateError, UnsupportedStateError
from tandemctl.models import COLLECTIONS, FREE_FORM_KEYS, field_order
from tandemctl.validation import validate_rows

T = TypeVar("T")
MAX_WRITE_ATTEMPTS = 8
VERIFY_DEADLINE_S: Final = 20.0  # how long a verified write keeps trying against an unlocked writer
SETTLE_S: Final = 0.25  # quiet time to wait for an engine write already in flight when ours landed
HOT_NS: Final = 2_000_000_000  # a store written this recently is being written by a live engine
_POLL_S: Final = 0.001
Row = dict[str, Any]


@dataclass
class ReliabilityData:
    """One loaded store: the top-level object and its four arrays of raw rows."""

    top: dict[str, Any] = field(default_factory=dict)
    exists: bool = False

    def rows(self, collection: str) -> list[Row]:
        value = self.top.setdefault(collection, [])
        assert isinstance(value, list)
        return value

    @property
    def dead_letters(self) -> list[Row]:
        return self.rows("dead_letters")


class ReliabilityBackend(Protocol):
    """What commands need from a reliability store; database backends plug in here."""

    @property
    def location(self) -> str: ...

    def load(self) -> ReliabilityData: ...

    def mutate(self, apply: Callable[[ReliabilityData], tuple[bool, T]], *, lock_timeout: float,
               after: Callable[[T], None] | None = None, verify: bool = False) -> T: ...


def parse_reliability(data: bytes | None, path: Path) -> ReliabilityData:
    """Parse and validate the whole file as strictly as the engine does (spec 01 §5)."""
    return parse_reliability_layout(data, path)[0]


def parse_reliability_layout(data: bytes | None, path: Path) -> tuple[ReliabilityData, bool]:
    """`parse_reliability`, and whether the bytes are in the engine's exact layout."""
    if data is None:
        return ReliabilityData(top={}, exists=False), False
    top, canonical = jsonio.parse_strict_layout(data, path)
    if not isinstance(top, dict):
        raise CorruptStateError(f"{path}: top level is {type(top).__name__}, expected an object")
    version = top.get("schema_version", 1)
    if type(version) is not int or version < 0 or version > 2**32 - 1:
        raise CorruptStateError(f"{path}: field 'schema_version': expected an unsigned integer, got {version!r}")
    if version > 1:
        raise UnsupportedStateError(
            f"{path}: schema_version {version} is newer than this tandemctl supports (1); upgrade tandemctl"
        )
    for collection, (model, key) in COLLECTIONS.items():
        rows = top.get(collection, [])
        if not isinstance(rows, list):
            raise CorruptStateError(f"{path}: field {collection!r}: expected an array, got {rows!r:.40}")
        validate_rows(rows, model, path=path, collection=collection, key=key)
    return ReliabilityData(top=top, exists=True), canonical


def serialize_reliability(store: ReliabilityData) -> bytes:
    """The engine's layout: schema_version 1, arrays sorted by updated_at_ms desc (stable)."""
    out: dict[str, Any] = {"schema_version": 1}
    for collection in COLLECTIONS:
        rows = store.top.get(collection, [])
        out[collection] = sorted(rows, key=_updated_at, reverse=True)
    for key, value in store.top.items():
        if key not in out:
            out[key] = value  # unknown top-level keys: the engine drops them, we keep them
    return jsonio.dumps_pretty(out)


def _updated_at(row: Row) -> int:
    value = row["updated_at_ms"]
    assert isinstance(value, int)
    return value


def canonical_row(row: Row, collection: str) -> Row:
    """Re-key a changed row in declaration order, free-form values key-sorted; extras last."""
    model, _ = COLLECTIONS[collection]
    ordered: Row = {}
    for name in field_order(model):
        if name in row and row[name] is not None:
            value = row[name]
            ordered[name] = jsonio.sort_keys_deep(value) if name in FREE_FORM_KEYS else value
    for name, value in row.items():
        if name not in ordered and value is not None:
            ordered[name] = value
    return ordered


@dataclass
class JsonFileBackend:
    """The 0.6.x JSON-files backend: one `stateful_reliability.json`."""

    path: Path

    @property
    def location(self) -> str:
        return str(self.path)

    def load(self) -> ReliabilityData:
        data, _ = fsutil.read_bytes(self.path)
        return parse_reliability(data, self.path)

    def dead_letters_for_listing(self, env: Mapping[str, str], *, lazy: bool) -> Iterable[Row]:
        """Dead letters for a read-only listing: from a store already validated in full when it
        is unchanged (readcache), else after a full strict load (which is then remembered)."""
        known = readcache.validated_dead_letters(self.path, env, lazy=lazy)
        if known is not None:
            return known
        data, st = fsutil.read_with_stat(self.path)
        store, canonical = parse_reliability_layout(data, self.path)
        if canonical and data is not None and st is not None:
            readcache.remember(self.path, st, data, env)
        return store.dead_letters

    def mutate(self, apply: Callable[[ReliabilityData], tuple[bool, T]], *, lock_timeout: float,
               after: Callable[[T], None] | None = None, verify: bool = False) -> T:
        """Lock, read, apply, write; re-read and re-apply if another writer got in between.

        `after(result)` runs still under the lock, after the write (e.g. a journal append).
        `verify` also defends the written rows against an unlocked writer (`mutate_verified`).
        """
        with fsutil.exclusive_lock(self.path, lock_timeout):
            fsutil.remove_stale_temps(self.path)
            result = self.mutate_verified(apply) if verify else self.mutate_locked(apply)
            if after is not None:
                after(result)
            return result

    def mutate_locked(self, apply: Callable[[ReliabilityData], tuple[bool, T]]) -> T:
        for _ in range(MAX_WRITE_ATTEMPTS):
            data, identity = fsutil.read_bytes(self.path)
            store = parse_reliability(data, self.path)
            changed, result = apply(store)
            if not changed:
                return result
            try:
                fsutil.write_atomic(self.path, serialize_reliability(store), expected=identity, check=True)
            except fsutil.StaleFileError:
                continue  # the engine (or someone) rewrote it: start again from its version
            return result
        raise ConflictError(
            f"{self.path}: the file kept changing while tandemctl tried to write it "
            f"({MAX_WRITE_ATTEMPTS} attempts); nothing was written"
        )

    def mutate_verified(self, apply: Callable[[ReliabilityData], tuple[bool, T]]) -> T:
        """`mutate_locked` that also makes sure an unlocked writer does not revert our rows.

        Retries are bounded by time, not a count, so a busy engine cannot starve us. After the
        rename we watch the file: an engine write that read the old version before our rename
        lands after it and reverts our rows; we then put exactly our rows back on top of the
        engine's newest version, and repeat until a write by the other side carries our rows or
        the file stays quiet for SETTLE_S. The result is that of the apply that was written.
        """
        deadline = time.monotonic() + VERIFY_DEADLINE_S
        contended = False
        while time.monotonic() < deadline:
            data, identity = fsutil.read_bytes(self.path)
            store = parse_reliability(data, self.path)
            changed, result = apply(store)
            if not changed:
                return result
            try:
                written = fsutil.write_atomic(self.path, serialize_reliability(store), expected=identity, check=True)
            except fsutil.StaleFileError:
                contended = True
                continue
            changes = store_verify.diff_rows(orjson.loads(data) if data else {}, store.top)
            hot = contended or identity is None or written.mtime_ns - identity.mtime_ns < HOT_NS
            self._settle(changes, written, SETTLE_S if hot else 0.0, deadline)
            return result
        raise ConflictError(
            f"{self.path}: the file kept changing for {VERIFY_DEADLINE_S:g}s while tandemctl tried to "
            "write it; nothing was written"
        )

    def _settle(self, changes: dict[store_verify.RowKey, store_verify.RowChange],
                identity: fsutil.FileIdentity | None, quiet_s: float, deadline: float) -> None:
        quiet_until = time.monotonic() + quiet_s
        while True:
            if fsutil.FileIdentity.of(self.path) == identity:
                if time.monotonic() >= quiet_until:
                    return
                self._check_deadline(deadline)
                time.sleep(_POLL_S)
                continue
            self._check_deadline(deadline)
            data, identity = fsutil.read_bytes(self.path)
            store = parse_reliability(data, self.path)
            if not store_verify.restore_rows(changes, store.top):
                return  # that write was made from our version: our rows are in and stay in
            try:
                identity = fsutil.write_atomic(self.path, serialize_reliability(store), expected=identity, check=True)
            except fsutil.StaleFileError:
                continue
            quiet_until = time.monotonic() + SETTLE_S

    def _check_deadline(self, deadline: float) -> None:
        if time.monotonic() >= deadline:
            raise ConflictError(
                f"{self.path}: another process kept rewriting the file and reverting tandemctl's "
                f"changes for {VERIFY_DEADLINE_S:g}s; they may not be in place (check with `dead-letters list`)"
            )
