"""How large a state file tandemctl will load: refuse up front rather than swap.

Loading a JSON state file costs about 6x its size in memory at peak (measured; see the README's
Performance section). The limit is the smaller of `TANDEMCTL_MAX_STATE_MB` (if set) and the
memory the kernel reports as available divided by that factor.
"""

import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Final

from tandemctl.errors import UnsupportedStateError

MEMORY_FACTOR: Final = 6
ENV_MAX_STATE_MB: Final = "TANDEMCTL_MAX_STATE_MB"


@cache
def _available_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def state_file_limit() -> tuple[int | None, str]:
    """The byte limit and how it was derived (for the error message)."""
    explicit = os.environ.get(ENV_MAX_STATE_MB, "").strip()
    if explicit.isdigit():
        return int(explicit) * 1024 * 1024, f"{ENV_MAX_STATE_MB}={explicit}"
    available = _available_bytes()
    if available is None:
        return None, "no limit"
    return available // MEMORY_FACTOR, f"{available // 2**20} MiB available / {MEMORY_FACTOR}"


def check_size(path: Path, size: int) -> None:
    limit, why = state_file_limit()
    if limit is not None and size > limit:
        raise UnsupportedStateError(
            f"{path}: {size / 2**20:.0f} MiB is more than tandemctl can load safely "
            f"(limit {limit / 2**20:.0f} MiB: {why}); free memory or set {ENV_MAX_STATE_MB}"
        )


def check_together(paths: Sequence[Path], *, command: str) -> None:
    """The same budget for files one command holds in memory at once (the sweep: store, runs file
    and audit ledger), so that files that each fit cannot add up to a swap storm."""
    limit, why = state_file_limit()
    if limit is None:
        return
    sizes = []
    for path in paths:
        try:
            sizes.append((path, path.stat().st_size))
        except OSError:
            continue  # missing or unreadable: the load itself reports it
    total = sum(size for _, size in sizes)
    if total > limit:
        listed = ", ".join(f"{path} ({size / 2**20:.0f} MiB)" for path, size in sizes)
        raise UnsupportedStateError(
            f"{command} loads {listed} together: {total / 2**20:.0f} MiB is more than tandemctl can load safely "
            f"(limit {limit / 2**20:.0f} MiB: {why}); free memory or set {ENV_MAX_STATE_MB}"
        )
