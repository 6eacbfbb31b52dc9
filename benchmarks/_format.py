"""Byte-level helpers for the state generator: id hashes, digests, key order, server JSON layout.

Imports nothing from tandemctl: the generator must stay an independent model of the server.
"""

import hashlib
import random
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import orjson

DAY_MS: Final = 86_400_000
HOUR_MS: Final = 3_600_000
MINUTE_MS: Final = 60_000
RETENTION_MS: Final = 7 * DAY_MS
DISPATCHER_ACTOR: Final = "tandem-server:dead-letter-dispatcher"
MAX_RETRY_DISPATCHES: Final = 5
_INDENT: Final = orjson.OPT_INDENT_2
_RECORD_INDENT: Final = b"\n    "
_NESTED: Final = (dict, list)


def sha256_hex(*parts: str) -> str:
    """The server's `sha256_hex` helper: each part's UTF-8 bytes followed by one NUL byte."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode())
        hasher.update(b"\0")
    return hasher.hexdigest()


def short_hash(*parts: str) -> str:
    return sha256_hex(*parts)[:16]


def sort_json(value: Any) -> Any:
    """Free-form JSON as serde_json writes it without `preserve_order`: keys sorted at every level."""
    kind = type(value)
    if kind is dict:
        return {key: sort_json(item) if type(item) in _NESTED else item
                for key, item in sorted(value.items())}
    if kind is list:
        return [sort_json(item) if type(item) in _NESTED else item for item in value]
    return value


def digest(value: Any) -> str:
    """`sha256:` + helper hash of the value's compact JSON text (spec 01 §8.3)."""
    return "sha256:" + sha256_hex(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode())


def definition_hash(spec: dict[str, Any]) -> str:
    """Plain SHA-256 of the compact spec JSON in file key order (spec 02 §3.4)."""
    return "sha256:" + hashlib.sha256(orjson.dumps(spec)).hexdigest()


def rng_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def retry_backoff_ms(count: int) -> int:
    # dead_letter_retry_backoff_ms in app/state/automation_v2_dead_letter_retry.rs
    return min(1000 << min(count, 20), 300_000)


def pretty(value: Any) -> bytes:
    """serde_json::to_vec_pretty layout: 2-space indent, raw UTF-8, no trailing newline."""
    return orjson.dumps(value, option=_INDENT)


def write_pretty(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pretty(value))


def write_reliability_store(path: Path, arrays: Iterable[tuple[str, Iterable[Any]]]) -> int:
    """Stream `{"schema_version":1, <array>: [...], ...}` in the exact layout of `pretty`.

    Records are serialized one at a time so a 100k-row store never exists as one Python object.
    Returns the number of bytes written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("wb", buffering=1 << 20) as out:
        written += out.write(b'{\n  "schema_version": 1')
        for name, records in arrays:
            written += out.write(b',\n  "' + name.encode() + b'": [')
            first = True
            for record in records:
                # JSON strings never contain a raw newline, so re-indenting by line is exact.
                body = orjson.dumps(record, option=_INDENT).replace(b"\n", _RECORD_INDENT)
                written += out.write((b"\n    " if first else b",\n    ") + body)
                first = False
            written += out.write(b"]" if first else b"\n  ]")
        written += out.write(b"\n}")
    return written
