"""The engine-mirror predicates, backoff and dead-letter transitions (no files)."""

from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine.definitions import Definitions
from tandemctl.engine.dispatcher import (
    DeadLetterBook,
    Requeued,
    dead_letter_is_retry_candidate,
    dead_letter_retry_backoff_ms,
    dead_letter_run_is_recoverable,
    exhaust_dead_letter_retries,
    mark_dead_letter_retry_dispatched,
    requeue_run_for_dead_letter_retry,
    resolve_dead_letter_after_success,
)
from tandemctl.engine.run_store import HotRuns, RunStore
from tandemctl.stores.json_definitions import load_definitions
from tandemctl.stores.json_runs import shard_reader
from tests.sweep_fixtures import NOW, RUN_ID, TENANT_A, TENANT_B, group_a_dead_letter, run_record


@pytest.mark.parametrize(("n", "ms"), [
    (0, 1_000), (1, 2_000), (2, 4_000), (7, 128_000), (8, 256_000), (9, 300_000), (20, 300_000),
    (21, 300_000), (2**32 - 1, 300_000), (10**30, 300_000),
])
def test_backoff_table_edges(n: int, ms: int) -> None:
    assert dead_letter_retry_backoff_ms(n) == ms


def test_backoff_is_monotonic_and_capped() -> None:
    values = [dead_letter_retry_backoff_ms(n) for n in range(40)]
    assert values == sorted(values)
    assert max(values) == 300_000


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, True),
    ({"status": "retrying"}, True),
    ({"status": "open"}, False),
    ({"status": "resolved"}, False),
    ({"source_type": "stateful_wait"}, False),
    ({"recovery_options": ["compensate"]}, False),
    ({"recovery_options": []}, False),
])
def test_retry_candidate(changes: dict[str, Any], expected: bool) -> None:
    assert dead_letter_is_retry_candidate({**group_a_dead_letter(), **changes}) is expected


@pytest.mark.parametrize("status", ["queued", "running", "pausing", "paused", "awaiting_approval", "completed",
                                    "cancelled"])
def test_only_failed_and_blocked_runs_are_recoverable(status: str) -> None:
    assert dead_letter_run_is_recoverable(status) is False
    assert dead_letter_run_is_recoverable("failed") and dead_letter_run_is_recoverable("blocked")


def test_mark_dispatched_wraps_non_object_metadata_and_keeps_disposition() -> None:
    row = group_a_dead_letter(metadata=[1, 2], operator_disposition="retry_requested")
    book = DeadLetterBook([row])
    marked = mark_dead_letter_retry_dispatched(book, TENANT_A, row["dead_letter_id"], 2000, NOW)
    assert marked is not None
    assert marked["metadata"] == {"previous_metadata": [1, 2], "retry_backoff_ms": 2000, "retry_dispatch_count": 1,
                                  "retry_dispatched_at_ms": NOW}
    assert marked["operator_disposition"] == "retry_requested"
    assert book.rows == [marked]
    assert [(c.before, c.after) for c in book.changes] == [(row, marked)]


def test_mark_dispatched_needs_a_visible_retry_row() -> None:
    book = DeadLetterBook([group_a_dead_letter(status="open"), group_a_dead_letter("dead-b")])
    assert mark_dead_letter_retry_dispatched(book, TENANT_A, "dead-review-effect", 2000, NOW) is None
    assert mark_dead_letter_retry_dispatched(book, TENANT_B, "dead-b", 2000, NOW) is None
    assert book.changes == []


def test_resolve_and_exhaust_are_idempotent() -> None:
    resolved = group_a_dead_letter(status="resolved")
    ignored = group_a_dead_letter(status="ignored")
    book = DeadLetterBook([resolved])
    assert resolve_dead_letter_after_success(book, TENANT_A, resolved, NOW) is False
    assert exhaust_dead_letter_retries(DeadLetterBook([ignored]), TENANT_A, ignored, NOW) is False
    assert book.changes == []


def test_requeue_keeps_pending_sorted_and_verdicts_untouched(tmp_path: Path) -> None:
    run = run_record(pending=("zeta", "approval"))
    run["checkpoint"]["node_attempt_verdicts"] = {"review": [{"verdict": "fail"}]}
    run["checkpoint"]["gate_history"] = [{"node_id": "review", "decision": "rework", "decided_at_ms": 5}]
    run["checkpoint"]["awaiting_gate"] = {"node_id": "review", "title": "t", "requested_at_ms": 1}
    store = RunStore(HotRuns(path=tmp_path / "runs.json", version=1, entries={RUN_ID: run}),
                     shard_reader(tmp_path / "shards"))
    definitions = Definitions(lambda: load_definitions(tmp_path, tmp_path / "x.json"), list)
    result = requeue_run_for_dead_letter_retry(store, definitions, run, group_a_dead_letter(), NOW)
    assert isinstance(result, Requeued)
    checkpoint = result.run["checkpoint"]
    assert checkpoint["pending_nodes"] == ["approval", "review", "zeta"]
    assert checkpoint["node_attempt_verdicts"] == {"review": [{"verdict": "fail"}]}
    assert checkpoint["gate_history"] == run["checkpoint"]["gate_history"]
    assert "awaiting_gate" not in checkpoint
    assert store.hot.entries[RUN_ID] is result.run
    assert run["status"] == "failed"  # the loaded record itself is never mutated
    assert list(store.written_shards) == [f"2026/01/{RUN_ID}.json"]


def test_requeue_keeps_scheduler_of_a_queued_run(tmp_path: Path) -> None:
    scheduler = {"tenant_context": TENANT_A, "queue_reason": "capacity", "queued_at_ms": 5}
    run = run_record(scheduler=scheduler)
    store = RunStore(HotRuns(path=tmp_path / "runs.json", version=1, entries={RUN_ID: run}),
                     shard_reader(tmp_path / "shards"))
    definitions = Definitions(lambda: load_definitions(tmp_path, tmp_path / "x.json"), list)
    result = requeue_run_for_dead_letter_retry(store, definitions, run, group_a_dead_letter(), NOW)
    assert isinstance(result, Requeued)
    assert result.run["scheduler"] == scheduler
