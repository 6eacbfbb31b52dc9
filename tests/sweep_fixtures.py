"""Builders for sweep tests: engine-shaped runs, definitions, shards and a state dir wrapper.

The "group A" fixture follows spec 02 §7 ("Common fixtures for group A").
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tandemctl.engine.run_records import canonical_run
from tandemctl.engine.run_store import shard_relpath
from tandemctl.stores.paths import StatePaths
from tests.factories import dead_letter, tenant, write_json, write_store

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
TENANT_A = tenant("org-hardening-a", "workspace-a", actor="user-a")
TENANT_B = tenant("org-hardening-b", "workspace-b", actor="user-b")
AUTOMATION_ID = "automation-dead-letter"
RUN_ID = "automation-v2-run-hardening"
FLOW = (("draft", ()), ("review", ("draft",)), ("approval", ("review",)))

__all__ = ["NOW", "RUN_ID", "TENANT_A", "TENANT_B", "SweepDir", "dead_letter", "definition", "group_a_dead_letter",
           "run_record", "tenant"]


def definition(automation_id: str = AUTOMATION_ID, flow: tuple[tuple[str, tuple[str, ...]], ...] = FLOW, *,
               updated: int = 900, metadata: Any = None, node_phases: dict[str, str] | None = None) -> dict[str, Any]:
    nodes = []
    for node_id, deps in flow:
        node: dict[str, Any] = {"node_id": node_id, "agent_id": "agent-1", "objective": f"Do {node_id}",
                                "depends_on": list(deps)}
        if node_phases and node_id in node_phases:
            node["metadata"] = {"builder": {"phase_id": node_phases[node_id]}}
        nodes.append(node)
    spec: dict[str, Any] = {
        "automation_id": automation_id, "name": f"Automation {automation_id}", "status": "active",
        "schedule": {"type": "manual", "timezone": "UTC", "misfire_policy": {"type": "run_once"}},
        "flow": {"nodes": nodes}, "execution": {"max_parallel_agents": 1},
        "created_at_ms": 100, "updated_at_ms": updated, "creator_id": "ops",
    }
    if metadata is not None:
        spec["metadata"] = metadata
    return spec


def run_record(run_id: str = RUN_ID, *, status: str = "failed", completed: tuple[str, ...] = ("draft",),
               blocked: tuple[str, ...] = ("review",), pending: tuple[str, ...] = (),
               tenant_context: dict[str, Any] | None = None, snapshot: dict[str, Any] | None = None,
               with_snapshot: bool = True, updated: int = 2000, created: int = 1000,
               **extra: Any) -> dict[str, Any]:
    """The group-A base run: webhook, created 1000, updated 2000, started 1050, failed on `review`."""
    record: dict[str, Any] = {
        "run_id": run_id, "automation_id": AUTOMATION_ID, "tenant_context": tenant_context or TENANT_A,
        "trigger_type": "webhook", "status": status, "created_at_ms": created, "updated_at_ms": updated,
        "started_at_ms": 1050,
        "checkpoint": {"completed_nodes": list(completed), "pending_nodes": list(pending),
                       "node_outputs": {node: {"status": "completed"} for node in completed},
                       "node_attempts": dict.fromkeys(completed, 1),
                       "blocked_nodes": list(blocked)},
        "workflow_definition_version": "v-hardening", "workflow_definition_snapshot_hash": "sha256:hardening",
    }
    if with_snapshot:
        record["automation_snapshot"] = snapshot or definition()
    record.update(extra)
    return canonical_run(record)


def group_a_dead_letter(dead_letter_id: str = "dead-review-effect", *, status: str = "retry_requested",
                        tenant_context: dict[str, Any] | None = None, run_id: str | None = RUN_ID,
                        updated: int = 1460, **extra: Any) -> dict[str, Any]:
    return dead_letter(dead_letter_id, status=status, created=1450, updated=updated, run_id=run_id,
                       tenant_context=tenant_context or TENANT_A, options=("retry", "compensate"), **extra)


@dataclass
class SweepDir:
    root: Path

    @property
    def paths(self) -> StatePaths:
        data = self.root / "data"
        return StatePaths(data_dir=data, source="test", reliability_file=data / "runtime" / "stateful_reliability.json",
                          journal_file=data / "runtime" / "tandemctl-journal.jsonl")

    def write_runs(self, runs: list[dict[str, Any]], *, version: int | None = 1) -> bytes:
        mapping = {run["run_id"]: run for run in runs}
        value = mapping if version is None else {"schema_version": version, "runs": mapping}
        return write_json(self.paths.runs_file, value)

    def write_shard(self, record: dict[str, Any], rel: str | None = None, *, envelope: bool = True) -> Path:
        path = self.paths.shard_root / (rel or shard_relpath(record))
        write_json(path, {"schema_version": 1, "run": record} if envelope else record)
        return path

    def write_definitions(self, *specs: dict[str, Any]) -> None:
        for spec in specs:
            write_json(self.paths.definitions_dir / f"{spec['automation_id']}.json", spec)
        index = {"schema_version": 1, "definitions": [
            {"automation_id": s["automation_id"], "path": f"{s['automation_id']}.json",
             "updated_at_ms": s["updated_at_ms"]} for s in specs]}
        write_json(self.paths.definitions_dir / "index.json", index)

    def write_legacy_definitions(self, *specs: dict[str, Any]) -> None:
        write_json(self.paths.legacy_definitions_file, {spec["automation_id"]: spec for spec in specs})

    def write_dead_letters(self, rows: list[dict[str, Any]]) -> bytes:
        return write_store(self.paths.reliability_file, rows)

    def runs_file(self) -> Any:
        return json.loads(self.paths.runs_file.read_bytes())

    def run(self, run_id: str = RUN_ID) -> dict[str, Any]:
        return self.runs_file()["runs"][run_id]  # type: ignore[no-any-return]

    def dead_letters(self) -> dict[str, dict[str, Any]]:
        top = json.loads(self.paths.reliability_file.read_bytes())
        return {row["dead_letter_id"]: row for row in top["dead_letters"]}

    def audit(self) -> list[dict[str, Any]]:
        path = self.paths.audit_file
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]

    def files(self) -> dict[str, bytes]:
        """Every state file's bytes, without tandemctl's lock and temp files."""
        out = {}
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.endswith((".tandemctl.lock", ".tandemctl.tmp")):
                out[str(path.relative_to(self.root))] = path.read_bytes()
        return out

