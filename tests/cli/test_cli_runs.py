"""`runs show` (hot or history copy, dead letters, requeue history) and `events tail` (filters,
tenant scope, -n, and --follow in a real process stopped by SIGINT with exit 0)."""

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.cli.screens import check_screen
from tests.conftest import NOW_MS, Result, StateDir
from tests.sweep_fixtures import RUN_ID, TENANT_A, group_a_dead_letter, run_record
from tests.triage_state import STORE_KINDS, Triage, build_state

Run = Callable[..., Result]
ROOT = Path(__file__).resolve().parents[2]
OTHER_RUN = "automation-v2-run-other"


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def event(seq: int, event_type: str, run_id: str = RUN_ID, tenant: dict[str, Any] | None = TENANT_A) -> dict[str, Any]:
    row: dict[str, Any] = {"event_id": f"e-{seq}", "seq": seq, "schema_version": 1,
                           "occurred_at_ms": NOW_MS - 60_000 + seq * 1000, "run_id": run_id}
    if tenant is not None:
        row["tenant_context"] = tenant
    row.update(event_type=event_type, payload={"n": seq})
    return row


def state_with_history() -> Triage:
    requeued = run_record(status="queued", blocked=())
    requeued["checkpoint"]["lifecycle_history"] = [
        {"event": "stateful_dead_letter_retry_requeued", "recorded_at_ms": NOW_MS - 30_000, "reason": "dispatched",
         "metadata": {"attempts": 2, "dead_letter_id": "dead-review-effect"}},
        {"event": "run_execution_claimed", "recorded_at_ms": NOW_MS - 20_000},
    ]
    events = [event(1, "automation_v2.run.failed"), event(2, "tool.effect.recorded"),
              event(3, "automation_v2.run.requeued"), event(4, "automation_v2.run.created", run_id=OTHER_RUN),
              event(5, "automation_v2.run.failed", tenant=None)]
    return Triage(dead_letters=[group_a_dead_letter(status="retrying"), group_a_dead_letter("dead-two")],
                  shards=[requeued], events=events)


def test_runs_show_json(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, state_with_history())
    result = tandemctl("--all-tenants", "-o", "json", "runs", "show", RUN_ID)
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert set(data) == {"run", "dead_letters", "requeues", "lifecycle", "events", "record"}
    assert data["run"]["status"] == "queued"  # found in its history shard (no hot file)
    assert [d["dead_letter_id"] for d in data["dead_letters"]] == ["dead-review-effect", "dead-two"]
    assert set(data["dead_letters"][0]) == {"dead_letter_id", "status", "reason", "retry_dispatch_count",
                                            "updated_at_ms"}
    assert [r["metadata"]["dead_letter_id"] for r in data["requeues"]] == ["dead-review-effect"]
    assert [e["event"] for e in data["lifecycle"]] == ["stateful_dead_letter_retry_requeued", "run_execution_claimed"]
    assert [e["seq"] for e in data["events"]] == [1, 2, 3, 5]


def test_runs_show_not_found_and_tenant_scope(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, state_with_history())
    assert tandemctl("--all-tenants", "runs", "show", "automation-v2-run-nope").exit_code == 3
    assert tandemctl("runs", "show", RUN_ID).exit_code == 3  # default tenant local/local
    assert tandemctl("--tenant", "org-hardening-a/workspace-a", "runs", "show", RUN_ID).exit_code == 0


@pytest.mark.parametrize("columns", [80, 120])
def test_runs_show_screen(tandemctl: Run, kind: str, state: StateDir, columns: int) -> None:
    build_state(kind, state.root, state_with_history())
    result = tandemctl("--all-tenants", "runs", "show", RUN_ID, env={"COLUMNS": str(columns), "TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.stderr
    check_screen(f"runs_show_{columns}", result.stdout)


def seqs(result: Result) -> list[int]:
    assert result.exit_code == 0, result.stderr
    return [e["seq"] for e in result.json()["data"]]


def test_events_tail_filters(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, state_with_history())
    assert seqs(tandemctl("--all-tenants", "-o", "json", "events", "tail")) == [1, 2, 3, 4, 5]
    assert seqs(tandemctl("--all-tenants", "-o", "json", "events", "tail", "-n", "2")) == [4, 5]
    assert seqs(tandemctl("--all-tenants", "-o", "json", "events", "tail", "--run", OTHER_RUN)) == [4]
    assert seqs(tandemctl("--all-tenants", "-o", "json", "events", "tail", "--type", "automation_v2.run.*",
                          "-n", "2")) == [4, 5]
    assert seqs(tandemctl("--all-tenants", "-o", "json", "events", "tail", "--type", "tool.effect.recorded")) == [2]
    # Tenant scope: an event without tenant_context belongs to the local tenant.
    assert seqs(tandemctl("-o", "json", "events", "tail")) == [5]
    assert seqs(tandemctl("--tenant", "org-hardening-a/workspace-a", "-o", "json", "events", "tail")) == [1, 2, 3, 4]


def test_events_tail_skips_torn_lines_and_reads_no_file(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, Triage(dead_letters=[]))
    assert seqs(tandemctl("--all-tenants", "-o", "json", "events", "tail")) == []
    path = state.data / "runtime" / "events.jsonl"
    path.write_bytes(orjson.dumps(event(1, "a.b")) + b"\nnot json\n" + b'{"seq": 2, "event_type": "a.c"')
    assert seqs(tandemctl("--all-tenants", "-o", "json", "events", "tail")) == [1]


def _read_lines(process: subprocess.Popen[bytes], count: int) -> list[bytes]:
    assert process.stdout is not None
    return [process.stdout.readline() for _ in range(count)]


def test_events_tail_follow_prints_new_events_and_stops_on_sigint(kind: str, state: StateDir) -> None:
    build_state(kind, state.root, state_with_history())
    path = state.data / "runtime" / "events.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tandemctl", "--state-dir", str(state.root), "--all-tenants", "-o", "jsonl",
         "events", "tail", "--follow", "-n", "1", "--interval", "50ms"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = _read_lines(process, 1)
        assert [orjson.loads(line)["seq"] for line in first] == [5]
        with path.open("ab") as handle:
            handle.write(orjson.dumps(event(6, "automation_v2.run.failed")) + b"\n")
            handle.write(orjson.dumps(event(7, "automation_v2.run.completed")) + b"\n")
        assert [orjson.loads(line)["seq"] for line in _read_lines(process, 2)] == [6, 7]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None and b"Traceback" not in process.stderr.read()
