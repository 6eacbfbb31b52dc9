"""Automation definitions (spec 02 §3): spec objects, flow graphs, phases, and the graph rules
the dispatcher applies to them (descendants, blocked-node refresh)."""

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from benchmarks._catalog import AGENTS, STEP_NAMES, Tenant, build_scope
from benchmarks._format import DAY_MS, HOUR_MS, definition_hash, sort_json

MANUAL_SCHEDULE: Final = {"type": "manual", "timezone": "UTC", "misfire_policy": {"type": "skip"}}


@dataclass(frozen=True, slots=True)
class Node:
    node_id: str
    agent_id: str
    objective: str
    depends_on: tuple[str, ...] = ()
    phase_id: str | None = None


@dataclass(frozen=True, slots=True)
class Definition:
    """One stored version of an automation; `spec` is the exact object written to disk."""

    automation_id: str
    spec: dict[str, Any]
    nodes: tuple[Node, ...]
    phases: tuple[tuple[str, str], ...]
    updated_at_ms: int
    snapshot_hash: str
    version: str
    node_ids: tuple[str, ...]  # flow order


@dataclass(frozen=True, slots=True)
class Automation:
    automation_id: str
    tenant: Tenant
    scope: dict[str, Any]
    versions: tuple[Definition, ...]  # oldest first; the last one is the live definition

    @property
    def live(self) -> Definition:
        return self.versions[-1]

    def version_at(self, created_at_ms: int) -> Definition:
        """The definition a run created at that time snapshotted."""
        chosen = self.versions[0]
        for version in self.versions:
            if version.updated_at_ms <= created_at_ms:
                chosen = version
        return chosen


def build_definition(*, automation_id: str, name: str, description: str, tenant: Tenant,
                     nodes: Sequence[Node], phases: Sequence[tuple[str, str]] = (),
                     created_at_ms: int, updated_at_ms: int, creator_id: str,
                     schedule: dict[str, Any] = MANUAL_SCHEDULE, max_parallel_agents: int = 1,
                     definition_version: str | None = None) -> Definition:
    # Key order is our best reading of AutomationV2Spec's declaration order (spec 02 §3.2).
    flow_nodes = []
    for node in nodes:
        entry: dict[str, Any] = {"node_id": node.node_id, "agent_id": node.agent_id,
                                 "objective": node.objective, "depends_on": list(node.depends_on)}
        if node.phase_id is not None:
            entry["metadata"] = {"builder": {"phase_id": node.phase_id}}
        flow_nodes.append(entry)
    metadata: dict[str, Any] = {"tenant_context": tenant.context}
    if phases:
        metadata["mission"] = {"phases": [{"phase_id": phase_id, "execution_mode": mode}
                                          for phase_id, mode in phases]}
    if definition_version is not None:
        metadata["definition_version"] = definition_version
    spec: dict[str, Any] = {
        "automation_id": automation_id, "name": name, "description": description,
        "status": "active", "schedule": schedule, "flow": {"nodes": flow_nodes},
        "execution": {"max_parallel_agents": max_parallel_agents},
        "created_at_ms": created_at_ms, "updated_at_ms": updated_at_ms,
        "creator_id": creator_id, "metadata": sort_json(metadata),
    }
    spec_hash = definition_hash(spec)
    version = definition_version or f"automation:{automation_id}@{spec_hash[7:23]}"
    return Definition(automation_id, spec, tuple(nodes), tuple(phases), updated_at_ms,
                      spec_hash, version, tuple(node.node_id for node in nodes))


def descendants(definition: Definition, roots: Iterable[str]) -> set[str]:
    # collect_automation_descendants: the roots plus every transitive dependent.
    result = set(roots)
    changed = True
    while changed:
        changed = False
        for node in definition.nodes:
            if node.node_id not in result and any(dep in result for dep in node.depends_on):
                result.add(node.node_id)
                changed = True
    return result & set(definition.node_ids)


def open_phase(definition: Definition, completed: set[str]) -> tuple[str, int, str] | None:
    """(phase_id, rank, execution_mode) of the lowest-ranked phase with unfinished nodes."""
    ranks = {phase_id: rank for rank, (phase_id, _) in enumerate(definition.phases)}
    open_ranks = [ranks[node.phase_id] for node in definition.nodes
                  if node.node_id not in completed and node.phase_id in ranks]
    if not open_ranks:
        return None
    phase_id, mode = definition.phases[min(open_ranks)]
    return phase_id, min(open_ranks), mode


def blocked_nodes(definition: Definition, completed: set[str], pending: set[str]) -> list[str]:
    # refresh_automation_runtime_state, rules (a) and (c); no plan_package is generated.
    ranks = {phase_id: rank for rank, (phase_id, _) in enumerate(definition.phases)}
    current = open_phase(definition, completed)
    blocked = []
    for node in definition.nodes:
        if node.node_id not in pending:
            continue
        missing = any(dep not in completed for dep in node.depends_on)
        barrier = (current is not None and current[2] == "barrier"
                   and node.phase_id in ranks and ranks[node.phase_id] > current[1])
        if missing or barrier:
            blocked.append(node.node_id)
    return blocked


def random_automation(rng: random.Random, index: int, tenant: Tenant, now_ms: int) -> Automation:
    """An automation with 3–20 nodes, a `depends_on` DAG, optional phases and maybe a v2 edit."""
    automation_id = f"{rng.choice(STEP_NAMES).replace('_', '-')}-{index:03d}"
    # Most flows are short; a long tail reaches 20 nodes.
    names = rng.sample(STEP_NAMES, 3 + min(17, int(rng.expovariate(0.25))))
    phased = rng.random() < 0.4
    phase_count = min(3, len(names))
    phases = tuple((f"phase_{i + 1}", rng.choice(("barrier", "soft"))) for i in range(phase_count))
    nodes = []
    for position, step in enumerate(names):
        earlier = names[:position]
        deps = tuple(sorted(rng.sample(earlier, min(len(earlier), rng.choice((1, 1, 1, 2))))))
        phase = phases[position * phase_count // len(names)][0] if phased else None
        nodes.append(Node(step, rng.choice(AGENTS), step.replace("_", " ").capitalize(),
                          deps if position else (), phase))
    created = now_ms - rng.randint(70, 120) * DAY_MS
    common: dict[str, Any] = {
        "automation_id": automation_id, "tenant": tenant, "phases": phases if phased else (),
        "created_at_ms": created, "creator_id": tenant.operators[0],
        "name": automation_id.replace("-", " ").title(),
        "schedule": rng.choice((MANUAL_SCHEDULE, {
            "type": "cron", "cron_expression": "0 6 * * *", "timezone": "UTC",
            "misfire_policy": {"type": "run_once"}}, {
            "type": "interval", "interval_seconds": 3600, "timezone": "Europe/Berlin",
            "misfire_policy": {"type": "catch_up", "max_runs": 3}})),
    }
    labelled = rng.random() < 0.3
    edited = len(nodes) > 3 and rng.random() < 0.25
    versions = [build_definition(nodes=nodes[:-1] if edited else nodes,
                                 description="Generated automation",
                                 updated_at_ms=created + rng.randint(1, 96) * HOUR_MS,
                                 definition_version=f"v{index}.1" if labelled else None, **common)]
    if edited:  # a node was added recently: runs before the edit keep the older snapshot
        versions.append(build_definition(nodes=nodes, description="Generated automation (edited)",
                                         updated_at_ms=now_ms - rng.randint(5, 30) * DAY_MS,
                                         definition_version=f"v{index}.2" if labelled else None,
                                         **common))
    scope = build_scope(tenant, automation_id, rng)
    return Automation(automation_id, tenant, scope, tuple(versions))
