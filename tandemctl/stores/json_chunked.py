"""The strict load of a store in the engine's exact layout, one chunk of records at a time: the same
parser, layout proof and validators as `json_codec.parse_reliability_layout`, in bounded memory.

Only the `dead_letters` rows are kept; the other three arrays are parsed, proven canonical and
validated a few megabytes at a time, then dropped. Whenever anything does not match (another
layout, a parse or validation error, an unknown schema), the answer is "not proven" and the caller
runs the full strict load, which reports exactly the error it always did.
"""

from collections.abc import Iterator
from typing import Any, Final

import orjson
from pydantic import ValidationError

from tandemctl.engine import jsonio, struct_check
from tandemctl.engine.models import COLLECTIONS
from tandemctl.engine.rows import Row
from tandemctl.engine.validation import list_adapter

CHUNK_BYTES: Final = 256 << 10  # measured: 64 KiB-1 MiB chunks stay in cache, 4 MiB ones are 1.5x slower
_RECORD_SEP: Final = b"\n    },\n    {"  # between two records of a top-level array, in the engine's layout
_ARRAY_OPEN: Final = b"[\n"
_ARRAY_CLOSE: Final = b"\n  ]"
_WRAP_HEAD: Final = len(b'{\n  "": ')
_WRAP_TAIL: Final = len(b"\n}")


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
        dead_letters: list[Row] = []
        for collection, (start, end) in spans.items():
            keep = dead_letters if collection == "dead_letters" else None
            _check_array(data, start, end, collection, keep)
    except (NotProven, orjson.JSONDecodeError, TypeError, ValidationError):
        return None
    return dead_letters


def _array_spans(data: bytes) -> dict[str, tuple[int, int]]:
    """Where each collection's array lies, read from the layout (verified by the checks after).

    The engine writes the arrays in `COLLECTIONS` order, so each key is searched backwards from the
    one after it: one pass over the file instead of one per array. A key not found that way (another
    order) is caught by the skeleton check, which then still sees that array.
    """
    spans: dict[str, tuple[int, int]] = {}
    bound = len(data)
    for collection in reversed(COLLECTIONS):
        key = b'\n  "' + collection.encode() + b'": '
        at = data.rfind(key, 0, bound)
        if at < 0:
            continue  # absent (the engine's empty default) or elsewhere: the skeleton check decides
        start = at + len(key)
        if data.startswith(b"[]", start):
            spans[collection] = (start, start + 2)
        else:
            end = data.rfind(_ARRAY_CLOSE, start, bound)
            # `[\n  ]` is not the engine's empty array (`[]`): leave such a file to the full load.
            if not data.startswith(_ARRAY_OPEN, start) or end < start + len(_ARRAY_OPEN) + 4:
                raise NotProven(collection)
            spans[collection] = (start, end + len(_ARRAY_CLOSE))
        bound = at
    return spans


def _check_skeleton(data: bytes, spans: dict[str, tuple[int, int]]) -> None:
    """The top level with the arrays cut out: canonical, an object, schema_version 1 or absent."""
    parts, at = [], 0
    for start, end in sorted(spans.values()):
        parts += [data[at:start], b"[]"]
        at = end
    skeleton = b"".join([*parts, data[at:]])
    top = orjson.loads(skeleton)
    if jsonio.dumps_pretty(top) != skeleton or not isinstance(top, dict) or jsonio.too_deep(skeleton):
        raise NotProven("top level")
    version = top.get("schema_version", 1)
    if type(version) is not int or not 0 <= version <= 1:
        raise NotProven("schema_version")
    # Every array present must be one that was cut out (and is checked record by record below).
    if any(collection in top and collection not in spans for collection in COLLECTIONS):
        raise NotProven("array not found in the layout")


def _check_array(data: bytes, start: int, end: int, collection: str, keep: list[Row] | None) -> None:
    """Parse, prove canonical and validate one array chunk by chunk; `keep` collects its rows."""
    adapter = list_adapter(COLLECTIONS[collection][0])
    view = memoryview(data)
    for chunk in _chunks(data, start, end):
        text = b"".join((_ARRAY_OPEN, view[chunk[0]:chunk[1]], _ARRAY_CLOSE))
        if jsonio.too_deep(text):  # records keep their depth in the file, so serde's limit applies as is
            raise NotProven("too deep")
        if struct_check.proves_exact(collection, text):  # valid and exact without building dicts
            if keep is not None:
                keep += orjson.loads(text)
            continue
        rows: list[Any] = orjson.loads(text)
        # Pretty-printed one level down, the records sit at their depth in the file: `{"": [...]}`
        # prints as `{\n  "": ` + the array exactly as the engine wrote it + `\n}`.
        if jsonio.dumps_pretty({"": rows})[_WRAP_HEAD:-_WRAP_TAIL] != text:
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
