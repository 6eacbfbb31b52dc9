"""Unique temp names for atomic writes, and removing the temp files a killed tandemctl left behind."""

import contextlib
import os
import secrets
from pathlib import Path

TEMP_MARK = ".tandemctl.tmp"


def temp_path_for(path: Path) -> Path:
    # Never the engine's fixed `<name>.json.tmp`: a unique dot-name the engine ignores.
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_MARK}")


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


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
