"""Atomic writes: unique temp file, fsync, identity check, rename (an exchange where the kernel has one),
directory fsync; durable appends and unlinks."""

import contextlib
import errno
import os
import stat
import time
from pathlib import Path

from tandemctl.errors import CorruptStateError, WriteError
from tandemctl.fs import faults, renameat
from tandemctl.fs.reads import FileIdentity, _open_error
from tandemctl.fs.temps import _unlink_quietly, temp_path_for

ENGINE_TEMP_SUFFIX = ".tmp"  # the engine's fixed temp name: `stateful_reliability.json.tmp`
ENGINE_TEMP_FRESH_NS = 2_000_000_000
ENGINE_TEMP_WAIT_S = 1.0


def write_atomic(path: Path, data: bytes, *, expected: FileIdentity | None = None,
                 check: bool = False) -> FileIdentity:
    """Replace `path` with `data` atomically; with `check`, refuse if it changed since read.

    Raises `StaleFileError` when `check` is set and the file's identity no longer matches.
    On any failure the old file is untouched and the temp file is removed. Returns the
    identity of the file written (taken from the temp file, so no later writer can alias it).
    """
    mode = _mode_of(path)
    temp = temp_path_for(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            _write_all(fd, data)
            faults.checkpoint(f"write {path.name}")
            os.fsync(fd)
            faults.checkpoint(f"fsync {path.name}")
            st = os.fstat(fd)
        finally:
            os.close(fd)
        os.chmod(temp, mode)
        if check and (engine_writing(path, now_ns=st.st_mtime_ns) or FileIdentity.of(path) != expected):
            raise StaleFileError(str(path))
        if check and expected is not None:
            _replace_expected(temp, path, expected)
        else:
            os.replace(temp, path)
        faults.checkpoint(f"rename {path.name}")
    except StaleFileError:
        _unlink_quietly(temp)
        raise
    except OSError as exc:
        _unlink_quietly(temp)
        raise WriteError(f"{path}: write failed: {exc.strerror or exc}; the file was left unchanged") from None
    fsync_dir(path.parent)
    return FileIdentity(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def engine_writing(path: Path, *, now_ns: int) -> bool:
    """Whether the engine is between writing its fixed `<name>.tmp` and renaming it over `path`.

    If so, wait (briefly) for that rename: a rename of ours now would race it. A temp file
    older than ENGINE_TEMP_FRESH_NS (by the filesystem's clock, `now_ns`) is a leftover of a
    crashed engine and is ignored.
    """
    engine_temp = path.with_name(path.name + ENGINE_TEMP_SUFFIX)
    deadline = time.monotonic() + ENGINE_TEMP_WAIT_S
    seen = False
    while True:
        try:
            mtime_ns = engine_temp.stat().st_mtime_ns
        except FileNotFoundError:
            return seen
        if now_ns - mtime_ns > ENGINE_TEMP_FRESH_NS or time.monotonic() >= deadline:
            return seen or now_ns - mtime_ns <= ENGINE_TEMP_FRESH_NS
        seen = True
        time.sleep(0.0005)


def _replace_expected(temp: Path, path: Path, expected: FileIdentity) -> None:
    """Rename `temp` over `path` only if `path` is still the file we read.

    The stat check before this leaves a window in which an unlocked writer (the engine) can
    rename its own version in; a plain rename would then silently drop that version. Where
    the kernel can swap two names atomically we swap, look at what we displaced, and if it
    is not what we read, swap straight back and report the file as stale.
    """
    try:
        swapped = renameat.exchange(temp, path)
    except FileNotFoundError:
        raise StaleFileError(str(path)) from None
    if not swapped:
        os.replace(temp, path)
        return
    if FileIdentity.of(temp) != expected:
        renameat.exchange(temp, path)
        raise StaleFileError(str(path))
    _unlink_quietly(temp)


def unlink_durable(path: Path, what: str) -> None:
    """Remove a file (an intent) and fsync its directory; a missing file is fine."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise WriteError(f"{path}: cannot remove the {what}: {exc.strerror or exc}") from None
    fsync_dir(path.parent)
    faults.checkpoint(f"unlink {path.name}")


def append_durable(path: Path, line: bytes) -> None:
    """Append one line with O_APPEND and fsync it (audit ledger, journal); never through a symlink."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        try:
            _write_all(fd, line)
            faults.checkpoint(f"append {path.name}")
            os.fsync(fd)
            faults.checkpoint(f"fsync {path.name}")
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CorruptStateError(_open_error(path, exc)) from None
        raise WriteError(f"{path}: append failed: {exc.strerror or exc}") from None


class StaleFileError(Exception):
    """The target changed between our read and our rename (another writer)."""


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _mode_of(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o644


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
