"""`stateful_reliability.json` as bytes: strict parse (as strict as the engine's serde) and the engine's
exact layout when written. Records stay the raw dicts parsed from the file, so unknown keys and the
byte layout of unchanged rows survive; the models only validate them."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tandemctl.engine import jsonio
from tandemctl.engine.models import COLLECTIONS
from tandemctl.engine.records import serialize_reliability_top
from tandemctl.engine.rows import Row
from tandemctl.engine.validation import validate_rows
from tandemctl.errors import CorruptStateError, UnsupportedStateError


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
    return serialize_reliability_top(store.top)
