"""Automation-v2 definitions: the spec model, the snapshot-override rule, the definition hash and the
descendant walk (spec 02 §3); loading them from disk is the stores' job."""

import hashlib
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from tandemctl.engine import jsonio
from tandemctl.engine.models import U32, U64
from tandemctl.engine.rows import Row
from tandemctl.engine.validation import field_error

RECOVERED_CONTEXT_RUN: Final = "recovered_context_run"
TERMINAL_STATUSES: Final = frozenset({"completed", "blocked", "failed", "cancelled"})


class _Spec(BaseModel):
    # serde ignores unknown keys; the raw dict keeps them.
    model_config = ConfigDict(extra="allow", frozen=True)


class ScheduleType(StrEnum):
    MANUAL = "manual"
    INTERVAL = "interval"
    CRON = "cron"


class MisfirePolicy(_Spec):
    type: Literal["skip", "run_once", "catch_up"]
    max_runs: U32 | None = None


class Schedule(_Spec):
    type: ScheduleType
    cron_expression: StrictStr | None = None
    interval_seconds: U64 | None = None
    timezone: StrictStr
    misfire_policy: MisfirePolicy


class FlowNode(_Spec):
    node_id: StrictStr
    agent_id: StrictStr
    objective: StrictStr
    depends_on: list[StrictStr] = Field(default_factory=list)
    metadata: Any = None


class Flow(_Spec):
    nodes: list[FlowNode] = Field(default_factory=list)


class AutomationV2Spec(_Spec):
    """The keys a strict serde parse of `AutomationV2Spec` requires (spec 02 §3.2)."""

    automation_id: StrictStr
    name: StrictStr
    status: Literal["active", "paused", "draft"]
    schedule: Schedule
    flow: Flow
    execution: dict[str, Any]
    created_at_ms: U64
    updated_at_ms: U64
    creator_id: StrictStr
    metadata: Any = None


def validate_spec(value: Any) -> str | None:
    """None when `value` parses as an AutomationV2Spec, else a one-line reason."""
    try:
        AutomationV2Spec.model_validate(value)
    except ValidationError as exc:
        return field_error(exc)
    return None


def definition_hash(spec: Row) -> str:
    """`sha256:` + hex SHA-256 of the compact JSON, in the spec's own key order (spec 02 §3.4)."""
    return "sha256:" + hashlib.sha256(jsonio.dumps_compact(spec)).hexdigest()


def automation_node_ids(automation: Row) -> list[str]:
    return [node["node_id"] for node in automation.get("flow", {}).get("nodes", [])]


def collect_automation_descendants(automation: Row, roots: Iterable[str]) -> set[str]:
    """`collect_automation_descendants` (automation/logic_parts/part01.rs): roots plus
    every transitive dependent along `depends_on`."""
    found = set(roots)
    nodes = automation.get("flow", {}).get("nodes", [])
    changed = True
    while changed:
        changed = False
        for node in nodes:
            node_id = node["node_id"]
            if node_id not in found and any(dep in found for dep in node.get("depends_on", [])):
                found.add(node_id)
                changed = True
    return found


class DefinitionUnavailable(Exception):
    """`automation_definition_for_restart_recovery` failed; `reason` is the engine's code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Definitions:
    """The engine's in-memory definitions, loaded on first use only (an unparseable shard
    must not stop a sweep that never needs a live definition)."""

    def __init__(self, load: Callable[[], dict[str, Row]], hot_runs: Callable[[], Iterable[Row]]) -> None:
        self._load = load
        self._hot_runs = hot_runs
        self._loaded: dict[str, Row] | None = None

    def get(self, automation_id: str) -> Row | None:
        if self._loaded is None:
            self._loaded = self._load()
            recover_automation_definitions_from_run_snapshots(self._loaded, self._hot_runs())
        return self._loaded.get(automation_id)


def recover_automation_definitions_from_run_snapshots(definitions: dict[str, Row], hot_runs: Iterable[Row]) -> None:
    """`recover_automation_definitions_from_run_snapshots`: a newer run snapshot replaces the
    definition; a context-recovered one only fills a gap. Hot runs are walked in file order
    (the engine's HashMap order is arbitrary), with a strictly-newer rule for ties."""
    context_only: set[str] = set()
    for run in hot_runs:
        snapshot = run.get("automation_snapshot")
        if not isinstance(snapshot, dict):
            continue
        recovered = run.get("trigger_type") == RECOVERED_CONTEXT_RUN
        if recovered and run.get("status") not in TERMINAL_STATUSES:
            continue
        automation_id = snapshot["automation_id"]
        existing = definitions.get(automation_id)
        if existing is None:
            definitions[automation_id] = snapshot
            if recovered:
                context_only.add(automation_id)
        elif (not recovered or automation_id in context_only) and snapshot["updated_at_ms"] > existing["updated_at_ms"]:
            definitions[automation_id] = snapshot
            if not recovered:
                context_only.discard(automation_id)


def automation_definition_for_restart_recovery(run: Row, definitions: Definitions) -> Row:
    """`automation_definition_for_restart_recovery` (automation_v2_startup_recovery.rs):
    the run's snapshot first, else the live definition if its hash matches the recorded one."""
    snapshot = run.get("automation_snapshot")
    if isinstance(snapshot, dict):
        return snapshot
    live = definitions.get(run["automation_id"])
    if live is None:
        raise DefinitionUnavailable("missing_automation_snapshot")
    recorded = run.get("workflow_definition_snapshot_hash")
    if recorded is not None and recorded != definition_hash(live):
        raise DefinitionUnavailable("definition_snapshot_hash_mismatch")
    return live
