"""The read-only fast path of `dead-letters list`: a store already validated in full is not
validated again, and only its `dead_letters` array is parsed — lazily, record by record, when
the query can stop early (a first page).

A store is remembered only after tandemctl parsed and validated the *whole* file and found it in
the engine's exact layout; the entry records the file's device, inode, size, mtime and ctime (ctime
cannot be set back by a writer), the tandemctl version, and where the `dead_letters` array lies.
Any change to the file — the engine's atomic rename (new inode) or an in-place edit (new ctime) —
misses, and the next `list` validates in full again. Writes never use this path.
"""

import contextlib
import hashlib
import mmap
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

import orjson

from tandemctl import __version__
from tandemctl.engine.rows import Row
from tandemctl.fs import atomic

FORMAT: Final = 1
_ARRAY_KEY: Final = b'\n  "dead_letters": '
_ARRAY_END: Final = b"\n  ]"
_RECORD_END: Final = b"\n    }"


def _cache_file(store: Path, env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".cache"
    digest = hashlib.sha256(os.fsencode(store.absolute())).hexdigest()[:24]
    return root / "tandemctl" / f"validated-{digest}.json"


def _key(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def dead_letter_span(data: bytes) -> tuple[int, int] | None:
    """Byte range of the `dead_letters` array in a canonical (engine-layout) store."""
    at = data.find(_ARRAY_KEY)
    if at < 0:
        return None
    start = at + len(_ARRAY_KEY)
    if data.startswith(b"[]", start):
        return start, start + 2
    end = data.find(_ARRAY_END, start)
    return (start, end + len(_ARRAY_END)) if data.startswith(b"[\n", start) and end > 0 else None


def remember(store: Path, st: os.stat_result, data: bytes, env: Mapping[str, str]) -> None:
    """Record a fully validated, canonical store; best effort (a read-only home just misses)."""
    span = dead_letter_span(data)
    try:
        current = store.lstat()
    except OSError:
        return
    if span is None or _key(current) != _key(st):  # changed while we read it: not what we checked
        return
    entry = {"format": FORMAT, "version": __version__, "path": str(store.absolute()), "key": _key(st),
             "span": list(span)}
    with contextlib.suppress(Exception):
        atomic.write_atomic(_cache_file(store, env), orjson.dumps(entry))


def validated_dead_letters(store: Path, env: Mapping[str, str], *, lazy: bool) -> Iterator[Row] | None:
    """The stored dead letters without re-validation, or None when the store is not known-good."""
    try:
        entry = orjson.loads(_cache_file(store, env).read_bytes())
        wanted = [FORMAT, __version__, entry["key"]]
        if [entry.get("format"), entry.get("version"), _key(store.lstat())] != wanted:
            return None  # checked before opening, so a miss costs no extra open of the store
        fd = os.open(store, os.O_RDONLY | os.O_NOFOLLOW)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError, orjson.JSONDecodeError):
        return None
    try:
        if _key(os.fstat(fd)) != entry["key"]:  # replaced between the lstat and the open
            return None
        mapped = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)  # the mapping keeps the inode we checked, even if a new file is renamed in
    start, end = entry["span"]
    return _records(mapped, start, end) if lazy else _all(mapped, start, end)


def _all(mapped: mmap.mmap, start: int, end: int) -> Iterator[Row]:
    try:
        rows: list[Row] = orjson.loads(mapped[start:end])
    finally:
        mapped.close()
    yield from rows


def _records(mapped: mmap.mmap, start: int, end: int) -> Iterator[Row]:
    """One record at a time: in the engine's layout each record closes with `\\n    }`."""
    try:
        at = start + 2  # past "[\n"
        while end - start > 2:
            close = mapped.find(_RECORD_END, at, end)
            if close < 0:
                return
            yield orjson.loads(mapped[at:close + len(_RECORD_END)])
            at = close + len(_RECORD_END)
            if mapped[at:at + 2] != b",\n":
                return
            at += 2
    finally:
        mapped.close()
