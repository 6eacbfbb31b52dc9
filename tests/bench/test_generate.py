"""Tests of the deterministic state generator (benchmarks/generate.py) and the shipped sample."""

import hashlib
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

# benchmarks/ is not part of the installed package: import it from this checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.generate import GeneratedState, generate_state

REPO = Path(__file__).resolve().parents[2]
NOW = 1_795_737_600_000


def words(text: str) -> list[str]:
    return text.split()


N = 400
SCOPE = words("schema_version tenant_context owning_org_unit_id owner_principal resource_scope "
              "data_classes risk_tier policy_version_id delegation_grant_ids")
TENANT = words("org_id workspace_id deployment_id actor_id source")
PRINCIPAL = words("kind id tenant_actor_id issuer subject")
RECORDS = {  # spec 01 §4: declaration order, then the keys always written
    "outbox": (words(
        "schema_version outbox_id run_id scope operation status source_kind source_id node_id "
        "provider tool target idempotency_key payload_digest policy_decision_id "
        "context_assertion_id effect_id receipt_id compensation_id dead_letter_id attempts "
        "created_at_ms updated_at_ms claimed_by claimed_at_ms claim_expires_at_ms metadata"),
        words("schema_version outbox_id scope operation status attempts created_at_ms "
              "updated_at_ms")),
    "tool_effects": (words(
        "schema_version effect_id outbox_id action_id run_id scope status operation source_kind "
        "source_id node_id provider tool target external_resource policy_decision_id "
        "context_assertion_id input_digest output_digest receipt_payload_digest "
        "receipt_payload_redacted receipt_pointer redaction_tier audit_hash error "
        "compensation_id created_at_ms updated_at_ms metadata"),
        words("schema_version effect_id scope status operation redaction_tier audit_hash "
              "created_at_ms updated_at_ms")),
    "dead_letters": (words(
        "schema_version dead_letter_id source_type source_id run_id scope reason status "
        "recovery_options payload_pointer compensation_id attempts created_at_ms updated_at_ms "
        "operator_disposition disposition_reason disposition_actor disposition_at_ms metadata"),
        words("schema_version dead_letter_id source_type source_id scope reason status "
              "recovery_options attempts created_at_ms updated_at_ms")),
    "compensations": (words(
        "schema_version compensation_id run_id scope status compensation_type target_effect_id "
        "outbox_id approval_required policy_decision_id rollback_instruction "
        "forward_fix_instruction receipt_effect_id attempts created_at_ms updated_at_ms metadata"),
        words("schema_version compensation_id scope status compensation_type approval_required "
              "attempts created_at_ms updated_at_ms")),
}
RUN = words(  # spec 02 §2.1 and §2.3
    "run_id automation_id tenant_context trigger_type status created_at_ms updated_at_ms "
    "started_at_ms finished_at_ms active_session_ids latest_session_id active_instance_ids "
    "checkpoint runtime_context automation_snapshot workflow_definition_version "
    "workflow_definition_snapshot_hash execution_claim execution_claim_epoch pause_reason "
    "resume_reason detail stop_kind stop_reason prompt_tokens completion_tokens total_tokens "
    "estimated_cost_usd scheduler trigger_reason consumed_handoff_id learning_summary "
    "effective_execution_profile requested_execution_profile")
CHECKPOINT = words("completed_nodes pending_nodes node_outputs node_attempts node_attempt_verdicts "
                   "blocked_nodes awaiting_gate gate_history lifecycle_history last_failure")
FREE_FORM = ("metadata", "external_resource", "receipt_payload_redacted")


def load(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_order(obj: dict[str, Any], order: list[str], required: Sequence[str] = ()) -> None:
    keys = list(obj)
    assert set(keys) <= set(order), set(keys) - set(order)
    assert keys == sorted(keys, key=order.index), keys
    assert set(required) <= set(keys), set(required) - set(keys)


def assert_sorted_json(value: Any) -> None:
    if isinstance(value, dict):
        assert list(value) == sorted(value)
        for item in value.values():
            assert_sorted_json(item)
    elif isinstance(value, list):
        for item in value:
            assert_sorted_json(item)


def runs_by_id(data_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    hot = load(data_dir / "automation_v2_runs.json")["runs"]
    shards = {p.stem: load(p)["run"]
              for p in (data_dir / "automation-runs" / "automation_v2_runs").rglob("*.json")}
    return hot, shards


def backoff(count: int) -> int:
    return min(1000 << min(count, 20), 300_000)


def sweep_decisions(data_dir: Path, now_ms: int) -> dict[str, str]:
    """What the server's sweep (spec 02 §4) would do with each dead letter, re-derived here."""
    hot, shards = runs_by_id(data_dir)
    decisions = {}
    for dl in load(data_dir / "runtime" / "stateful_reliability.json")["dead_letters"]:
        run = hot.get(dl.get("run_id")) or shards.get(dl.get("run_id"))
        meta = dl.get("metadata") or {}
        count = meta.get("retry_dispatch_count", 0)
        if (dl["status"] not in ("retry_requested", "retrying") or dl["source_type"] != "tool_effect"
                or "retry" not in dl["recovery_options"] or run is None):
            continue
        tenant, mine = run["tenant_context"], dl["scope"]["tenant_context"]
        if any(tenant.get(key) != mine.get(key) for key in TENANT[:3]):
            continue
        if (meta.get("superseded_by_success") is True and meta.get("superseded_by_effect_id")
                and type(meta.get("superseded_at_ms")) is int):
            decisions[dl["dead_letter_id"]] = "resolve"
        elif count >= 5:
            decisions[dl["dead_letter_id"]] = "exhaust"
        elif run["status"] in ("failed", "blocked"):
            at = meta.get("retry_dispatched_at_ms")
            checkpoint, nodes = run["checkpoint"], run["automation_snapshot"]["flow"]["nodes"]
            roots = set(checkpoint["blocked_nodes"]) | {checkpoint["last_failure"]["node_id"]}
            assert roots & {node["node_id"] for node in nodes}
            waiting = at is not None and now_ms < at + backoff(count)
            decisions[dl["dead_letter_id"]] = "backoff" if waiting else "dispatch"
    return decisions


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> GeneratedState:
    return generate_state(tmp_path_factory.mktemp("state"), dead_letters=N, seed=11, now_ms=NOW)


def test_same_arguments_give_byte_identical_files(tmp_path: Path) -> None:
    first = generate_state(tmp_path / "a", dead_letters=150, seed=3, now_ms=NOW)
    second = generate_state(tmp_path / "b", dead_letters=150, seed=3, now_ms=NOW)
    other = generate_state(tmp_path / "c", dead_letters=150, seed=4, now_ms=NOW)
    assert tree(first.data_dir) == tree(second.data_dir)
    assert tree(first.data_dir) != tree(other.data_dir)


def test_every_file_parses_and_is_in_server_layout(state: GeneratedState) -> None:
    for path in state.data_dir.rglob("*.json"):
        raw = path.read_bytes()
        assert orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2) == raw, path
    raw = state.reliability_file.read_bytes()
    assert not raw.endswith(b"\n") and b"\\u" not in raw and "é".encode() in raw
    assert list(load(state.reliability_file)) == [
        "schema_version", "outbox", "tool_effects", "dead_letters", "compensations"]


def test_records_follow_declaration_order_and_sort_free_form_json(state: GeneratedState) -> None:
    store = load(state.reliability_file)
    for name, (order, required) in RECORDS.items():
        rows = store[name]
        assert [r["updated_at_ms"] for r in rows] == sorted((r["updated_at_ms"] for r in rows),
                                                            reverse=True)
        for row in rows:
            assert_order(row, order, required)
            assert_order(row["scope"], SCOPE, SCOPE[:2])
            assert_order(row["scope"]["tenant_context"], TENANT, ["org_id", "workspace_id", "source"])
            if "disposition_actor" in row:
                assert_order(row["disposition_actor"], PRINCIPAL, ["kind", "id"])
            assert all(row[key] is not None for key in row if key not in FREE_FORM)
            for key in FREE_FORM:
                assert_sorted_json(row.get(key))
            for key, value in row.items():
                assert not key.endswith("_ms") or (type(value) is int and value <= NOW)


def test_bridge_proportions_and_ids(state: GeneratedState) -> None:
    store = load(state.reliability_file)
    outbox = {row["outbox_id"]: row for row in store["outbox"]}
    effects = {row["effect_id"]: row for row in store["tool_effects"]}
    dead = store["dead_letters"]
    assert len(dead) == N == state.dead_letters
    for row in store["outbox"]:
        if row["source_kind"] == "external_action":
            key = row["idempotency_key"].encode() + b"\0"
            assert row["outbox_id"] == f"outbox-{hashlib.sha256(key).hexdigest()[:16]}"
    waits = [dl for dl in dead if dl["source_type"] == "stateful_wait"]
    assert len(waits) == round(N * 0.03) == state.wait_dead_letters
    assert all(dl["recovery_options"] == ["ignore", "compensate"] for dl in waits)
    assert all(dl["dead_letter_id"].startswith("dead-letter-wait-") for dl in waits)
    tools = [dl for dl in dead if dl["source_type"] == "tool_effect"]
    for dl in tools:
        effect = effects[dl["source_id"]]
        assert dl["dead_letter_id"] == f"dead-letter-{effect['effect_id']}"
        assert dl["recovery_options"] == ["retry", "ignore", "compensate"]
        replayed = (dl.get("metadata") or {}).get("superseded_by_success") is True
        assert effect["status"] == ("succeeded" if replayed else "failed")
        assert outbox[effect["outbox_id"]]["status"] == ("sent" if replayed else "failed")
    with_comp = sum("compensation_id" in dl for dl in tools) / len(tools)
    assert 0.2 < with_comp < 0.45
    assert any(row["status"] == "sent" and "dead_letter_id" not in row for row in store["outbox"])
    statuses = Counter(dl["status"] for dl in dead)
    assert set(statuses) == {"open", "retry_requested", "retrying", "ignored",
                             "linked_to_compensation", "resolved"}
    assert statuses == state.status_counts
    dispositions = {dl.get("operator_disposition") for dl in dead}
    assert dispositions >= {None, "retry_requested", "ignored", "linked_to_compensation",
                            "reviewed", "retry_succeeded", "retry_exhausted"}


def test_retry_candidates_match_an_independent_sweep(state: GeneratedState) -> None:
    decisions = sweep_decisions(state.data_dir, NOW)
    dispatch = {dl for dl, what in decisions.items() if what == "dispatch"}
    assert dispatch == set(state.retry_candidate_ids)
    assert state.retry_candidates == round(N * 0.10) == len(dispatch)
    counts = Counter(decisions.values())
    assert counts["resolve"] == state.expected_resolutions
    assert counts["exhaust"] == state.expected_exhaustions
    assert counts["backoff"] == state.in_backoff
    dead = {dl["dead_letter_id"]: dl for dl in load(state.reliability_file)["dead_letters"]}
    assert len({dead[dl]["run_id"] for dl in dispatch}) == len(dispatch)
    assert all(dead[dl]["status"] == "retry_requested" for dl in dispatch)
    assert {dead[dl]["scope"]["tenant_context"]["org_id"] for dl in dispatch} >= {"local", "acme"}


def test_dead_letters_name_existing_runs_unless_dangling(state: GeneratedState) -> None:
    hot, shards = runs_by_id(state.data_dir)
    dead = load(state.reliability_file)["dead_letters"]
    missing = {dl["dead_letter_id"] for dl in dead if dl["run_id"] not in hot | shards}
    assert missing == set(state.dangling_ids)
    assert set(hot) <= set(shards) and len(shards) == state.runs
    assert len(hot) == state.hot_runs and state.shard_only_runs > 0


def test_runs_hot_file_and_shards(state: GeneratedState) -> None:
    hot, _ = runs_by_id(state.data_dir)
    statuses = set()
    for path in state.shards_dir.rglob("*.json"):
        run = load(path)["run"]
        stamp = max(run["updated_at_ms"], run["created_at_ms"])
        month = datetime.fromtimestamp(stamp / 1000, tz=UTC).strftime("%Y/%m")
        assert path.parent.relative_to(state.shards_dir).as_posix() == month
        assert re.fullmatch(r"automation-v2-run-[0-9a-f-]{36}", run["run_id"])
        assert_order(run, RUN, [*RUN[:7], "checkpoint"])
        assert_order(run["checkpoint"], CHECKPOINT)
        old = run["updated_at_ms"] <= NOW - 7 * 86_400_000
        terminal = run["status"] in ("completed", "blocked", "failed", "cancelled")
        assert (run["run_id"] in hot) == (not (terminal and old))
        if run["run_id"] in hot:
            assert hot[run["run_id"]] == run
        nodes = [node["node_id"] for node in run["automation_snapshot"]["flow"]["nodes"]]
        checkpoint = run["checkpoint"]
        assert set(checkpoint["blocked_nodes"]) | set(checkpoint["pending_nodes"]) <= set(nodes)
        for event in checkpoint["lifecycle_history"]:
            assert_sorted_json(event["metadata"])
        statuses.add(run["status"])
    assert statuses >= {"failed", "blocked", "completed", "queued", "running", "paused"}


def test_definitions_are_dags_and_match_run_tenants(state: GeneratedState) -> None:
    index = load(state.definitions_dir / "index.json")
    ids = [entry["automation_id"] for entry in index["definitions"]]
    assert ids == sorted(ids) and len(ids) == state.definitions
    tenants = {}
    for automation_id in ids:
        spec = load(state.definitions_dir / f"{automation_id}.json")
        assert list(spec)[:2] == ["automation_id", "name"]
        assert {"status", "schedule", "flow", "execution", "created_at_ms", "updated_at_ms",
                "creator_id"} <= set(spec)
        seen: list[str] = []
        for node in spec["flow"]["nodes"]:
            assert list(node)[:4] == ["node_id", "agent_id", "objective", "depends_on"]
            assert set(node["depends_on"]) <= set(seen)
            seen.append(node["node_id"])
        assert 3 <= len(seen) <= 20 and len(set(seen)) == len(seen)
        assert_sorted_json(spec["metadata"])
        tenants[automation_id] = spec["metadata"]["tenant_context"]
    _, shards = runs_by_id(state.data_dir)
    for run in shards.values():
        assert dict(sorted(run["tenant_context"].items())) == tenants[run["automation_id"]]
    sources = {(t["org_id"], t["source"]) for t in tenants.values()}
    assert ("local", "local_implicit") in sources and len(sources) >= 3


def test_compact_hot_strips_snapshots_of_terminal_hot_runs(tmp_path: Path) -> None:
    state = generate_state(tmp_path, dead_letters=60, now_ms=NOW, compact_hot=True)
    hot, shards = runs_by_id(state.data_dir)
    for run_id, run in hot.items():
        terminal = run["status"] in ("completed", "blocked", "failed", "cancelled")
        assert ("automation_snapshot" in run) != terminal
        assert "automation_snapshot" in shards[run_id]


def test_script_writes_state_and_refuses_to_overwrite(tmp_path: Path) -> None:
    command = [sys.executable, str(REPO / "benchmarks" / "generate.py"), str(tmp_path),
               "--dead-letters", "30", "--seed", "5"]
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    expected = generate_state(tmp_path / "again", dead_letters=30, seed=5)
    assert tree(tmp_path / "data") == tree(expected.data_dir)
    assert subprocess.run(command, capture_output=True, check=False).returncode != 0
    assert subprocess.run([*command, "--force"], capture_output=True, check=False).returncode == 0


def test_shipped_sample_is_current_and_gives_a_sweep_work(tmp_path: Path) -> None:
    shipped = REPO / "examples" / "state" / "data"
    script = REPO / "examples" / "make_sample.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True)
    assert tree(tmp_path / "data") == tree(shipped)
    for path in shipped.rglob("*.json"):
        raw = path.read_bytes()
        assert orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2) == raw, path
    dead = {dl["dead_letter_id"]: dl
            for dl in load(shipped / "runtime" / "stateful_reliability.json")["dead_letters"]}
    hot, shards = runs_by_id(shipped)
    decisions = sweep_decisions(shipped, NOW)
    dispatch = [dead[dl] for dl, what in decisions.items() if what == "dispatch"]
    assert sorted(dl["scope"]["tenant_context"]["org_id"] for dl in dispatch) == ["acme", "local"]
    assert any(dl["run_id"] in shards and dl["run_id"] not in hot for dl in dispatch)
    assert sorted(what for what in decisions.values() if what != "dispatch") == [
        "backoff", "exhaust", "resolve"]
    assert {dl["status"] for dl in dead.values()} == {
        "open", "retry_requested", "retrying", "ignored", "linked_to_compensation", "resolved"}
    assert any(dl["source_type"] == "stateful_wait" for dl in dead.values())
    assert {dl["scope"]["tenant_context"]["org_id"] for dl in dead.values()} >= {
        "local", "acme", "globex"}
