"""Settings: defaults < TOML config file < environment < flags. Env-var names live here."""

import os
import pwd
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tandemctl.constants import (
    OutputFormat,
)
from tandemctl.engine.validation import field_error
from tandemctl.errors import UsageError


class FileSettings(BaseModel):
    """What `config.toml` may set; flags and env vars override it."""

    model_config = ConfigDict(extra="forbid")

    state_dir: str | None = None
    reliability_file: str | None = None
    journal_file: str | None = None
    tenant: str | None = None
    output: OutputFormat | None = None
    actor: str | None = None
    lock_timeout: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    engine_url: str | None = None
    mode: Literal["offline", "live"] | None = None


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
    except RecursionError:
        raise UsageError(f"{target}: cannot read config: nested too deeply") from None
    try:
        settings = FileSettings.model_validate(raw.get("tandemctl", raw))
    except ValidationError as exc:
        raise UsageError(f"{target}: {field_error(exc)}") from None
    # Checked here, not where they are used, so that the error names this file rather than a flag.
    if settings.tenant is not None:
        parse_tenant(settings.tenant, option=f"{target}: field 'tenant'")
    if settings.engine_url is not None:
        _check_url(settings.engine_url, f"{target}: field 'engine_url'")
    return settings


def _check_url(url: str, label: str) -> None:
    parts = urlsplit(url.strip())
    try:
        parts.port  # noqa: B018 (parsing the port is the check)
    except ValueError:
        raise UsageError(f"{label}: {url!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{label}: {url!r} must look like http://host:port")


def parse_tenant(text: str, *, option: str = "--tenant") -> dict[str, str]:
    """`ORG/WORKSPACE[/DEPLOYMENT]` → the TenantContext fields visibility compares."""
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise UsageError(f"{option}: expected ORG/WORKSPACE[/DEPLOYMENT], got {text!r}")
    tenant = {"org_id": parts[0].strip(), "workspace_id": parts[1].strip()}
    if len(parts) == 3:
        tenant["deployment_id"] = parts[2].strip()
    return tenant


def login_user(env: Mapping[str, str]) -> str:
    for key in ("USER", "LOGNAME", "USERNAME"):
        if env.get(key, "").strip():
            return env[key].strip()
    try:  # cron and containers often set neither: the login name of our uid, not a made-up one
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid-{os.getuid()}"
