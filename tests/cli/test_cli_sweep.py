"""`tandemctl sweep` and `audit verify` through the CLI, on a copy of the shipped sample state."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import NOW_MS, StateDir
from tests.live_engine import health_server

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "state" / "data"
DATA_KEYS = {"acted", "dispatched", "resolved", "exhausted", "skipped", "runs_requeued", "dry_run"}


@pytest.fixture
def sample(state: StateDir) -> StateDir:
    shutil.rmtree(state.data)
    shutil.copytree(SAMPLE, state.data)
    return state


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and not p.name.endswith(".tandemctl.lock")}


def test_sweep_once_json_envelope_and_effects(tandemctl, sample: StateDir) -> None:
    result = tandemctl("-o", "json", "sweep", "--once")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert body["command"] == "sweep" and body["ok"] is True and set(body["data"]) == DATA_KEYS
    data = body["data"]
    assert data["acted"] == 4 and len(data["dispatched"]) == 2 and data["dry_run"] is False
    assert len(data["resolved"]) == 1 and len(data["exhausted"]) == 1
    assert set(data["dispatched"][0]) == {"dead_letter_id", "run_id", "reset_nodes", "retry_dispatch_count",
                                          "next_eligible_at_ms"}
    assert {s["reason"] for s in data["skipped"]} == {"backoff", "run_not_recoverable:running", "run_not_found"}
    assert sorted(data["runs_requeued"]) == sorted(d["run_id"] for d in data["dispatched"])
    store = json.loads(sample.reliability.read_bytes())
    by_id = {row["dead_letter_id"]: row for row in store["dead_letters"]}
    for item in data["dispatched"]:
        assert by_id[item["dead_letter_id"]]["status"] == "retrying"
        assert by_id[item["dead_letter_id"]]["metadata"]["retry_dispatch_count"] == item["retry_dispatch_count"]
    runs = json.loads((sample.data / "automation_v2_runs.json").read_bytes())["runs"]
    for run_id in data["runs_requeued"]:
        assert runs[run_id]["status"] == "queued"
        assert runs[run_id]["resume_reason"] == "stateful_dead_letter_retry_dispatched"
    assert tandemctl("audit", "verify").exit_code == 0
    again = tandemctl("-o", "json", "sweep", "--once").json()["data"]
    assert again["acted"] == 0 and again["dispatched"] == []


def test_dry_run_writes_nothing(tandemctl, sample: StateDir) -> None:
    before = _snapshot(sample.data)
    data = tandemctl("-o", "json", "sweep", "--once", "--dry-run").json()["data"]
    assert data["dry_run"] is True and data["acted"] == 4
    assert _snapshot(sample.data) == before


def test_max_limits_dispatches(tandemctl, sample: StateDir) -> None:
    data = tandemctl("-o", "json", "sweep", "--once", "--max", "1").json()["data"]
    assert len(data["dispatched"]) == 1 and "max_reached" in {s["reason"] for s in data["skipped"]}


def test_explicit_tenant_restricts_the_sweep(tandemctl, sample: StateDir) -> None:
    data = tandemctl("--tenant", "local/local", "-o", "json", "sweep", "--once", "--dry-run").json()["data"]
    assert len(data["dispatched"]) == 1 and data["resolved"] == [] and data["exhausted"] == []


@pytest.fixture
def live_engine() -> Iterator[str]:
    with health_server() as url:
        yield url


def test_live_engine_refuses_with_exit_4(tandemctl, sample: StateDir, live_engine: str) -> None:
    before = _snapshot(sample.data)
    result = tandemctl("-o", "json", "sweep", "--once", "--engine-url", live_engine)
    assert result.exit_code == 4
    assert "every second" in result.stderr and result.json()["errors"][0]["code"] == "engine_live"
    assert _snapshot(sample.data) == before
    port = live_engine.rsplit(":", 1)[1]
    by_port = tandemctl("sweep", "--once", env={"TANDEM_ENGINE_PORT": port})
    assert by_port.exit_code == 4


def test_skip_if_engine_live_exits_0_with_a_note(tandemctl, sample: StateDir, live_engine: str) -> None:
    before = _snapshot(sample.data)
    result = tandemctl("sweep", "--once", "--skip-if-engine-live", env={"TANDEM_ENGINE_URL": live_engine})
    assert result.exit_code == 0 and "engine live, sweep skipped" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _snapshot(sample.data) == before


def test_held_engine_lock_counts_as_live(tandemctl, sample: StateDir) -> None:
    lock = sample.data / "stateful_runtime.engine.lock"
    lock.write_text('{"pid": 1}')
    code = ("import fcntl,sys,time; f=open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('x', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "x"
        result = tandemctl("sweep", "--once")
        assert result.exit_code == 4 and "engine lock" in result.stderr
    finally:
        holder.kill()
        holder.wait()
    assert tandemctl("sweep", "--once").exit_code == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_loop_sweeps_until_signalled_and_finishes_cleanly(sample: StateDir, sig: int) -> None:
    env = {**os.environ, "TANDEMCTL_NOW_MS": str(NOW_MS), "NO_COLOR": "1", "TANDEM_ENGINE_PORT": "9"}
    proc = subprocess.Popen([sys.executable, "-m", "tandemctl", "--state-dir", str(sample.root), "-o", "json",
                             "sweep", "--interval", "100ms"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    second = json.loads(proc.stdout.readline())
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert first["data"]["acted"] == 4 and second["data"]["acted"] == 0
    assert all(json.loads(line)["ok"] for line in out.splitlines())
    store = json.loads(sample.reliability.read_bytes())
    assert sum(row["status"] == "retrying" for row in store["dead_letters"]) >= 2


def test_audit_verify_reports_tampered_line(tandemctl, sample: StateDir) -> None:
    assert tandemctl("sweep", "--once").exit_code == 0
    ledger = sample.data / "audit" / "protected_events.log.jsonl"
    lines = ledger.read_bytes().splitlines(keepends=True)
    assert len(lines) == 2
    ok = tandemctl("-o", "json", "audit", "verify")
    assert ok.exit_code == 0 and ok.json()["data"]["valid"] is True
    lines[1] = lines[1].replace(b'"queued"', b'"failed"')
    ledger.write_bytes(b"".join(lines))
    bad = tandemctl("-o", "json", "audit", "verify")
    assert bad.exit_code == 5
    assert bad.json()["data"]["first_violation"]["line"] == 2 and "line 2" in bad.stderr


def test_interval_must_be_a_duration(tandemctl, sample: StateDir) -> None:
    started = time.monotonic()
    result = tandemctl("sweep", "--interval", "soon")
    assert result.exit_code == 2 and time.monotonic() - started < 10


def test_quiet_silences_summaries_and_the_engine_live_note(tandemctl, sample: StateDir, live_engine: str) -> None:
    skipped = tandemctl("-q", "sweep", "--once", "--skip-if-engine-live", "--engine-url", live_engine)
    assert skipped.exit_code == 0 and skipped.stderr == ""
    listed = tandemctl("-q", "--all-tenants", "dead-letters", "list")
    assert listed.exit_code == 0 and listed.stderr == "" and "dead-letter-effect" in listed.stdout
    swept = tandemctl("-q", "sweep", "--once")
    assert swept.exit_code == 0 and swept.stderr == "" and "dispatched" in swept.stdout
    refused = tandemctl("-q", "sweep", "--once", "--engine-url", live_engine)
    assert refused.exit_code == 4 and "every second" in refused.stderr  # errors still show


def test_audit_verify_prints_jsonl_and_csv(tandemctl, sample: StateDir) -> None:
    assert tandemctl("sweep", "--once").exit_code == 0
    jsonl = tandemctl("-o", "jsonl", "audit", "verify")
    assert jsonl.exit_code == 0
    record = json.loads(jsonl.stdout)
    assert record["valid"] is True and record["record_count"] == 2 and record["first_violation"] is None
    assert record["path"].endswith("audit/protected_events.log.jsonl")
    csv_out = tandemctl("-o", "csv", "audit", "verify")
    assert csv_out.exit_code == 0
    header, row = csv_out.stdout.splitlines()
    assert header == "path,valid,record_count,violation_line,violation_reason"
    assert row.endswith(",true,2,,")
    ledger = sample.data / "audit" / "protected_events.log.jsonl"
    ledger.write_bytes(ledger.read_bytes().replace(b'"seq":2', b'"seq":3'))
    broken = tandemctl("-o", "csv", "audit", "verify")
    assert broken.exit_code == 5
    assert broken.stdout.splitlines()[1].split(",")[1:4] == ["false", "2", "2"]
