"""Atomic, locked file writes: unique temp file, fsync, identity check, rename, dir fsync."""

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tandemctl import faults, limits, renameat
from tandemctl.errors import BusyError, CorruptStateError, WriteError

LOCK_SUFFIX = ".tandemctl.lock"
TEMP_MARK = ".tandemctl.tmp"
ENGINE_TEMP_SUFFIX = ".tmp"  # the engine's fixed temp name: `stateful_reliability.json.tmp`
ENGINE_TEMP_FRESH_NS = 2_000_000_000
ENGINE_TEMP_WAIT_S = 1.0


@dataclass(frozen=True)
class FileIdentity:
    """What we compare to notice that another writer replaced or rewrote a file."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> "FileIdentity | None":
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def read_bytes(path: Path) -> tuple[bytes | None, FileIdentity | None]:
    """Read a state file and the identity it had; (None, None) when it does not exist."""
    data, st = read_with_stat(path)
    if data is None or st is None:
        return None, None
    return data, FileIdentity(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def read_with_stat(path: Path) -> tuple[bytes | None, os.stat_result | None]:
    """`read_bytes`, returning the full fstat of the descriptor that was read.

    A symlinked state file is refused: following it could read (and our rename would then
    silently replace) something outside the data dir.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise CorruptStateError(_open_error(path, exc)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise CorruptStateError(f"{path}: is {kind}, expected a file")
    with os.fdopen(fd, "rb") as handle:
        limits.check_size(path, st.st_size)
        try:
            data = handle.read()
        except OSError as exc:
            raise CorruptStateError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    return data, st


def _open_error(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP or path.is_symlink():
        return f"{path}: is a symbolic link (to {path.readlink()}); tandemctl does not follow linked state files"
    if exc.errno == errno.EISDIR:
        return f"{path}: is a directory, expected a file"
    return f"{path}: cannot be read: {exc.strerror or exc}"


def temp_path_for(path: Path) -> Path:
    # Never the engine's fixed `<name>.json.tmp`: a unique dot-name the engine ignores.
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_MARK}")


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


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete temp files a killed tandemctl left next to `path` (their pid is gone)."""
    removed: list[Path] = []
    for temp in path.parent.glob(f".{path.name}.*{TEMP_MARK}"):
        pid_text = temp.name[len(path.name) + 2:].split(".", 1)[0]
        if pid_text.isdigit() and not _pid_alive(int(pid_text)):
            _unlink_quietly(temp)
            removed.append(temp)
    return removed


def remove_stale_temps_in(directory: Path) -> list[Path]:
    """`remove_stale_temps` for every target in `directory` at once (one listing, not one per file)."""
    removed: list[Path] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(".") and name.endswith(TEMP_MARK)):
            continue
        parts = name[: -len(TEMP_MARK)].rsplit(".", 2)  # ".<target>", "<pid>", "<hex>"
        if len(parts) == 3 and parts[1].isdigit() and not _pid_alive(int(parts[1])):
            _unlink_quietly(directory / name)
            removed.append(directory / name)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def exclusive_lock(target: Path, timeout_s: float) -> Iterator[None]:
    """Hold tandemctl's flock on the sibling `<target>.tandemctl.lock`.

    flock is released by the kernel when a holder dies, so a crashed tandemctl never leaves
    a lock that blocks forever. The lock file itself is never deleted (that would race).
    """
    lock_path = target.with_name(target.name + LOCK_SUFFIX)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WriteError(f"{lock_path}: cannot open lock file: {exc.strerror or exc}") from None
    try:
        _acquire(fd, lock_path, timeout_s)
        yield
    finally:
        os.close(fd)


def _acquire(fd: int, lock_path: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + max(timeout_s, 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise BusyError(
                    f"{lock_path}: another tandemctl holds the lock (waited {timeout_s:g}s); "
                    "try again or raise --lock-timeout"
                ) from None
            time.sleep(0.02)


def is_flock_held(path: Path) -> bool:
    """True when another process holds an exclusive flock on `path` (the 0.6.9+ engine lock)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


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


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
