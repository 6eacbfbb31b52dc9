"""Blocked-node refresh (spec 02 §2.6, §7.H 45–46) and lifecycle events (§2.5)."""

from typing import Any

import pytest

from tandemctl.engine.run_lifecycle import (
    record_automation_lifecycle_event_with_metadata,
    refresh_automation_runtime_state,
)
from tests.sweep_fixtures import NOW, definition

PHASED_FLOW = (("collect", ()), ("publish", ()))


def run(pending: list[str], completed: list[str] | None = None, profile: str | None = None,
        history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"checkpoint": {"pending_nodes": pending, "completed_nodes": completed or [],
                                             "blocked_nodes": ["stale"], "lifecycle_history": history or []}}
    if profile:
        record["effective_execution_profile"] = profile
    return record


def phased(first_mode: str) -> dict[str, Any]:
    phases = [{"phase_id": "phase_1", "execution_mode": first_mode}, {"phase_id": "phase_2", "execution_mode": "soft"}]
    return definition(flow=PHASED_FLOW, metadata={"mission": {"phases": phases}},
                      node_phases={"collect": "phase_1", "publish": "phase_2"})


def test_h45_barrier_open_phase_blocks_later_phases() -> None:
    row = run(["collect", "publish"])
    refresh_automation_runtime_state(phased("barrier"), row, now_ms=NOW)
    assert row["checkpoint"]["blocked_nodes"] == ["publish"]


def test_h45_soft_phases_block_nothing() -> None:
    row = run(["collect", "publish"])
    refresh_automation_runtime_state(phased("soft"), row, now_ms=NOW)
    assert row["checkpoint"]["blocked_nodes"] == []


def test_barrier_lifts_once_the_phase_completes() -> None:
    row = run(["publish"], completed=["collect"])
    refresh_automation_runtime_state(phased("barrier"), row, now_ms=NOW)
    assert row["checkpoint"]["blocked_nodes"] == []
    assert row["checkpoint"]["lifecycle_history"][-1]["metadata"]["phase_id"] == "phase_2"


def routine_spec(plan_package: Any) -> dict[str, Any]:
    return definition(flow=(("step_a", ()), ("step_b", ())), metadata={"plan_package": plan_package})


ROUTINES = {"routine_graph": [
    {"routine_id": "routine_a", "steps": [{"step_id": "step_a"}], "dependencies": []},
    {"routine_id": "routine_b", "steps": [{"step_id": "step_b"}],
     "dependencies": [{"routine_id": "routine_a", "mode": "hard"}]},
]}


def test_h46_hard_routine_dependency_blocks_until_upstream_completes() -> None:
    row = run(["step_a", "step_b"])
    refresh_automation_runtime_state(routine_spec(ROUTINES), row, now_ms=NOW)
    assert row["checkpoint"]["blocked_nodes"] == ["step_b"]
    done = run(["step_b"], completed=["step_a"])
    refresh_automation_runtime_state(routine_spec(ROUTINES), done, now_ms=NOW)
    assert done["checkpoint"]["blocked_nodes"] == []


def test_soft_routine_dependency_and_unparseable_plan_block_nothing() -> None:
    soft = {"routine_graph": [ROUTINES["routine_graph"][0], {**ROUTINES["routine_graph"][1], "dependencies": [
        {"routine_id": "routine_a", "mode": "soft"}]}]}
    for package in (soft, {"routine_graph": "nope"}, [1, 2]):
        row = run(["step_a", "step_b"])
        refresh_automation_runtime_state(routine_spec(package), row, now_ms=NOW)
        assert row["checkpoint"]["blocked_nodes"] == []


def test_missing_dependency_blocks_in_flow_order() -> None:
    spec = definition(flow=(("c", ("b",)), ("a", ()), ("b", ("a",))))
    row = run(["b", "a", "c"])
    refresh_automation_runtime_state(spec, row, now_ms=NOW)
    assert row["checkpoint"]["blocked_nodes"] == ["c", "b"]
    assert row["checkpoint"]["lifecycle_history"] == []  # no phases, no phase_opened


def test_phase_opened_is_recorded_once_per_open_phase() -> None:
    row = run(["collect", "publish"], profile="guided")
    refresh_automation_runtime_state(phased("barrier"), row, now_ms=NOW)
    refresh_automation_runtime_state(phased("barrier"), row, now_ms=NOW + 1)
    assert row["checkpoint"]["lifecycle_history"] == [{
        "event": "phase_opened", "recorded_at_ms": NOW, "reason": "phase `phase_1` is now open",
        "metadata": {"effective_execution_profile": "guided", "execution_mode": "barrier", "phase_id": "phase_1",
                     "phase_rank": 0},
    }]


@pytest.mark.parametrize(("metadata", "expected"), [
    (None, {"effective_execution_profile": "strict"}),
    ({"z": 1, "a": {"y": 1, "b": 2}}, {"a": {"b": 2, "y": 1}, "effective_execution_profile": "strict", "z": 1}),
    ({"effective_execution_profile": "custom"}, {"effective_execution_profile": "custom"}),
    ("text", {"effective_execution_profile": "strict", "value": "text"}),
])
def test_lifecycle_event_metadata(metadata: Any, expected: dict[str, Any]) -> None:
    row = run([])
    record_automation_lifecycle_event_with_metadata(row, "evt", None, "cancelled", metadata, now_ms=NOW)
    [event] = row["checkpoint"]["lifecycle_history"]
    assert event == {"event": "evt", "recorded_at_ms": NOW, "stop_kind": "cancelled", "metadata": expected}
    assert list(event["metadata"]) == sorted(event["metadata"])
