"""Shared fixtures: an isolated environment, a state dir, and the bound `tandemctl` runner."""

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tandemctl.cli.app import app

NOW_MS = 1_795_737_600_000
pytest_plugins = ["tests.pg_server"]


def pytest_configure(config: pytest.Config) -> None:
    # Nothing a test runs may read or write the real user's home (tandemctl's cache and config
    # live there): the whole session, subprocesses included, gets a throwaway one.
    home = Path(tempfile.mkdtemp(prefix="tandemctl-tests-home-"))
    os.environ["HOME"] = str(home)
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"), ("XDG_DATA_HOME", ".local/share")):
        os.environ[var] = str(home / sub)


@dataclass
class StateDir:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def reliability(self) -> Path:
        return self.data / "runtime" / "stateful_reliability.json"

    @property
    def journal(self) -> Path:
        return self.data / "runtime" / "tandemctl-journal.jsonl"


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture(autouse=True)
def isolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for var in ("TANDEM_STATE_DIR", "TANDEM_HOME", "TANDEMCTL_TENANT", "TANDEMCTL_OUTPUT", "TANDEMCTL_ACTOR",
                "TANDEMCTL_CONFIG", "TANDEM_ENGINE_URL", "TANDEM_ENGINE_PORT", "TANDEMCTL_FAULT_AFTER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("TANDEMCTL_NOW_MS", str(NOW_MS))
    monkeypatch.setenv("USER", "ops-tester")
    yield


@pytest.fixture
def state(tmp_path: Path) -> StateDir:
    root = tmp_path / "state"
    (root / "data" / "runtime").mkdir(parents=True)
    return StateDir(root)


@pytest.fixture
def tandemctl(state: StateDir) -> Callable[..., Result]:
    """`tandemctl("dead-letters", "list")` runs in-process against `state` (global opts first)."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        argv = ["--state-dir", str(state.root), *args]
        result = runner.invoke(app, argv, input=input, env=env, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    return invoke
