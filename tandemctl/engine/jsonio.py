"""Strict JSON reading and the engine's exact JSON writing (serde_json pretty/compact).

orjson's 2-space pretty printer produces the same bytes as serde_json's `to_string_pretty`
(two-space indent, `": "`, `[]`/`{}` for empty values, raw UTF-8, no trailing newline).
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from tandemctl.errors import CorruptStateError

BOM = b"\xef\xbb\xbf"
_PRETTY = orjson.OPT_INDENT_2


def dumps_pretty(value: Any) -> bytes:
    """serde_json::to_vec_pretty: what the engine writes for its JSON state files."""
    return orjson.dumps(value, option=_PRETTY)


def dumps_compact(value: Any) -> bytes:
    """serde_json::to_string: compact, keys in the order given."""
    return orjson.dumps(value)


def clone(value: Any) -> Any:
    """A deep copy of JSON data; an orjson round trip is ~10x faster than copy.deepcopy and
    exact for anything that was parsed from JSON (floats round-trip via shortest repr)."""
    return orjson.loads(orjson.dumps(value))


def sort_keys_deep(value: Any) -> Any:
    """Free-form JSON (serde_json::Value without preserve_order) is written with sorted keys."""
    if isinstance(value, dict):
        return {key: sort_keys_deep(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sort_keys_deep(item) for item in value]
    return value


def parse_strict(data: bytes, path: Path, *, canonical_hint: bool = True) -> Any:
    """Parse like serde_json (see `parse_strict_layout`)."""
    return parse_strict_layout(data, path, canonical_hint=canonical_hint)[0]


def parse_strict_layout(data: bytes, path: Path, *, canonical_hint: bool = True) -> tuple[Any, bool]:
    """Parse like serde_json, and say whether the bytes are in the engine's exact layout.

    Parse like serde_json: no BOM, valid UTF-8, no NaN, no trailing garbage, no duplicate keys.

    Duplicate keys are rejected by serde for typed objects. Checking for them needs a slow
    parse, so it runs only when the bytes are not already in the canonical engine layout
    (a canonical re-serialisation equal to the input cannot hide a duplicate key).
    """
    if data.startswith(BOM):
        raise CorruptStateError(f"{path}: starts with a UTF-8 byte-order mark; the engine rejects it")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CorruptStateError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    deep = CorruptStateError(f"{path}: JSON nested deeper than {MAX_DEPTH} levels; the engine's parser rejects it")
    try:
        pretty = dumps_pretty(value)
    except TypeError:  # orjson refuses to write past 254 levels: far beyond serde's limit
        raise deep from None
    if too_deep(pretty):
        raise deep
    if canonical_hint and pretty == data:
        return value, True
    duplicate = find_duplicate_key(data)
    if duplicate is not None:
        raise CorruptStateError(f"{path}: duplicate key {duplicate!r} in one JSON object")
    return value, False


# serde_json's default recursion limit: entering the 128th nested array/object fails.
MAX_DEPTH = 127
_DEEP_INDENT = b"\n" + b" " * (2 * MAX_DEPTH)


def too_deep(pretty: bytes) -> bool:
    """In 2-space pretty output, a container opened at indent 2*127 is the 128th level."""
    start = pretty.find(_DEEP_INDENT)
    while start != -1:
        line_end = pretty.find(b"\n", start + 1)
        line = pretty[start + 1:line_end if line_end != -1 else len(pretty)].lstrip(b" ")
        if line[:1] in (b"[", b"{") or line.rstrip(b",").endswith((b"[", b"{", b"[]", b"{}")):
            return True
        start = pretty.find(_DEEP_INDENT, start + 1)
    return False


def find_duplicate_key(data: bytes) -> str | None:
    """Return the first key that appears twice inside one object, if any."""
    found: list[str] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if not found:
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    found.append(key)
                    break
                seen.add(key)
        return dict(pairs)

    json.loads(data, object_pairs_hook=hook)
    return found[0] if found else None


def json_objects(data: bytes) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """JSON Lines: each non-blank line's number and its object, or None when the line is not a JSON
    object (torn, foreign or garbage). The one reader of the journal and the audit ledger."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            value = None
        yield number, value if isinstance(value, dict) else None
