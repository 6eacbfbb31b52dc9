"""The strict load of a store in the engine's exact layout, one chunk of records at a time: the same
parser, layout proof and validators as `json_codec.parse_reliability_layout`, in bounded memory.

Only the `dead_letters` rows are kept; the other three arrays are parsed, proven canonical and
validated a few megabytes at a time, then dropped. Whenever anything does not match (another
layout, a parse or validation error, an unknown schema), the answer is "not proven" and the caller
runs the full strict load, which reports exactly the error it always did.
"""

import itertools
from collections.abc import Iterator
from typing import Any, Final

import orjson
from pydantic import ValidationError

from tandemctl.engine import jsonio
from tandemctl.engine.models import COLLECTIONS
from tandemctl.engine.rows import Row
from tandemctl.engine.validation import list_adapter

CHUNK_BYTES: Final = 4 << 20
_RECORD_SEP: Final = b"\n    },\n    {"  # between two records of a top-level array, in the engine's layout
_ARRAY_OPEN: Final = b"[\n"
_ARRAY_CLOSE: Final = b"\n  ]"


class NotProven(Exception):
    """The fast path cannot vouch for this file; the full strict load decides."""


def canonical_dead_letters(data: bytes) -> list[Row] | None:
    """The dead letters of a store that is valid and in the engine's exact layout, else None.

    "Exact layout" is today's proof, `dumps_pretty(loads(data)) == data`, made piecewise: the
    top-level object with its four arrays emptied, then every chunk of records. Equal bytes also
    rule out duplicate keys (a parsed object keeps one of them, so its re-serialisation differs).
    """
    if data.startswith(jsonio.BOM):
        return None
    try:
        spans = _array_spans(data)
        _check_skeleton(data, spans)
        if jsonio.too_deep(data):
            return None
        dead_letters: list[Row] = []
        for collection, (start, end) in spans.items():
            keep = dead_letters if collection == "dead_letters" else None
            _check_array(data, start, end, collection, keep)
    except (NotProven, orjson.JSONDecodeError, TypeError, ValidationError):
        return None
    return dead_letters


def _array_spans(data: bytes) -> dict[str, tuple[int, int]]:
    """Where each collection's array lies, read from the layout (verified by the checks after)."""
    spans: dict[str, tuple[int, int]] = {}
    for collection in COLLECTIONS:
        key = b'\n  "' + collection.encode() + b'": '
        at = data.find(key)
        if at < 0:
            continue  # a missing array is the engine's empty default; the skeleton check covers it
        start = at + len(key)
        if data.startswith(b"[]", start):
            spans[collection] = (start, start + 2)
            continue
        end = data.find(_ARRAY_CLOSE, start)
        # `[\n  ]` is not the engine's empty array (`[]`): leave such a file to the full load.
        if not data.startswith(_ARRAY_OPEN, start) or end < start + len(_ARRAY_OPEN) + 4:
            raise NotProven(collection)
        spans[collection] = (start, end + len(_ARRAY_CLOSE))
    ordered = sorted(spans.values())
    if any(a[1] > b[0] for a, b in itertools.pairwise(ordered)):
        raise NotProven("overlapping arrays")
    return spans


def _check_skeleton(data: bytes, spans: dict[str, tuple[int, int]]) -> None:
    """The top level with the arrays cut out: canonical, an object, schema_version 1 or absent."""
    parts, at = [], 0
    for start, end in sorted(spans.values()):
        parts += [data[at:start], b"[]"]
        at = end
    skeleton = b"".join([*parts, data[at:]])
    top = orjson.loads(skeleton)
    if jsonio.dumps_pretty(top) != skeleton or not isinstance(top, dict):
        raise NotProven("top level")
    version = top.get("schema_version", 1)
    if type(version) is not int or not 0 <= version <= 1:
        raise NotProven("schema_version")
    if any(not isinstance(top.get(collection, []), list) for collection in COLLECTIONS):
        raise NotProven("not an array")


def _check_array(data: bytes, start: int, end: int, collection: str, keep: list[Row] | None) -> None:
    """Parse, prove canonical and validate one array chunk by chunk; `keep` collects its rows."""
    adapter = list_adapter(COLLECTIONS[collection][0])
    view = memoryview(data)
    for chunk in _chunks(data, start, end):
        text = b"".join((_ARRAY_OPEN, view[chunk[0]:chunk[1]], _ARRAY_CLOSE))
        rows: list[Any] = orjson.loads(text)
        # A record list pretty-printed at indent 0, shifted to the array's depth in the file.
        if jsonio.dumps_pretty(rows).replace(b"\n", b"\n  ") != text:
            raise NotProven(collection)
        adapter.validate_python(rows)
        if keep is not None:
            keep += rows


def _chunks(data: bytes, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Byte ranges of whole records (from `    {` to `    }`), about CHUNK_BYTES each."""
    at, body_end = start + len(_ARRAY_OPEN), end - len(_ARRAY_CLOSE)
    while at < body_end:
        cut = data.find(_RECORD_SEP, at + CHUNK_BYTES, body_end)
        if cut < 0:
            yield at, body_end
            return
        yield at, cut + 6  # through "\n    }"
        at = cut + len(_RECORD_SEP) - 5  # the next record's "    {"
