"""Sweeps over the state shapes the server leaves: several dead letters per run, shard-only runs,
stale month shards, the v0 runs file, definitions from shards or the legacy aggregate, corrupt entries."""

import json
from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine.definitions import definition_hash
from tandemctl.engine.jsonio import dumps_pretty
from tandemctl.errors import UnsupportedStateError
from tandemctl.stores.json_runs import read_shard
from tests.stores.test_sweep import sweep
from tests.sweep_fixtures import (
    NOW,
    RUN_ID,
    TENANT_A,
    TENANT_B,
    SweepDir,
    definition,
    group_a_dead_letter,
    run_record,
)

DAY = 86_400_000


@pytest.fixture
def d(tmp_path: Path) -> SweepDir:
    return SweepDir(tmp_path / "state")


def lifecycle_events(run: dict[str, Any], name: str = "stateful_dead_letter_retry_requeued") -> int:
    return sum(1 for event in run["checkpoint"]["lifecycle_history"] if event["event"] == name)


def test_several_dead_letters_on_one_run_requeue_it_once(d: SweepDir) -> None:
    d.write_runs([run_record()])
    d.write_dead_letters([group_a_dead_letter("dead-newer", updated=1470),
                          group_a_dead_letter("dead-older", updated=1460)])
    outcome = sweep(d)
    assert outcome.acted == 1
    assert [item.dead_letter_id for item in outcome.dispatched] == ["dead-newer"]
    # Re-read per dead letter: the second sees the run already queued.
    assert [(s.dead_letter_id, s.reason) for s in outcome.skipped] == [("dead-older", "run_not_recoverable:queued")]
    assert lifecycle_events(d.run()) == 1
    assert len(d.audit()) == 1
    assert d.dead_letters()["dead-older"]["status"] == "retry_requested"


def test_stale_history_copy_uses_the_requeued_runs_shortcut(d: SweepDir) -> None:
    # The hot copy was compacted (no snapshot); the newest shard is a stale failed copy with more detail,
    # dated after the sweep's clock, so the re-read after the requeue still returns it.
    full = run_record(updated=NOW + 40 * DAY)
    hot = run_record(with_snapshot=False)
    d.write_runs([hot])
    stale_path = d.write_shard(full)
    d.write_dead_letters([group_a_dead_letter("dead-newer", updated=1470),
                          group_a_dead_letter("dead-older", updated=1460)])
    outcome = sweep(d)
    assert outcome.acted == 2
    assert [item.dead_letter_id for item in outcome.dispatched] == ["dead-newer", "dead-older"]
    assert outcome.dispatched[1].reset_nodes == ["approval", "review"]
    assert outcome.runs_requeued == [RUN_ID]
    assert lifecycle_events(d.run()) == 1
    assert len(d.audit()) == 1
    assert {row["status"] for row in d.dead_letters().values()} == {"retrying"}
    assert read_shard(stale_path) == full
    # A later sweep still sees the stale failed copy, but the row it would mutate is queued.
    later = sweep(d, now=NOW + 300_000)
    assert [s.reason for s in later.skipped] == ["requeue_impossible:run_status:queued"] * 2
    assert len(d.audit()) == 1


def test_shard_only_run_is_inserted_into_the_hot_file(d: SweepDir) -> None:
    other = run_record("automation-v2-run-other", status="completed")
    d.write_runs([other])
    old_shard = d.write_shard(run_record())  # updated 2000 -> 1970/01
    old_bytes = old_shard.read_bytes()
    d.write_dead_letters([group_a_dead_letter()])
    assert sweep(d).acted == 1
    runs = d.runs_file()["runs"]
    assert list(runs) == ["automation-v2-run-other", RUN_ID]
    assert runs["automation-v2-run-other"] == other
    assert runs[RUN_ID]["status"] == "queued"
    assert old_shard.relative_to(d.paths.shard_root).as_posix() == f"1970/01/{RUN_ID}.json"
    assert old_shard.read_bytes() == old_bytes  # the old month is left alone, like the engine
    new_shard = d.paths.shard_root / "2026" / "01" / f"{RUN_ID}.json"
    assert json.loads(new_shard.read_bytes()) == {"schema_version": 1, "run": runs[RUN_ID]}


def test_stale_shard_in_an_earlier_month_loses_to_the_newest(d: SweepDir) -> None:
    d.write_shard(run_record())  # 1970/01, failed
    d.write_shard(run_record(status="cancelled", updated=NOW - DAY))  # 2025/12, newer
    d.write_dead_letters([group_a_dead_letter()])
    before = d.files()
    outcome = sweep(d)
    assert [s.reason for s in outcome.skipped] == ["run_not_recoverable:cancelled"]
    assert d.files() == before


def test_v0_runs_file_is_written_back_as_v1(d: SweepDir) -> None:
    other = run_record("automation-v2-run-other", status="completed")
    d.write_runs([other, run_record()], version=None)
    d.write_dead_letters([group_a_dead_letter()])
    assert sweep(d).acted == 1
    data = d.paths.runs_file.read_bytes()
    top = json.loads(data)
    assert list(top) == ["schema_version", "runs"]
    assert top["schema_version"] == 1
    assert top["runs"]["automation-v2-run-other"] == other
    assert top["runs"][RUN_ID]["status"] == "queued"
    assert dumps_pretty(top) == data


def test_unchanged_runs_are_written_back_byte_for_byte(d: SweepDir) -> None:
    # An unknown key and a non-canonical key order survive in a run tandemctl does not touch.
    odd = {"zzz_future_field": {"b": 1, "a": 2}, **run_record("automation-v2-run-odd", status="completed")}
    d.write_runs([odd, run_record()])
    d.write_dead_letters([group_a_dead_letter()])
    sweep(d)
    assert dumps_pretty(d.runs_file()["runs"]["automation-v2-run-odd"]) == dumps_pretty(odd)
    assert list(d.runs_file()["runs"]["automation-v2-run-odd"]) == list(odd)


def test_future_runs_schema_is_refused_without_touching_anything(d: SweepDir) -> None:
    d.paths.runs_file.parent.mkdir(parents=True)
    d.paths.runs_file.write_bytes(b'{"schema_version":999,"runs":{}}')
    d.write_dead_letters([group_a_dead_letter()])
    before = d.files()
    with pytest.raises(UnsupportedStateError, match="newer than supported"):
        sweep(d)
    assert d.files() == before


def test_definition_from_the_legacy_aggregate(d: SweepDir) -> None:
    spec = definition()
    d.write_legacy_definitions(spec)
    d.write_runs([run_record(with_snapshot=False, workflow_definition_snapshot_hash=definition_hash(spec))])
    d.write_dead_letters([group_a_dead_letter()])
    outcome = sweep(d)
    assert outcome.dispatched[0].reset_nodes == ["approval", "review"]


def test_live_definition_shard_with_matching_hash_is_used(d: SweepDir) -> None:
    spec = definition(flow=(("draft", ()), ("review", ("draft",)), ("approval", ("review",)), ("ship", ("approval",))))
    d.write_definitions(spec)
    d.write_runs([run_record(with_snapshot=False, workflow_definition_snapshot_hash=definition_hash(spec))])
    d.write_dead_letters([group_a_dead_letter()])
    assert sweep(d).dispatched[0].reset_nodes == ["approval", "review", "ship"]


def test_live_definition_hash_mismatch_blocks_the_requeue(d: SweepDir) -> None:
    d.write_definitions(definition())
    d.write_runs([run_record(with_snapshot=False)])  # recorded hash "sha256:hardening" != live hash
    d.write_dead_letters([group_a_dead_letter()])
    before = d.files()
    outcome = sweep(d)
    assert [s.reason for s in outcome.skipped] == ["requeue_impossible:definition_snapshot_hash_mismatch"]
    assert d.files() == before


def test_missing_definition_blocks_the_requeue(d: SweepDir) -> None:
    d.write_runs([run_record(with_snapshot=False)])
    d.write_dead_letters([group_a_dead_letter()])
    assert [s.reason for s in sweep(d).skipped] == ["requeue_impossible:missing_automation_snapshot"]


def test_snapshot_wins_over_the_live_definition_even_with_hash_mismatch(d: SweepDir) -> None:
    d.write_definitions(definition(flow=(("review", ()),), updated=1))  # edited down to one node
    d.write_runs([run_record(workflow_definition_snapshot_hash="sha256:not-the-run-snapshot")])
    d.write_dead_letters([group_a_dead_letter()])
    assert sweep(d).dispatched[0].reset_nodes == ["approval", "review"]


def test_unparseable_definition_shard_only_fails_when_needed(d: SweepDir) -> None:
    d.paths.definitions_dir.mkdir(parents=True)
    (d.paths.definitions_dir / "broken.json").write_bytes(b"{not json")
    d.write_runs([run_record()])
    d.write_dead_letters([group_a_dead_letter()])
    assert sweep(d).acted == 1  # the run's own snapshot is enough


def test_no_failed_roots_and_synthetic_roots(d: SweepDir) -> None:
    d.write_runs([run_record(blocked=("checkpoint",))])
    d.write_dead_letters([group_a_dead_letter()])
    assert [s.reason for s in sweep(d).skipped] == ["requeue_impossible:no_failed_roots"]


def test_last_failure_node_is_a_root(d: SweepDir) -> None:
    run = run_record(blocked=())
    run["checkpoint"]["last_failure"] = {"node_id": "approval", "reason": "x", "failed_at_ms": 1}
    d.write_runs([run])
    d.write_dead_letters([group_a_dead_letter()])
    assert sweep(d).dispatched[0].reset_nodes == ["approval"]


def test_corrupt_run_entry_is_kept_untouched(d: SweepDir) -> None:
    corrupt = {"run_id": "automation-v2-run-bad", "automation_id": "automation-dead-letter", "status": "exploded",
               "tenant_context": TENANT_A, "checkpoint": {"blocked_nodes": 7}}
    d.write_runs([corrupt, run_record()])
    d.write_dead_letters([group_a_dead_letter("dead-bad", run_id="automation-v2-run-bad", updated=1470),
                          group_a_dead_letter()])
    outcome = sweep(d)
    assert outcome.acted == 1
    assert [(s.dead_letter_id, s.reason) for s in outcome.skipped] == [
        ("dead-bad", "requeue_impossible:no_failed_roots")]
    assert d.runs_file()["runs"]["automation-v2-run-bad"] == corrupt
    assert list(d.runs_file()["runs"]["automation-v2-run-bad"]) == list(corrupt)


def test_non_object_metadata_is_wrapped_under_previous_metadata(d: SweepDir) -> None:
    d.write_runs([run_record()])
    d.write_dead_letters([group_a_dead_letter(metadata="legacy-note")])
    sweep(d)
    assert d.dead_letters()["dead-review-effect"]["metadata"] == {
        "previous_metadata": "legacy-note", "retry_backoff_ms": 2000, "retry_dispatch_count": 1,
        "retry_dispatched_at_ms": NOW,
    }


def test_barrier_phase_and_phase_opened_event_after_requeue(d: SweepDir) -> None:
    mission = {"mission": {"phases": [{"phase_id": "phase_1", "execution_mode": "barrier"},
                                      {"phase_id": "phase_2"}]}}
    spec = definition(metadata=mission, node_phases={"draft": "phase_1", "review": "phase_1", "approval": "phase_2"})
    d.write_runs([run_record(snapshot=spec)])
    d.write_dead_letters([group_a_dead_letter()])
    sweep(d)
    checkpoint = d.run()["checkpoint"]
    assert checkpoint["blocked_nodes"] == ["approval"]
    assert checkpoint["lifecycle_history"][-1] == {
        "event": "phase_opened", "recorded_at_ms": NOW, "reason": "phase `phase_1` is now open",
        "metadata": {"effective_execution_profile": "strict", "execution_mode": "barrier", "phase_id": "phase_1",
                     "phase_rank": 0},
    }


def test_tenant_option_limits_the_sweep(d: SweepDir) -> None:
    other = run_record("automation-v2-run-b", tenant_context=TENANT_B)
    d.write_runs([run_record(), other])
    d.write_dead_letters([group_a_dead_letter(),
                          group_a_dead_letter("dead-b", run_id="automation-v2-run-b", tenant_context=TENANT_B)])
    outcome = sweep(d, tenant=TENANT_B)
    assert [item.dead_letter_id for item in outcome.dispatched] == ["dead-b"]
    assert outcome.skipped == []
    assert d.run()["status"] == "failed"
    assert d.run("automation-v2-run-b")["status"] == "queued"


def test_deployment_id_is_part_of_the_tenant_guard(d: SweepDir) -> None:
    d.write_runs([run_record(tenant_context={**TENANT_A, "deployment_id": "prod"})])
    d.write_dead_letters([group_a_dead_letter()])
    assert [s.reason for s in sweep(d).skipped] == ["tenant_mismatch"]
