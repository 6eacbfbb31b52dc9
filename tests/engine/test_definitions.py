"""Definitions: shard store vs legacy aggregate, the snapshot-override rule, the hash, the
restart-recovery choice and the descendant walk."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine.definitions import (
    Definitions,
    DefinitionUnavailable,
    automation_definition_for_restart_recovery,
    collect_automation_descendants,
    definition_hash,
    recover_automation_definitions_from_run_snapshots,
    validate_spec,
)
from tandemctl.errors import CorruptStateError
from tandemctl.stores.json_definitions import load_definitions
from tests.factories import write_json
from tests.sweep_fixtures import definition, run_record


def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "automations-v2", tmp_path / "automations_v2.json"


def test_shards_are_keyed_by_their_own_id_and_index_is_ignored(tmp_path: Path) -> None:
    shard_dir, legacy = dirs(tmp_path)
    write_json(shard_dir / "whatever-name.json", definition("auto-1"))
    write_json(shard_dir / "index.json", {"schema_version": 1, "definitions": "not a spec"})
    write_json(legacy, {"auto-2": definition("auto-2")})
    assert list(load_definitions(shard_dir, legacy)) == ["auto-1"]


def test_legacy_aggregate_is_used_without_shards(tmp_path: Path) -> None:
    shard_dir, legacy = dirs(tmp_path)
    write_json(shard_dir / "index.json", {"schema_version": 1, "definitions": []})
    write_json(legacy, {"auto-2": definition("auto-2")})
    assert list(load_definitions(shard_dir, legacy)) == ["auto-2"]


@pytest.mark.parametrize("text", [b"", b"{}", b"{broken", b'{"auto-2": {"automation_id": "auto-2"}}'])
def test_unusable_legacy_aggregate_counts_as_empty(tmp_path: Path, text: bytes) -> None:
    shard_dir, legacy = dirs(tmp_path)
    legacy.write_bytes(text)
    assert load_definitions(shard_dir, legacy) == {}


@pytest.mark.parametrize("content", [b"{nope", json.dumps({"automation_id": "x"}).encode()])
def test_unparseable_shard_names_the_file_but_only_when_used(tmp_path: Path, content: bytes) -> None:
    shard_dir, legacy = dirs(tmp_path)
    shard_dir.mkdir()
    (shard_dir / "broken.json").write_bytes(content)
    definitions = Definitions(lambda: load_definitions(shard_dir, legacy), list)  # constructing it reads nothing
    with pytest.raises(CorruptStateError, match=r"broken\.json"):
        definitions.get("x")


def test_spec_validation_names_the_field() -> None:
    assert validate_spec(definition()) is None
    assert "status" in (validate_spec({**definition(), "status": "enabled"}) or "")
    assert "flow.nodes.0.agent_id" in (validate_spec({**definition(), "flow": {"nodes": [{"node_id": "a",
                                                                                        "objective": "o"}]}}) or "")


def test_hash_is_sha256_of_compact_json_in_file_key_order() -> None:
    spec = {"automation_id": "a", "name": "ü", "metadata": {"z": 1, "a": 2}}
    compact = json.dumps(spec, separators=(",", ":"), ensure_ascii=False).encode()
    assert definition_hash(spec) == "sha256:" + hashlib.sha256(compact).hexdigest()
    assert definition_hash(dict(reversed(spec.items()))) != definition_hash(spec)


def snapshot_run(spec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return run_record(snapshot=spec, **extra)


def test_newer_run_snapshot_replaces_the_definition() -> None:
    defs = {"automation-dead-letter": definition(updated=5)}
    recover_automation_definitions_from_run_snapshots(defs, [snapshot_run(definition(updated=9))])
    assert defs["automation-dead-letter"]["updated_at_ms"] == 9
    recover_automation_definitions_from_run_snapshots(defs, [snapshot_run(definition(updated=3))])
    assert defs["automation-dead-letter"]["updated_at_ms"] == 9


def test_snapshot_fills_a_missing_definition() -> None:
    defs: dict[str, dict[str, Any]] = {}
    recover_automation_definitions_from_run_snapshots(defs, [snapshot_run(definition(updated=1))])
    assert list(defs) == ["automation-dead-letter"]


def test_context_recovered_snapshot_never_replaces_a_real_definition() -> None:
    defs = {"automation-dead-letter": definition(updated=5)}
    recovered = snapshot_run(definition(updated=99), trigger_type="recovered_context_run", status="blocked")
    recover_automation_definitions_from_run_snapshots(defs, [recovered])
    assert defs["automation-dead-letter"]["updated_at_ms"] == 5
    pending = snapshot_run(definition(updated=99), trigger_type="recovered_context_run", status="queued")
    empty: dict[str, dict[str, Any]] = {}
    recover_automation_definitions_from_run_snapshots(empty, [pending])
    assert empty == {}


def test_restart_recovery_definition_choice(tmp_path: Path) -> None:
    shard_dir, legacy = dirs(tmp_path)
    live = definition(flow=(("only", ()),))
    write_json(shard_dir / "a.json", live)
    definitions = Definitions(lambda: load_definitions(shard_dir, legacy), list)
    snap = definition()
    assert automation_definition_for_restart_recovery(
        run_record(snapshot=snap, workflow_definition_snapshot_hash="sha256:other"), definitions) == snap
    matching = run_record(with_snapshot=False, workflow_definition_snapshot_hash=definition_hash(live))
    assert automation_definition_for_restart_recovery(matching, definitions) == live
    unrecorded = run_record(with_snapshot=False)
    del unrecorded["workflow_definition_snapshot_hash"]
    assert automation_definition_for_restart_recovery(unrecorded, definitions) == live
    with pytest.raises(DefinitionUnavailable) as mismatch:
        automation_definition_for_restart_recovery(run_record(with_snapshot=False), definitions)
    assert mismatch.value.reason == "definition_snapshot_hash_mismatch"
    with pytest.raises(DefinitionUnavailable) as missing:
        automation_definition_for_restart_recovery(run_record(with_snapshot=False, automation_id="nope"), definitions)
    assert missing.value.reason == "missing_automation_snapshot"


@pytest.mark.parametrize(("roots", "expected"), [
    ({"post"}, {"post", "notify"}),
    ({"fetch"}, {"fetch", "post", "notify", "audit"}),
    ({"notify"}, {"notify"}),
    ({"ghost"}, {"ghost"}),
])
def test_descendants_follow_depends_on(roots: set[str], expected: set[str]) -> None:
    spec = definition(flow=(("fetch", ()), ("post", ("fetch",)), ("notify", ("post",)), ("audit", ("fetch", "x"))))
    assert collect_automation_descendants(spec, roots) == expected


def test_descendants_reach_nodes_listed_before_their_dependency() -> None:
    spec = definition(flow=(("c", ("b",)), ("b", ("a",)), ("a", ())))
    assert collect_automation_descendants(spec, {"a"}) == {"a", "b", "c"}
