"""Where the engine keeps its files: the server's data-dir resolution, mirrored exactly.

Mirrors tandem-server `config/paths.rs` and `tandem-core/src/storage_paths.rs` (spec 02 §1.1).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_FORBIDDEN_PREFIXES = ("/etc", "/sys", "/proc", "/root", "/boot", "/dev", "/var/www")


@dataclass(frozen=True)
class StatePaths:
    """Every file tandemctl reads or writes, resolved once per invocation."""

    data_dir: Path
    source: str
    reliability_file: Path
    journal_file: Path

    @property
    def runtime_dir(self) -> Path:
        return self.reliability_file.parent

    @property
    def runs_file(self) -> Path:
        return self.data_dir / "automation_v2_runs.json"

    @property
    def shard_root(self) -> Path:
        return self.data_dir / "automation-runs" / "automation_v2_runs"

    @property
    def definitions_dir(self) -> Path:
        return self.data_dir / "automations-v2"

    @property
    def legacy_definitions_file(self) -> Path:
        return self.data_dir / "automations_v2.json"

    @property
    def audit_file(self) -> Path:
        return self.data_dir / "audit" / "protected_events.log.jsonl"

    @property
    def engine_lock_file(self) -> Path:
        return self.data_dir / "stateful_runtime.engine.lock"


def validate_env_path(raw: str) -> Path | None:
    """`validate_env_path`: trimmed, no `..`, absolute, existing, not under a system dir."""
    value = raw.strip()
    if not value or ".." in value or not os.path.isabs(value):
        return None
    try:
        canonical = Path(value).resolve(strict=True)
    except OSError:
        return None
    if str(canonical).startswith(_FORBIDDEN_PREFIXES):
        return None
    return canonical


def resolve_data_dir(env: Mapping[str, str], home: Path | None = None) -> tuple[Path, str]:
    """`resolve_canonical_data_file_path`'s directory, and a note on which rule chose it."""
    state_dir = env.get("TANDEM_STATE_DIR", "")
    validated = validate_env_path(state_dir) if state_dir else None
    if validated is not None:
        if validated.name.lower() == "data":
            return validated, "TANDEM_STATE_DIR"
        return validated / "data", "TANDEM_STATE_DIR"
    tandem_home = env.get("TANDEM_HOME", "").strip()
    if tandem_home:
        return Path(tandem_home) / "data", "TANDEM_HOME"
    if state_dir.strip():
        # A value that failed validation is still used raw, as <value>/data (spec 02 §1.1).
        return Path(state_dir.strip()) / "data", "TANDEM_STATE_DIR (unvalidated)"
    return _os_data_dir(env, home) / "tandem" / "data", "OS data dir"


def _os_data_dir(env: Mapping[str, str], home: Path | None) -> Path:
    base = home if home is not None else Path.home()
    xdg = env.get("XDG_DATA_HOME", "").strip()
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    if os.uname().sysname == "Darwin":
        return base / "Library" / "Application Support"
    return base / ".local" / "share"


def resolve_state_paths(
    env: Mapping[str, str],
    *,
    state_dir: str | None = None,
    reliability_file: str | None = None,
    journal_file: str | None = None,
) -> StatePaths:
    """Resolve all paths; `state_dir` acts as if TANDEM_STATE_DIR were that value."""
    effective = dict(env)
    if state_dir is not None:
        effective["TANDEM_STATE_DIR"] = state_dir
    data_dir, source = resolve_data_dir(effective)
    if state_dir is not None:
        source = "--state-dir" if source.startswith("TANDEM_STATE_DIR") else source
    reliability = Path(reliability_file) if reliability_file else data_dir / "runtime" / "stateful_reliability.json"
    journal = Path(journal_file) if journal_file else reliability.parent / "tandemctl-journal.jsonl"
    return StatePaths(data_dir=data_dir, source=source, reliability_file=reliability, journal_file=journal)
