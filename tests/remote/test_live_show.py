"""The triage commands through a running engine: the run comes from its resume plan (real HTTP)."""

from collections.abc import Callable

import pytest

from tests.remote.fake_engine import FakeEngine
from tests.remote.live_helpers import Live

Factory = Callable[..., FakeEngine]


@pytest.fixture(autouse=True)
def _clean_env(clean_live_env: None) -> None:
    """Every test here runs without the live-mode variables of the environment."""


def test_runs_show_reads_the_run_from_the_engines_resume_plan(live: Live) -> None:
    result = live.cli("-o", "json", "runs", "show", "run-a")
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert data["run"]["run_id"] == "run-a"
    assert [row["dead_letter_id"] for row in data["dead_letters"]] == ["dead-retry", "dead-open"]
    assert live.engine.count("GET", "/stateful-runtime/runs/{run_id}/resume-plan") >= 1


def test_runs_show_of_a_run_the_engine_does_not_hold_is_not_found(live: Live) -> None:
    result = live.cli("runs", "show", "run-gone")
    assert result.exit_code == 3
    assert "run-gone" in result.stderr


def test_show_explains_that_the_live_engine_decides(live: Live) -> None:
    result = live.cli("-o", "json", "dead-letters", "show", "dead-retry")
    assert result.exit_code == 0, result.stderr
    assert result.json()["data"]["dead_letter"]["dead_letter_id"] == "dead-retry"
