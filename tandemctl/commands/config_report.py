"""`config show` / `config init` and the settings part of `doctor`: every setting's effective value
and where it came from (default < config file < environment < flag), and the starter file."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import tomli_w

from tandemctl.commands.config import FileSettings, default_config_path, load_file_settings
from tandemctl.commands.invocation import DEFAULT_LOCK_TIMEOUT, Invocation
from tandemctl.constants import DEFAULT_TENANT, ENV_ACTOR, ENV_CONFIG, ENV_OUTPUT, ENV_STATE_DIR, ENV_TENANT
from tandemctl.engine.dispositions import tenant_label
from tandemctl.errors import UsageError
from tandemctl.fs import atomic

# The documented default of every FileSettings field (config.example.toml is checked against it).
SETTING_DEFAULTS: Final[dict[str, str]] = {
    "state_dir": "the engine's data dir: TANDEM_STATE_DIR, TANDEM_HOME, else the OS data dir",
    "reliability_file": "<data>/runtime/stateful_reliability.json",
    "journal_file": "<data>/runtime/tandemctl-journal.jsonl",
    "tenant": DEFAULT_TENANT,
    "output": "table",
    "actor": "the login user",
    "lock_timeout": f"{DEFAULT_LOCK_TIMEOUT:g}",
    "engine_url": "TANDEM_ENGINE_URL, else http://127.0.0.1:$TANDEM_ENGINE_PORT (39731)",
    "mode": "offline",
}
# The global option that overrides each setting (its env var shows as source "env").
_OPTION_OF: Final = {"mode": "live"}
_ENV_OF: Final = {"state_dir": ENV_STATE_DIR, "tenant": ENV_TENANT, "output": ENV_OUTPUT, "actor": ENV_ACTOR}


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    source: str  # "default", "file", "env <VAR>" or "flag"


@dataclass(frozen=True)
class ConfigReport:
    path: Path
    path_source: str
    exists: bool
    settings: list[Setting]

    def data(self) -> dict[str, Any]:
        return {"config_file": {"path": str(self.path), "source": self.path_source, "exists": self.exists},
                "settings": [{"name": s.name, "value": s.value, "source": s.source} for s in self.settings]}


def config_location(inv: Invocation) -> tuple[Path, str]:
    given = dict(inv.options.sources).get("config")
    if inv.options.config:
        return Path(inv.options.config), "flag" if given == "flag" else f"env {ENV_CONFIG}"
    return default_config_path(inv.env), "default"


def _effective(inv: Invocation) -> dict[str, Any]:
    """The values in use, as `resolve` computed them."""
    return {
        "state_dir": str(inv.paths.data_dir), "reliability_file": str(inv.paths.reliability_file),
        "journal_file": str(inv.paths.journal_file),
        "tenant": None if inv.tenant is None else tenant_label(inv.tenant),
        "output": str(inv.output), "actor": inv.actor, "lock_timeout": inv.lock_timeout,
        "engine_url": inv.engine_url, "mode": "live" if inv.selection.live else "offline",
    }


def config_report(inv: Invocation) -> ConfigReport:
    path, path_source = config_location(inv)
    file_settings = load_file_settings(Path(inv.options.config) if inv.options.config else None, inv.env)
    given = dict(inv.options.sources)
    effective = _effective(inv)
    settings = []
    for name in FileSettings.model_fields:
        option = _OPTION_OF.get(name, name)
        env_var = _ENV_OF.get(name, "")
        if option in given:
            source = given[option] if given[option] == "flag" else f"env {env_var}".strip()
        elif env_var and inv.env.get(env_var, "").strip():  # read by the resolver, not by the option parser
            source = f"env {env_var}"
        elif getattr(file_settings, name) is not None:
            source = "file"
        elif name == "state_dir" and inv.paths.source != "OS data dir":
            source = f"env {inv.paths.source}"
        else:
            source = "default"
        settings.append(Setting(name, effective[name], source))
    return ConfigReport(path, path_source, path.is_file(), settings)


def starter_settings(inv: Invocation) -> dict[str, Any]:
    """What `config init` writes: every setting given now (flags or env) plus the fixed defaults."""
    given = dict(inv.options.sources)
    values: dict[str, Any] = {"output": "table", "lock_timeout": DEFAULT_LOCK_TIMEOUT, "mode": "offline"}
    for name in FileSettings.model_fields:
        option = _OPTION_OF.get(name, name)
        raw = getattr(inv.options, option, None)
        if option in given and raw not in (None, False):
            values[name] = "live" if name == "mode" else str(raw) if name == "output" else raw
    FileSettings.model_validate(values)  # never write a file that tandemctl would refuse to read
    return dict(sorted(values.items()))


@dataclass(frozen=True)
class InitOutcome:
    path: Path
    settings: dict[str, Any]


def config_init(inv: Invocation, *, force: bool, target: str | None) -> InitOutcome:
    """Write the starter file at `target` (--config / TANDEMCTL_CONFIG), else the default location."""
    path = Path(target) if target else default_config_path(inv.env)
    if path.exists() and not force:
        raise UsageError(f"{path}: already exists; use --force to overwrite it", path=str(path))
    settings = starter_settings(inv)
    header = b"# tandemctl configuration (see config.example.toml for every setting and its default)\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_atomic(path, header + tomli_w.dumps(settings).encode("utf-8"))
    return InitOutcome(path, settings)
