"""tandemctl's cross-process lock: an `flock` on a sibling `<file>.tandemctl.lock`, released by the
kernel when its holder dies; and probing a lock another process holds (the engine lock)."""

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tandemctl.errors import BusyError, WriteError

LOCK_SUFFIX = ".tandemctl.lock"


@contextlib.contextmanager
def exclusive_lock(target: Path, timeout_s: float) -> Iterator[None]:
    """Hold tandemctl's flock on the sibling `<target>.tandemctl.lock`.

    flock is released by the kernel when a holder dies, so a crashed tandemctl never leaves
    a lock that blocks forever. The lock file itself is never deleted (that would race).
    """
    lock_path = target.with_name(target.name + LOCK_SUFFIX)
    # Never create the engine's directories: a missing one means the wrong state dir.
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        raise WriteError(f"{lock_path.parent}: directory does not exist; tandemctl does not create the engine's "
                         "directories, nothing was changed") from None
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
