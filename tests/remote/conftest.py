"""Fixtures for live-mode tests: a started `FakeEngine` per test, stopped afterwards."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.remote.fake_engine import FakeEngine


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
