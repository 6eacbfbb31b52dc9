"""Fixtures for live-mode tests: a started `FakeEngine` per test, stopped afterwards."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result
from tests.remote.fake_engine import FakeEngine
from tests.remote.live_helpers import TOKEN, Live, seed


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[Callable[..., FakeEngine]]:
    """`engine_factory(version="0.7.2", token=None, ...)`: a started engine on `<tmp>/engine-<n>`."""
    started: list[FakeEngine] = []

    def start(**options: Any) -> FakeEngine:
        root = options.pop("root", tmp_path / f"engine-{len(started)}")
        engine = FakeEngine(root, **options).start()
        started.append(engine)
        return engine

    yield start
    for engine in started:
        engine.stop()


@pytest.fixture
def fake_engine(engine_factory: Callable[..., FakeEngine]) -> FakeEngine:
    """A ready v0.6.6 engine with a token (`fake_engine.token`) and an empty data dir."""
    return engine_factory()


@pytest.fixture
def clean_live_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No token, engine host, mode or state dir leaks in from the environment running the tests."""
    for var in ("TANDEM_API_TOKEN", "TANDEM_API_TOKEN_FILE", "TANDEM_ENGINE_HOST", "TANDEMCTL_MODE",
                "XDG_STATE_HOME"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def live(clean_live_env: None, engine_factory: Callable[..., FakeEngine], tandemctl: Callable[..., Result]) -> Live:
    """A fake engine with a token, seeded with two runs and three dead letters, and the CLI aimed at it."""
    engine = engine_factory(token=TOKEN)
    seed(engine)
    return Live(engine, tandemctl)
