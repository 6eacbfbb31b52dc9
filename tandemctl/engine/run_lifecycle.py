"""Run-checkpoint bookkeeping the dispatcher relies on: lifecycle events and the blocked-node
refresh with barrier phases and hard routine dependencies (spec 02 §2.5–§2.6).

Mirrors `app/state/automation/lifecycle.rs` and `automation/logic_parts/part01.rs`.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from tandemctl.engine import jsonio
from tandemctl.engine.rows import Row

DEFAULT_PHASE_MODE = "soft"


def record_automation_lifecycle_event_with_metadata(
    run: Row, event: str, reason: str | None, stop_kind: str | None, metadata: Any, *, now_ms: int
) -> None:
    """`record_automation_lifecycle_event_with_metadata` (lifecycle.rs): append one event,
    with the run's execution profile added to its metadata (keys sorted, as serde_json writes a Value)."""
    profile = run.get("effective_execution_profile") or "strict"
    if metadata is None:
        meta: Any = {"effective_execution_profile": profile}
    elif isinstance(metadata, dict):
        meta = {"effective_execution_profile": profile, **metadata}
    else:
        meta = {"value": metadata, "effective_execution_profile": profile}
    entry: Row = {"event": event, "recorded_at_ms": now_ms}
    if reason is not None:
        entry["reason"] = reason
    if stop_kind is not None:
        entry["stop_kind"] = stop_kind
    entry["metadata"] = jsonio.sort_keys_deep(meta)
    run["checkpoint"].setdefault("lifecycle_history", []).append(entry)


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _Step(_Shape):
    step_id: StrictStr


class _RoutineDependency(_Shape):
    routine_id: StrictStr
    mode: StrictStr


class _Routine(_Shape):
    routine_id: StrictStr
    steps: list[_Step]
    dependencies: list[_RoutineDependency]


class _PlanPackage(_Shape):
    routine_graph: list[_Routine]


@dataclass(frozen=True)
class _Phase:
    phase_id: str
    rank: int
    mode: str


def refresh_automation_runtime_state(automation: Row, run: Row, *, now_ms: int) -> None:
    """`refresh_automation_runtime_state` (automation/logic_parts/part01.rs): recompute
    `blocked_nodes`, then record `phase_opened` when the open phase changed."""
    checkpoint = run["checkpoint"]
    completed = set(checkpoint.get("completed_nodes", []))
    pending = set(checkpoint.get("pending_nodes", []))
    nodes = automation.get("flow", {}).get("nodes", [])
    phases = _mission_phases(automation)
    open_phase = _open_phase(nodes, completed, phases)
    routine_blocked = _routine_blocked_steps(automation, completed)
    blocked = []
    for node in nodes:
        node_id = node["node_id"]
        if node_id not in pending:
            continue
        if (
            any(dep not in completed for dep in node.get("depends_on", []))
            or node_id in routine_blocked
            or _behind_barrier(node, phases, open_phase)
        ):
            blocked.append(node_id)
    checkpoint["blocked_nodes"] = blocked
    if open_phase is not None and _last_opened_phase(checkpoint) != open_phase.phase_id:
        record_automation_lifecycle_event_with_metadata(
            run, "phase_opened", f"phase `{open_phase.phase_id}` is now open", None,
            {"phase_id": open_phase.phase_id, "phase_rank": open_phase.rank, "execution_mode": open_phase.mode},
            now_ms=now_ms,
        )


def _mission_phases(automation: Row) -> dict[str, _Phase]:
    """`metadata.mission.phases[]`; the rank is the first index of each phase id."""
    metadata = automation.get("metadata")
    mission = metadata.get("mission") if isinstance(metadata, dict) else None
    raw = mission.get("phases") if isinstance(mission, dict) else None
    phases: dict[str, _Phase] = {}
    for rank, phase in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(phase, dict) or not isinstance(phase.get("phase_id"), str):
            continue
        mode = phase.get("execution_mode")
        phases.setdefault(phase["phase_id"], _Phase(phase["phase_id"], rank,
                                                    mode if isinstance(mode, str) else DEFAULT_PHASE_MODE))
    return phases


def _node_phase(node: Row) -> str | None:
    metadata = node.get("metadata")
    builder = metadata.get("builder") if isinstance(metadata, dict) else None
    phase_id = builder.get("phase_id") if isinstance(builder, dict) else None
    return phase_id if isinstance(phase_id, str) else None


def _open_phase(nodes: list[Row], completed: set[str], phases: dict[str, _Phase]) -> _Phase | None:
    """The lowest-ranked phase among the nodes not yet completed."""
    open_ranks = [
        phases[phase_id]
        for node in nodes
        if node["node_id"] not in completed and (phase_id := _node_phase(node)) in phases
    ]
    return min(open_ranks, key=lambda phase: phase.rank, default=None)


def _behind_barrier(node: Row, phases: dict[str, _Phase], open_phase: _Phase | None) -> bool:
    if open_phase is None or open_phase.mode != "barrier":
        return False
    phase = phases.get(_node_phase(node) or "")
    return phase is not None and phase.rank > open_phase.rank


def _routine_blocked_steps(automation: Row, completed: set[str]) -> set[str]:
    """Steps of routines with a `hard` dependency on a routine whose steps are not all done.
    The rule is skipped when `metadata.plan_package` does not parse as a plan package."""
    metadata = automation.get("metadata")
    raw = metadata.get("plan_package") if isinstance(metadata, dict) else None
    if raw is None:
        return set()
    try:
        package = _PlanPackage.model_validate(raw)
    except ValidationError:
        return set()
    routines = {routine.routine_id: routine for routine in package.routine_graph}
    blocked: set[str] = set()
    for routine in package.routine_graph:
        for dependency in routine.dependencies:
            upstream = routines.get(dependency.routine_id)
            if dependency.mode == "hard" and upstream is not None and any(
                step.step_id not in completed for step in upstream.steps
            ):
                blocked.update(step.step_id for step in routine.steps)
    return blocked


def _last_opened_phase(checkpoint: Row) -> str | None:
    for event in reversed(checkpoint.get("lifecycle_history", [])):
        if event.get("event") == "phase_opened":
            metadata = event.get("metadata")
            phase_id = metadata.get("phase_id") if isinstance(metadata, dict) else None
            return phase_id if isinstance(phase_id, str) else None
    return None
