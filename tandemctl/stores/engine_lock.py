"""Holding the engine's own lock (`<data>/stateful_runtime.engine.lock`, spec 03 §2.8) while
tandemctl writes a 0.6.9+ database: an exclusive, non-blocking flock; held means an engine runs."""

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from tandemctl.errors import EngineLiveError, WriteError

ENGINE_RUNNING: Final = "a Tandem engine is running; stop it or use the live mode (--live)"


@contextlib.contextmanager
def hold_engine_lock(path: Path) -> Iterator[None]:
    """flock(LOCK_EX|LOCK_NB), never fcntl/lockf (those do not conflict with the engine's flock).
    The owner JSON inside is left as it is: the engine treats a dead or foreign pid as stale."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WriteError(f"{path}: cannot open the engine lock: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EngineLiveError(f"{ENGINE_RUNNING} ({path} is held)", lock=str(path)) from None
        yield
    finally:
        os.close(fd)
