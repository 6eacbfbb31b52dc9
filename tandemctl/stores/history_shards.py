"""The run history shards of a data dir (`automation-runs/automation_v2_runs/YYYY/MM/<run>.json`, kept as
files by every Tandem release): which runs have copies in more than one month directory."""

import os
from pathlib import Path


def stale_copies(shard_root: Path) -> list[tuple[str, list[str]]]:
    """Runs whose shard exists in several months (the engine's stale-month quirk, spec 02 §2.8): the run
    file name and its paths relative to the shard root, oldest month first. The engine reads whichever
    copy its directory listing yields first, so an older copy can shadow the run's current state."""
    months: dict[str, list[str]] = {}
    for year in _dirs(shard_root):
        for month in _dirs(year):
            for entry in os.scandir(month):
                if entry.is_file() and entry.name.endswith(".json"):
                    months.setdefault(entry.name, []).append(f"{year.name}/{month.name}/{entry.name}")
    return sorted((name, sorted(paths)) for name, paths in months.items() if len(paths) > 1)


def _dirs(parent: Path) -> list[Path]:
    try:
        return sorted(Path(entry.path) for entry in os.scandir(parent) if entry.is_dir())
    except OSError:
        return []
