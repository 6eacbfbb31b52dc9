"""A bulk action racing a real unlocked engine-style writer loses no update on either side;
and the write-path defences that make that hold (exchange-checked rename, post-write restore)."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tandemctl.fs import atomic, reads, renameat, temps
from tandemctl.stores import json_verify
from tandemctl.stores.json_codec import ReliabilityData
from tandemctl.stores.json_file import JsonReliabilityFile
from tests.conftest import StateDir
from tests.factories import dead_letter, scope, write_store

# The engine's write (spec 01 §7.2): read, modify its own rows, write the fixed `<name>.tmp`,
# fsync, rename, fsync the directory. No lock, no check, in a tight loop until told to stop.
ENGINE_WRITER = r"""
import json, os, sys
from pathlib import Path

path, stop = Path(sys.argv[1]), Path(sys.argv[2])
temp = path.with_name(path.name + ".tmp")
scope = {"schema_version": 1, "tenant_context": {"org_id": "local", "workspace_id": "local",
                                                 "source": "local_implicit"}}
k = 0
while not stop.exists():
    top = json.loads(path.read_bytes())
    stamp = 2_000_000_000_000 + k
    top["tool_effects"].append({
        "schema_version": 1, "effect_id": f"effect-writer-{k}", "run_id": "run-writer", "scope": scope,
        "status": "succeeded", "operation": "mock.send", "redaction_tier": "", "audit_hash": f"h{k}",
        "created_at_ms": stamp, "updated_at_ms": stamp})
    for row in top["outbox"]:
        if row["outbox_id"] == "outbox-writer":
            row["attempts"] += 1
            row["updated_at_ms"] = stamp
    for name in ("outbox", "tool_effects", "dead_letters", "compensations"):
        top[name].sort(key=lambda row: row["updated_at_ms"], reverse=True)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, json.dumps(top, indent=2, ensure_ascii=False).encode())
    os.fsync(fd)
    os.close(fd)
    os.replace(temp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    os.fsync(dir_fd)
    os.close(dir_fd)
    k += 1
print(k)
"""
ROWS = 30


def _outbox_row() -> dict[str, Any]:
    return {"schema_version": 1, "outbox_id": "outbox-writer", "run_id": "run-writer", "scope": scope(),
            "operation": "mock.send", "status": "pending", "attempts": 0, "created_at_ms": 500,
            "updated_at_ms": 500}


def _effects(path: Path) -> list[dict[str, Any]]:
    try:
        effects: list[dict[str, Any]] = json.loads(path.read_bytes())["tool_effects"]
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    return effects


def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@pytest.mark.slow
def test_bulk_retry_and_unlocked_engine_writer_lose_no_update(state: StateDir, tmp_path: Path) -> None:
    ids = [f"dead-{i:02d}" for i in range(ROWS)]
    write_store(state.reliability, [dead_letter(i, created=1000 + n) for n, i in enumerate(ids)],
                outbox=[_outbox_row()])
    stop, fault_log = tmp_path / "stop", tmp_path / "faults.log"
    writer = subprocess.Popen([sys.executable, "-c", ENGINE_WRITER, str(state.reliability), str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: len(_effects(state.reliability)) >= 5, 10, "the engine writer to start")
        action = subprocess.Popen(
            [sys.executable, "-m", "tandemctl", "--state-dir", str(state.root), "-o", "json",
             "dead-letters", "retry", "--status", "open", "--reason", "provider is back", "--yes"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TANDEMCTL_FAULT_LOG": str(fault_log)})
        _wait_for(lambda: fault_log.exists() and "write stateful_reliability.json" in fault_log.read_text(),
                  15, "tandemctl's first write attempt")
        effects_at_first_write = len(_effects(state.reliability))
        time.sleep(0.4)  # the engine keeps rewriting the store while tandemctl writes and verifies
    finally:
        stop.touch()
        iterations = int(writer.communicate(timeout=30)[0])
    out, err = action.communicate(timeout=60)

    assert action.returncode == 0, err
    body = json.loads(out)
    changed = [row["dead_letter_id"] for row in body["data"]["changed"]]
    assert sorted(changed) == ids and body["data"]["applied"] is True
    assert iterations > effects_at_first_write, "the engine writer did not overlap tandemctl's write"
    final = json.loads(state.reliability.read_bytes())
    by_id = {row["dead_letter_id"]: row for row in final["dead_letters"]}
    for dl_id in changed:
        assert by_id[dl_id]["status"] == "retry_requested"
        assert by_id[dl_id]["disposition_reason"] == "provider is back"
    assert {row["effect_id"] for row in final["tool_effects"]} == {f"effect-writer-{k}" for k in range(iterations)}
    assert [row["attempts"] for row in final["outbox"] if row["outbox_id"] == "outbox-writer"] == [iterations]
    journal = state.journal.read_text().splitlines()
    assert len(journal) == 1 and len(json.loads(journal[0])["rows"]) == ROWS


def _seed_two_rows(state: StateDir) -> bytes:
    return write_store(state.reliability, [dead_letter("dead-1"), dead_letter("dead-2")])


def _park_all(store: ReliabilityData) -> tuple[bool, int]:
    for row in store.dead_letters:
        row["status"] = "ignored"
        row["updated_at_ms"] = 9000
    return True, len(store.dead_letters)


def test_verified_write_puts_back_rows_an_unlocked_writer_reverted(state: StateDir) -> None:
    _seed_two_rows(state)
    clobbered = threading.Event()

    def engine_cycle_that_read_before_our_rename() -> None:
        before = reads.FileIdentity.of(state.reliability)
        while reads.FileIdentity.of(state.reliability) == before:
            time.sleep(0.001)
        engine = state.reliability.with_name(state.reliability.name + ".tmp")
        write_store(engine, [dead_letter("dead-1"), dead_letter("dead-2", reason="engine touched"),
                             dead_letter("dead-engine")])
        os.replace(engine, state.reliability)
        clobbered.set()

    thread = threading.Thread(target=engine_cycle_that_read_before_our_rename)
    thread.start()
    assert JsonReliabilityFile(state.reliability).mutate(_park_all, lock_timeout=5, verify=True) == 2
    thread.join(5)
    assert clobbered.is_set()
    final = {row["dead_letter_id"]: row for row in json.loads(state.reliability.read_bytes())["dead_letters"]}
    assert final["dead-1"]["status"] == "ignored"  # reverted by the engine's stale write: put back
    assert (final["dead-2"]["status"], final["dead-2"]["reason"]) == ("open", "engine touched")  # moved on: kept
    assert final["dead-engine"]["status"] == "open"  # the engine's own new row survives


@pytest.mark.skipif(renameat._renameat2() is None, reason="renameat2(RENAME_EXCHANGE) is Linux-only")
def test_exchange_check_puts_back_a_version_renamed_in_after_the_stat(state: StateDir,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _seed_two_rows(state)
    _, stale_identity = reads.read_bytes(state.reliability)
    engine_version = write_store(state.reliability, [dead_letter("dead-engine")])  # lands after our read
    real_of = reads.FileIdentity.of
    calls = {"n": 0}

    def of_once_stale(path: Path) -> reads.FileIdentity | None:
        calls["n"] += 1
        return stale_identity if calls["n"] == 1 else real_of(path)  # our pre-rename stat missed it

    monkeypatch.setattr(reads.FileIdentity, "of", staticmethod(of_once_stale))
    with pytest.raises(atomic.StaleFileError):
        atomic.write_atomic(state.reliability, b"{}", expected=stale_identity, check=True)
    assert state.reliability.read_bytes() == engine_version
    assert not [p for p in state.reliability.parent.iterdir() if p.name.endswith(temps.TEMP_MARK)]


def test_a_fresh_engine_temp_file_means_wait_for_its_rename_then_re_read(state: StateDir) -> None:
    _seed_two_rows(state)
    data, identity = reads.read_bytes(state.reliability)
    engine_temp = state.reliability.with_name(state.reliability.name + ".tmp")
    engine_version = write_store(engine_temp, [dead_letter("dead-engine")])  # the engine is mid-write

    def engine_renames() -> None:
        time.sleep(0.05)
        os.replace(engine_temp, state.reliability)

    thread = threading.Thread(target=engine_renames)
    thread.start()
    with pytest.raises(atomic.StaleFileError):
        atomic.write_atomic(state.reliability, data, expected=identity, check=True)
    thread.join(5)
    assert state.reliability.read_bytes() == engine_version


def test_a_leftover_engine_temp_file_from_a_crash_is_ignored(state: StateDir) -> None:
    _seed_two_rows(state)
    data, identity = reads.read_bytes(state.reliability)
    engine_temp = state.reliability.with_name(state.reliability.name + ".tmp")
    engine_temp.write_bytes(b"{")
    os.utime(engine_temp, ns=(time.time_ns() - 3_600_000_000_000,) * 2)
    atomic.write_atomic(state.reliability, data.replace(b'"open"', b'"ignored"'), expected=identity, check=True)
    assert b'"ignored"' in state.reliability.read_bytes()


def test_restore_puts_back_reverted_adds_deletes_and_updates_and_leaves_moved_rows() -> None:
    def top(*rows: dict[str, Any]) -> dict[str, Any]:
        return {"dead_letters": list(rows)}

    old_a, old_b, old_c = dead_letter("a"), dead_letter("b"), dead_letter("c")
    new_a, new_d = {**old_a, "status": "ignored"}, dead_letter("d")
    changes = json_verify.diff_rows(top(old_a, old_b, old_c), top(new_a, old_c, new_d))  # b deleted, d added
    assert {(change.collection, change.key) for change in changes} == {("dead_letters", "a"), ("dead_letters", "b"),
                                                                       ("dead_letters", "d")}
    engine = top(old_a, old_b, {**old_c, "reason": "engine"}, dead_letter("e"))  # reverted all three, touched c
    assert json_verify.restore_rows(changes, engine)
    assert sorted(r["dead_letter_id"] for r in engine["dead_letters"]) == ["a", "c", "d", "e"]
    by_id = {r["dead_letter_id"]: r for r in engine["dead_letters"]}
    assert by_id["a"]["status"] == "ignored" and by_id["c"]["reason"] == "engine"
    assert not json_verify.restore_rows(changes, engine)  # our version is in: nothing more to do
    moved = top({**old_a, "status": "retrying"}, old_c)  # a moved on, b deleted by someone else
    assert not json_verify.restore_rows([change for change in changes if change.key == "a"], moved)
    assert moved["dead_letters"][0]["status"] == "retrying"
