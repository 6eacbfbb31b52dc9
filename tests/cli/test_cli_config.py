"""`config show` (each value and its source, with the precedence defaults < file < env < flag) and
`config init` (tomli-w, refuses to overwrite without --force, the file reads back)."""

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import Result, StateDir

Run = Callable[..., Result]


def settings(result: Result) -> dict[str, tuple[Any, str]]:
    assert result.exit_code == 0, result.stderr
    return {s["name"]: (s["value"], s["source"]) for s in result.json()["data"]["settings"]}


def test_defaults(tandemctl: Run, state: StateDir) -> None:
    result = tandemctl("-o", "json", "config", "show")
    data = result.json()["data"]
    assert set(data) == {"config_file", "settings"}
    assert set(data["config_file"]) == {"path", "source", "exists"}
    assert data["config_file"]["source"] == "default" and data["config_file"]["exists"] is False
    got = settings(result)
    assert got["tenant"] == ("local/local", "default")
    assert got["lock_timeout"] == (10.0, "default")
    assert got["mode"] == ("offline", "default")
    assert got["state_dir"] == (str(state.data), "flag")  # the runner passes --state-dir


def test_precedence_file_then_env_then_flag(tandemctl: Run, state: StateDir, tmp_path: Path) -> None:
    config = tmp_path / "tandemctl.toml"
    config.write_text('tenant = "file-org/ws"\nlock_timeout = 3\nactor = "from-file"\n')
    from_file = settings(tandemctl("--config", str(config), "-o", "json", "config", "show"))
    assert from_file["tenant"] == ("file-org/ws", "file")
    assert from_file["lock_timeout"] == (3.0, "file")
    assert from_file["actor"] == ("from-file", "file")
    env = {"TANDEMCTL_TENANT": "env-org/ws", "TANDEMCTL_CONFIG": str(config)}
    from_env = settings(tandemctl("-o", "json", "config", "show", env=env))
    assert from_env["tenant"] == ("env-org/ws", "env TANDEMCTL_TENANT")
    assert from_env["lock_timeout"] == (3.0, "file")
    from_flag = settings(tandemctl("--tenant", "flag-org/ws", "--lock-timeout", "7", "-o", "json", "config", "show",
                                   env=env))
    assert from_flag["tenant"] == ("flag-org/ws", "flag")
    assert from_flag["lock_timeout"] == (7.0, "flag")
    shown = tandemctl("-o", "json", "config", "show", env=env).json()["data"]["config_file"]
    assert shown == {"path": str(config), "source": "env TANDEMCTL_CONFIG", "exists": True}


def test_show_table(tandemctl: Run) -> None:
    result = tandemctl("--tenant", "acme/ops", "config", "show")
    assert result.exit_code == 0
    assert any(line.split() == ["tenant", "acme/ops", "flag"] for line in result.stdout.splitlines())


def test_init_writes_a_starter_file_that_reads_back(tandemctl: Run, state: StateDir, tmp_path: Path) -> None:
    target = tmp_path / "conf" / "config.toml"
    result = tandemctl("--config", str(target), "--tenant", "acme/ops", "config", "init")
    assert result.exit_code == 0, result.stderr
    written = tomllib.loads(target.read_text())
    assert written == {"lock_timeout": 10.0, "mode": "offline", "output": "table", "state_dir": str(state.root),
                       "tenant": "acme/ops"}
    shown = settings(tandemctl("--config", str(target), "-o", "json", "config", "show"))
    assert shown["tenant"] == ("acme/ops", "file")


def test_init_refuses_to_overwrite_without_force(tandemctl: Run, tmp_path: Path) -> None:
    target = tmp_path / "config.toml"
    target.write_text('tenant = "keep/me"\n')
    refused = tandemctl("--config", str(target), "config", "init")
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert target.read_text() == 'tenant = "keep/me"\n'
    forced = tandemctl("--config", str(target), "config", "init", "--force")
    assert forced.exit_code == 0
    assert "keep/me" not in target.read_text()


def test_init_at_the_default_location(tandemctl: Run, tmp_path: Path) -> None:
    result = tandemctl("-o", "json", "config", "init")
    assert result.exit_code == 0, result.stderr
    path = Path(result.json()["data"]["path"])
    assert path == tmp_path / "xdg-config" / "tandemctl" / "config.toml" and path.is_file()
