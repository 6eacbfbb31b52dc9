"""Reading a state file safely: refuse symlinks and non-files, check the size limit first, and
remember the identity (device, inode, size, mtime) it had when read."""

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from tandemctl.errors import CorruptStateError
from tandemctl.fs import limits


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
