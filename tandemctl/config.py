"""Settings: defaults < TOML config file < environment < flags. Env-var names live here."""

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tandemctl.constants import (
    DEFAULT_TENANT,
    ENV_ACTOR,
    ENV_CONFIG,
    ENV_ENGINE_URL,
    ENV_NOW_MS,
    ENV_OUTPUT,
    ENV_STATE_DIR,
    ENV_TENANT,
    OutputFormat,
)
from tandemctl.errors import UsageError

__all__ = ["DEFAULT_TENANT", "ENV_ACTOR", "ENV_CONFIG", "ENV_ENGINE_URL", "ENV_NOW_MS", "ENV_OUTPUT",
           "ENV_STATE_DIR", "ENV_TENANT", "FileSettings", "OutputFormat", "load_file_settings", "parse_tenant"]


class FileSettings(BaseModel):
    """What `config.toml` may set; flags and env vars override it."""

    model_config = ConfigDict(extra="forbid")

    state_dir: str | None = None
    reliability_file: str | None = None
    journal_file: str | None = None
    tenant: str | None = None
    output: OutputFormat | None = None
    actor: str | None = None
    lock_timeout: float | None = None
    engine_url: str | None = None


def default_config_path(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".config"
    return root / "tandemctl" / "config.toml"


def load_file_settings(path: Path | None, env: Mapping[str, str]) -> FileSettings:
    """Read the TOML file; a missing default file is fine, a missing explicit one is not."""
    explicit = path is not None
    target = path if path is not None else default_config_path(env)
    try:
        raw: dict[str, Any] = tomllib.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if explicit:
            raise UsageError(f"{target}: config file not found") from None
        return FileSettings()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{target}: cannot read config: {exc}") from None
    try:
        return FileSettings.model_validate(raw.get("tandemctl", raw))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{target}: field {field!r}: {first['msg']}") from None


def parse_tenant(text: str) -> dict[str, str]:
    """`ORG/WORKSPACE[/DEPLOYMENT]` → the TenantContext fields visibility compares."""
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise UsageError(f"--tenant: expected ORG/WORKSPACE[/DEPLOYMENT], got {text!r}")
    tenant = {"org_id": parts[0].strip(), "workspace_id": parts[1].strip()}
    if len(parts) == 3:
        tenant["deployment_id"] = parts[2].strip()
    return tenant


def login_user(env: Mapping[str, str]) -> str:
    for key in ("USER", "LOGNAME", "USERNAME"):
        if env.get(key, "").strip():
            return env[key].strip()
    try:
        return os.getlogin()
    except OSError:
        return "operator"
