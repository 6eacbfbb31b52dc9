"""Kill a real sweep process (SIGKILL) after each durable step; the next sweep must converge to
the state of an uninterrupted one, with nothing dispatched twice."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine.jsonio import parse_strict
from tandemctl.engine.run_store import parse_runs_file
from tandemctl.stores.audit_ledger import verify_audit_ledger
from tandemctl.stores.json_codec import parse_reliability
from tandemctl.stores.json_runs import read_shard
from tandemctl.stores.sweep_intent import intent_path
from tests.stores.test_sweep import sweep
from tests.stores.test_sweep_writes import RUN_IDS, busy_state
from tests.sweep_fixtures import NOW, SweepDir

pytestmark = pytest.mark.slow

CHILD = """
import sys
from pathlib import Path
from tandemctl.stores.paths import StatePaths
from tandemctl.stores.json_sweep import run_sweep
data = Path(sys.argv[1]) / "data"
paths = StatePaths(data_dir=data, source="test", reliability_file=data / "runtime" / "stateful_reliability.json",
                   journal_file=data / "runtime" / "tandemctl-journal.jsonl")
run_sweep(paths, now_ms=int(sys.argv[2]), dry_run=False, max_dispatches=None, tenant=None, lock_timeout=5.0)
"""
HASH_FIELDS = ("event_id", "record_hash", "prev_hash")


def run_child(root: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TANDEMCTL_FAULT")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", CHILD, str(root), str(NOW)], env=env, capture_output=True,
                          timeout=60, check=False)


@pytest.fixture(scope="module")
def initial(tmp_path_factory: pytest.TempPathFactory) -> SweepDir:
    d = SweepDir(tmp_path_factory.mktemp("initial") / "state")
    busy_state(d)
    return d


@pytest.fixture(scope="module")
def reference(initial: SweepDir, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    d = SweepDir(tmp_path_factory.mktemp("reference") / "state")
    shutil.copytree(initial.root, d.root)
    sweep(d)
    return d.files()


@pytest.fixture(scope="module")
def durable_steps(initial: SweepDir, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("count") / "state"
    shutil.copytree(initial.root, root)
    log = root.parent / "fault.log"
    result = run_child(root, {"TANDEMCTL_FAULT_LOG": str(log)})
    assert result.returncode == 0, result.stderr.decode()
    return log.read_text().splitlines()


def assert_every_file_parses(d: SweepDir) -> None:
    paths = d.paths
    parse_runs_file(paths.runs_file.read_bytes(), paths.runs_file)
    parse_reliability(paths.reliability_file.read_bytes(), paths.reliability_file)
    for shard in paths.shard_root.rglob("*.json"):
        assert read_shard(shard) is not None, shard
    if paths.audit_file.exists():
        for line in paths.audit_file.read_bytes().splitlines():
            json.loads(line)
    if intent_path(paths).exists():
        parse_strict(intent_path(paths).read_bytes(), intent_path(paths))


def without_hashes(data: bytes) -> list[dict[str, Any]]:
    return [{k: v for k, v in json.loads(line).items() if k not in HASH_FIELDS} for line in data.splitlines()]


def test_clean_run_has_the_expected_durable_steps(durable_steps: list[str]) -> None:
    # intent (3) + three shards (3 each) + hot file (3) + audit append (2) + reliability (3) + journal
    # append (2) + unlink (1)
    assert len(durable_steps) == 23
    assert durable_steps[-3].endswith("append tandemctl-journal.jsonl")
    assert durable_steps[-1].endswith("unlink tandemctl-sweep.intent.json")


def test_kill_at_every_step_converges(initial: SweepDir, reference: dict[str, bytes], durable_steps: list[str],
                                      tmp_path: Path) -> None:
    audit_name = "data/audit/protected_events.log.jsonl"
    journal_name = "data/runtime/tandemctl-journal.jsonl"
    for k in range(1, len(durable_steps) + 1):
        d = SweepDir(tmp_path / f"k{k}" / "state")
        shutil.copytree(initial.root, d.root)
        killed = run_child(d.root, {"TANDEMCTL_FAULT_AFTER": str(k)})
        assert killed.returncode == -signal.SIGKILL, (k, killed.stderr.decode())
        assert_every_file_parses(d)
        intent_file = intent_path(d.paths)
        planned = json.loads(intent_file.read_bytes())["audit"] if intent_file.exists() else None
        sweep(d)
        final = d.files()
        assert set(final) == set(reference), k
        for name, data in reference.items():
            if name == audit_name:
                assert without_hashes(final[name]) == without_hashes(data), k
            elif name == journal_name:  # journaled exactly once, whoever finished the sweep
                assert without_operation_id(final[name]) == without_operation_id(data), k
            else:
                assert final[name] == data, (k, name)
        if planned is not None:  # killed after the intent was written: exactly the planned lines
            assert [json.loads(line) for line in final[audit_name].splitlines()] == [e["event"] for e in planned]
        assert verify_audit_ledger(d.paths.audit_file).valid, k
        assert_requeued_once(d)


def without_operation_id(data: bytes) -> list[dict[str, Any]]:
    return [{k: v for k, v in json.loads(line).items() if k not in ("operation_id", "recovered")}
            for line in data.splitlines()]


def assert_requeued_once(d: SweepDir) -> None:
    runs = d.runs_file()["runs"]
    for run_id in RUN_IDS:
        events = [e for e in runs[run_id]["checkpoint"]["lifecycle_history"]
                  if e["event"] == "stateful_dead_letter_retry_requeued"]
        assert len(events) == 1, run_id
    assert sorted(line["payload"]["run_id"] for line in d.audit()) == RUN_IDS
    assert {row["dead_letter_id"]: row["status"] for row in d.dead_letters().values()} == {
        "dead-1": "retrying", "dead-2": "retrying", "dead-3": "retrying", "dead-ok": "resolved",
        "dead-spent": "ignored"}


def test_kill_during_roll_forward_still_converges(initial: SweepDir, reference: dict[str, bytes],
                                                  durable_steps: list[str], tmp_path: Path) -> None:
    d = SweepDir(tmp_path / "twice" / "state")
    shutil.copytree(initial.root, d.root)
    assert run_child(d.root, {"TANDEMCTL_FAULT_AFTER": "8"}).returncode == -signal.SIGKILL
    assert run_child(d.root, {"TANDEMCTL_FAULT_AFTER": "5"}).returncode == -signal.SIGKILL
    assert intent_path(d.paths).exists()
    sweep(d)
    assert_requeued_once(d)
    final = d.files()
    journal = "data/runtime/tandemctl-journal.jsonl"
    assert {name: data for name, data in final.items() if "audit" not in name and name != journal} == {
        name: data for name, data in reference.items() if "audit" not in name and name != journal}
    assert without_operation_id(final[journal]) == without_operation_id(reference[journal])
