"""The run files on disk: the hot file `automation_v2_runs.json` and the per-run history shards
(spec 02 §2.7–§2.8); parsing and the lookup rules are in `engine/run_store.py`."""

from pathlib import Path

from tandemctl.engine import jsonio
from tandemctl.engine.rows import Row
from tandemctl.engine.run_records import run_validation_error
from tandemctl.engine.run_store import HotRuns, ShardReader, parse_runs_file
from tandemctl.errors import CorruptStateError, UnsupportedStateError
from tandemctl.fs import reads


def load_hot_runs(path: Path) -> HotRuns:
    data, identity = reads.read_bytes(path)
    hot = parse_runs_file(data, path)
    hot.identity = identity
    return hot


def read_shard(path: Path) -> Row | None:
    """A shard's run record, or None when unreadable (bad JSON, newer version, bad record)."""
    try:
        data, _ = reads.read_bytes(path)
        value = jsonio.parse_strict(data, path) if data is not None else None
    except UnsupportedStateError:
        raise  # too large to load safely: say so, never report the run as missing
    except CorruptStateError:
        return None
    if isinstance(value, dict) and "schema_version" in value:
        version = value["schema_version"]
        if type(version) is not int or not 0 <= version <= 1:
            return None
        value = value.get("run")
    if not isinstance(value, dict) or run_validation_error(value) is not None:
        return None
    return value


def _month_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    years = sorted(p for p in root.iterdir() if p.is_dir())
    return [month for year in years for month in sorted(p for p in year.iterdir() if p.is_dir())]


def shard_reader(shard_root: Path) -> ShardReader:
    """`load_automation_v2_run_history_shard`'s disk part: every month dir holding `<run_id>.json`."""

    def read(run_id: str) -> dict[str, Row]:
        found: dict[str, Row] = {}
        if run_id in ("", ".", "..") or "/" in run_id or "\0" in run_id:
            return found
        for month in _month_dirs(shard_root):
            path = month / f"{run_id}.json"
            record = read_shard(path) if path.is_file() else None
            if record is not None:
                found[f"{month.parent.name}/{month.name}/{path.name}"] = record
        return found

    return read
