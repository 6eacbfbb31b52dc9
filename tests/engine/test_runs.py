"""The run store: both hot-file shapes, strictness, corrupt entries, shards, the lookup rule,
`update_automation_v2_run` and `canonical_run`."""

import json
from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine.jsonio import dumps_pretty
from tandemctl.engine.run_records import canonical_run, run_validation_error
from tandemctl.engine.run_store import HotRuns, RunStore, apply_update_rules, parse_runs_file, shard_relpath
from tandemctl.errors import CorruptStateError, UnsupportedStateError
from tandemctl.stores.json_runs import read_shard, shard_reader
from tests.factories import write_json
from tests.sweep_fixtures import NOW, RUN_ID, TENANT_A, run_record

UPSTREAM = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "upstream"
P = Path("automation_v2_runs.json")


def parse(value: Any) -> HotRuns:
    return parse_runs_file(json.dumps(value).encode(), P)


@pytest.mark.parametrize("text", [b"", b"  \n", b"{}", b" {} "])
def test_empty_files_are_an_empty_store(text: bytes) -> None:
    assert parse_runs_file(text, P).entries == {}
    assert parse_runs_file(None, P).entries == {}


def test_v0_map_and_v1_envelope() -> None:
    run = run_record()
    v0 = parse({RUN_ID: run})
    v1 = parse({"schema_version": 1, "runs": {RUN_ID: run}})
    assert (v0.version, v1.version) == (0, 1)
    assert v0.record(RUN_ID) == v1.record(RUN_ID) == run
    assert json.loads(v0.serialize()) == {"schema_version": 1, "runs": {RUN_ID: run}}


def test_runs_are_keyed_by_their_own_id() -> None:
    hot = parse({"schema_version": 1, "runs": {"some-other-key": run_record()}})
    assert hot.run_ids() == [RUN_ID]
    assert hot.record(RUN_ID) is not None


@pytest.mark.parametrize("version", [2, 999])
def test_newer_schema_is_unsupported(version: int) -> None:
    with pytest.raises(UnsupportedStateError, match="newer than supported"):
        parse({"schema_version": version, "runs": {}})


@pytest.mark.parametrize("top", [
    {"schema_version": -1, "runs": {}}, {"schema_version": 2**32, "runs": {}}, {"schema_version": "1", "runs": {}},
    {"schema_version": 1.0, "runs": {}}, {"schema_version": 1}, {"schema_version": 1, "runs": []},
    [], {"schema_version": 1, "runs": {"a": 5}},
])
def test_malformed_files_are_corrupt(top: Any) -> None:
    with pytest.raises(CorruptStateError):
        parse(top)


def test_corrupt_entry_without_automation_id_fails_the_whole_load() -> None:
    with pytest.raises(CorruptStateError, match="automation_id"):
        parse({"schema_version": 1, "runs": {"x": {"run_id": "x", "status": "failed"}}})


@pytest.mark.parametrize(("change", "field"), [
    ({"status": "Failed"}, "status"),
    ({"created_at_ms": -1}, "created_at_ms"),
    ({"updated_at_ms": 1.5}, "updated_at_ms"),
    ({"trigger_type": None}, "trigger_type"),
    ({"stop_kind": "exploded"}, "stop_kind"),
    ({"effective_execution_profile": "wild"}, "effective_execution_profile"),
    ({"active_session_ids": None}, "active_session_ids"),
    ({"checkpoint": {"node_attempts": {"a": -1}}}, "checkpoint.node_attempts.a"),
])
def test_strict_record_validation(change: dict[str, Any], field: str) -> None:
    error = run_validation_error({**run_record(), **change})
    assert error is not None and field in error


def test_missing_required_key_is_an_error() -> None:
    record = run_record()
    del record["checkpoint"]
    assert "checkpoint" in (run_validation_error(record) or "")


def test_corrupt_entry_becomes_a_blocked_run_in_memory() -> None:
    entry = {"run_id": "bad", "automation_id": "auto", "status": "nope", "tenant_context": TENANT_A,
             "updated_at_ms": 77}
    hot = parse({"schema_version": 1, "runs": {"bad": entry}})
    record = hot.record("bad")
    assert record is not None and "bad" in hot.corrupt
    assert record["status"] == "blocked"
    assert record["tenant_context"] == TENANT_A
    assert record["checkpoint"]["blocked_nodes"] == ["checkpoint"]
    assert record["checkpoint"]["last_failure"]["failure_kind"] == "checkpoint_recovery_failed"
    assert record["checkpoint"]["last_failure"]["node_id"] == "checkpoint"
    assert record["checkpoint"]["lifecycle_history"][0]["event"] == "run_blocked_corrupt_checkpoint"
    assert record["detail"].startswith("automation run checkpoint could not be parsed during startup: ")
    assert hot.entries["bad"] == entry  # written back as it was


def test_unchanged_entries_serialize_byte_identically() -> None:
    odd = {"run_id": "odd", "zzz": [1, {"b": 2, "a": 1}], **run_record("odd")}
    data = dumps_pretty({"schema_version": 1, "runs": {"odd": odd, RUN_ID: run_record()}})
    hot = parse_runs_file(data, P)
    assert hot.serialize() == data


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="shared upstream fixtures not available")
def test_upstream_fixtures_parse() -> None:
    v0 = parse_runs_file((UPSTREAM / "automation_v2_runs_v0_map.json").read_bytes(), P)
    v1 = parse_runs_file((UPSTREAM / "automation_v2_runs_v1_envelope.json").read_bytes(), P)
    awaiting = v0.record("run-fixture-awaiting")
    assert awaiting is not None and awaiting["status"] == "awaiting_approval" and not v0.corrupt
    assert awaiting["checkpoint"]["awaiting_gate"]["node_id"] == "approval_gate"
    assert v1.version == 1 and v1.record("run-fixture-versioned") is not None and not v1.corrupt
    assert json.loads(v0.serialize())["runs"]["run-fixture-awaiting"]["status"] == "awaiting_approval"


@pytest.mark.parametrize(("updated", "created", "expected"), [
    (NOW, 1000, "2026/01"), (1000, NOW, "2026/01"), (2000, 1000, "1970/01"),
    (1_772_323_200_000, 0, "2026/03"), (1_772_323_199_999, 0, "2026/02"),
])
def test_shard_path_is_the_utc_month_of_the_later_timestamp(updated: int, created: int, expected: str) -> None:
    record = run_record("run id/with:odd chars", updated=updated, created=created)
    assert shard_relpath(record) == f"{expected}/run_id_with_odd_chars.json"


def test_read_shard_shapes(tmp_path: Path) -> None:
    record = run_record()
    write_json(tmp_path / "envelope.json", {"schema_version": 1, "run": record})
    write_json(tmp_path / "bare.json", record)
    write_json(tmp_path / "newer.json", {"schema_version": 2, "run": record})
    write_json(tmp_path / "invalid.json", {"schema_version": 1, "run": {**record, "status": "odd"}})
    (tmp_path / "garbage.json").write_bytes(b"{nope")
    assert read_shard(tmp_path / "envelope.json") == record
    assert read_shard(tmp_path / "bare.json") == record
    for name in ("newer.json", "invalid.json", "garbage.json", "missing.json"):
        assert read_shard(tmp_path / name) is None


def store_with(tmp_path: Path, hot: list[dict[str, Any]], shards: list[dict[str, Any]]) -> RunStore:
    for record in shards:
        write_json(tmp_path / "shards" / shard_relpath(record), {"schema_version": 1, "run": record})
    entries = {record["run_id"]: record for record in hot}
    return RunStore(HotRuns(path=tmp_path / "runs.json", version=1, entries=entries), shard_reader(tmp_path / "shards"))


def test_lookup_prefers_hot_unless_history_has_more_detail(tmp_path: Path) -> None:
    hot = run_record(with_snapshot=False)
    history = run_record()
    assert store_with(tmp_path / "a", [hot], [history]).get_automation_v2_run(RUN_ID) == history
    same = run_record(status="blocked")
    assert store_with(tmp_path / "b", [same], [run_record()]).get_automation_v2_run(RUN_ID) == same
    more_outputs = run_record(completed=("draft", "review"))
    assert store_with(tmp_path / "c", [run_record()], [more_outputs]).get_automation_v2_run(RUN_ID) == more_outputs
    context = run_record(runtime_context={"k": 1})
    assert store_with(tmp_path / "d", [run_record()], [context]).get_automation_v2_run(RUN_ID) == context
    assert store_with(tmp_path / "e", [], [history]).get_automation_v2_run(RUN_ID) == history
    assert store_with(tmp_path / "f", [hot], []).get_automation_v2_run(RUN_ID) == hot
    assert store_with(tmp_path / "g", [], []).get_automation_v2_run(RUN_ID) is None


def test_lookup_history_with_a_pending_gate(tmp_path: Path) -> None:
    gate = {"node_id": "review", "title": "Approve", "requested_at_ms": 500}
    history = run_record(status="awaiting_approval")
    history["checkpoint"]["awaiting_gate"] = gate
    hot = run_record(status="queued")
    assert store_with(tmp_path / "a", [hot], [history]).get_automation_v2_run(RUN_ID) == history
    decided = run_record(status="queued")
    decided["checkpoint"]["gate_history"] = [{"node_id": "review", "decision": "approve", "decided_at_ms": 600}]
    assert store_with(tmp_path / "b", [decided], [history]).get_automation_v2_run(RUN_ID) == decided
    terminal = run_record(status="failed")
    assert store_with(tmp_path / "c", [terminal], [history]).get_automation_v2_run(RUN_ID) == terminal


def test_stale_month_shards_pick_the_newest(tmp_path: Path) -> None:
    old = run_record(updated=2000)
    new = run_record(status="blocked", updated=NOW)
    store = store_with(tmp_path, [], [new, old])
    assert store.history(RUN_ID) == new
    assert sorted(p.relative_to(tmp_path / "shards").as_posix() for p in (tmp_path / "shards").rglob("*.json")) == [
        f"1970/01/{RUN_ID}.json", f"2026/01/{RUN_ID}.json"]


def test_recovered_context_runs_that_are_not_terminal_are_hidden(tmp_path: Path) -> None:
    hidden = run_record(status="queued", trigger_type="recovered_context_run")
    assert store_with(tmp_path / "a", [hidden], [hidden]).get_automation_v2_run(RUN_ID) is None
    shown = run_record(status="blocked", trigger_type="recovered_context_run")
    assert store_with(tmp_path / "b", [shown], []).get_automation_v2_run(RUN_ID) == shown


def test_update_hydrates_a_shard_only_run_into_the_hot_map(tmp_path: Path) -> None:
    store = store_with(tmp_path, [], [run_record()])

    def cancel(row: dict[str, Any]) -> None:
        row["status"] = "cancelled"
        row["detail"] = "operator cancelled"

    updated = store.update_automation_v2_run(RUN_ID, cancel, NOW)
    assert updated is not None
    assert store.hot.entries[RUN_ID] is updated
    assert (updated["status"], updated["updated_at_ms"], updated["finished_at_ms"]) == ("cancelled", NOW, NOW)
    assert store.get_automation_v2_run(RUN_ID) == updated
    assert store.update_automation_v2_run("automation-v2-run-none", cancel, NOW) is None


@pytest.mark.parametrize(("status", "keeps_scheduler", "keeps_claim", "finished"), [
    ("queued", True, False, None), ("running", False, True, None), ("failed", False, False, NOW),
    ("paused", False, False, None),
])
def test_update_rules(status: str, keeps_scheduler: bool, keeps_claim: bool, finished: int | None) -> None:
    row: dict[str, Any] = {"status": status, "scheduler": {"x": 1}, "execution_claim": {"y": 2}, "updated_at_ms": 1}
    apply_update_rules(row, NOW)
    assert (row["scheduler"] is not None, row["execution_claim"] is not None) == (keeps_scheduler, keeps_claim)
    assert row["updated_at_ms"] == NOW
    assert row.get("finished_at_ms") == finished


def test_canonical_run_orders_keys_and_fills_serde_defaults() -> None:
    minimal = {"checkpoint": {"pending_nodes": ["b"], "zz": 1}, "status": "queued", "updated_at_ms": 5,
               "created_at_ms": 5, "trigger_type": "manual", "automation_id": "a", "run_id": "r", "custom": True,
               "estimated_cost_usd": 0, "finished_at_ms": None, "scheduler": {"queued_at_ms": 3}}
    out = canonical_run(minimal)
    assert list(out) == ["run_id", "automation_id", "tenant_context", "trigger_type", "status", "created_at_ms",
                         "updated_at_ms", "active_session_ids", "active_instance_ids", "checkpoint",
                         "execution_claim_epoch", "prompt_tokens", "completion_tokens", "total_tokens",
                         "estimated_cost_usd", "scheduler", "effective_execution_profile", "custom"]
    assert out["tenant_context"] == {"org_id": "local", "workspace_id": "local", "source": "local_implicit"}
    assert list(out["checkpoint"]) == ["completed_nodes", "pending_nodes", "node_outputs", "node_attempts",
                                       "node_attempt_verdicts", "blocked_nodes", "gate_history", "lifecycle_history",
                                       "zz"]
    assert out["scheduler"] == {"tenant_context": out["tenant_context"], "queue_reason": None, "queued_at_ms": 3}
    assert b'"estimated_cost_usd": 0.0' in dumps_pretty(out)
    assert run_validation_error(out) is None
    assert canonical_run(out) == out
