"""Linux `renameat2(RENAME_EXCHANGE)`: swap two paths atomically, so a writer can see exactly
which file its rename displaced. Returns False where the call or the filesystem lacks it."""

import ctypes
import errno
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

_AT_FDCWD: Final = -100
_RENAME_EXCHANGE: Final = 2
_UNSUPPORTED: Final = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV})

Renameat2 = Callable[[int, bytes, int, bytes, int], int]


@functools.cache
def _renameat2() -> Renameat2 | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function: Renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None  # glibc older than 2.28, or another libc
    return function


def exchange(first: Path, second: Path) -> bool:
    """Atomically swap `first` and `second`; False when exchange is unsupported here.

    Raises FileNotFoundError when either path is missing, OSError for other failures.
    """
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        return False
    if err == errno.ENOENT:
        raise FileNotFoundError(err, os.strerror(err), str(second))
    raise OSError(err, os.strerror(err), str(second))
