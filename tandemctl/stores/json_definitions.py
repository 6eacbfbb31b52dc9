"""Loading automation-v2 definitions from disk: the per-automation shards of `automations-v2/`, else
the legacy aggregate `automations_v2.json` (spec 02 §3.1); the rules are `engine/definitions.py`."""

from pathlib import Path
from typing import Final

from tandemctl.engine import jsonio
from tandemctl.engine.definitions import validate_spec
from tandemctl.engine.rows import Row
from tandemctl.errors import CorruptStateError
from tandemctl.fs import reads

INDEX_FILE: Final = "index.json"


def load_definitions(definitions_dir: Path, legacy_file: Path) -> dict[str, Row]:
    """Shards of `automations-v2/` keyed by their own id; else the legacy aggregate map."""
    shard_paths = _shard_paths(definitions_dir)
    if shard_paths:
        return dict(_load_shard(path) for path in shard_paths)
    return _load_legacy_aggregate(legacy_file)


def _shard_paths(definitions_dir: Path) -> list[Path]:
    if not definitions_dir.is_dir():
        return []
    return sorted(path for path in definitions_dir.glob("*.json") if path.name != INDEX_FILE and path.is_file())


def _load_shard(path: Path) -> tuple[str, Row]:
    data, _ = reads.read_bytes(path)
    if data is None:
        raise CorruptStateError(f"{path}: definition shard vanished while loading")
    spec = jsonio.parse_strict(data, path)
    problem = validate_spec(spec)
    if problem is not None:
        # The engine refuses to start on such a file, so the sweep refuses too.
        raise CorruptStateError(f"{path}: automation definition does not parse: {problem}")
    return spec["automation_id"], spec


def _load_legacy_aggregate(path: Path) -> dict[str, Row]:
    data, _ = reads.read_bytes(path)
    if data is None or data.strip() in (b"", b"{}"):
        return {}
    try:
        top = jsonio.parse_strict(data, path)
    except CorruptStateError:
        return {}  # the engine treats an unparseable aggregate as empty
    if not isinstance(top, dict) or any(validate_spec(spec) is not None for spec in top.values()):
        return {}
    return dict(top)
