"""Atomic writes and tandemctl's cross-process lock, with real processes and real flock."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tandemctl.errors import BusyError, WriteError
from tandemctl.fs import atomic, locks, reads, temps
from tandemctl.stores.json_file import JsonReliabilityFile
from tests.factories import dead_letter, write_store

HOLD_LOCK = """
import sys, time
from pathlib import Path
from tandemctl.fs import locks
with locks.exclusive_lock(Path(sys.argv[1]), 5):
    print("locked", flush=True)
    time.sleep(60)
"""


def _hold_lock(target: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(target)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_excludes_a_second_process_and_dies_with_its_holder(tmp_path: Path) -> None:
    target = tmp_path / "stateful_reliability.json"
    holder = _hold_lock(target)
    try:
        with pytest.raises(BusyError, match="another tandemctl holds the lock"), \
                locks.exclusive_lock(target, 0.2):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # A holder killed with SIGKILL leaves no lock behind: the kernel released the flock.
    with locks.exclusive_lock(target, 0.5):
        assert (tmp_path / "stateful_reliability.json.tandemctl.lock").exists()


def test_cli_reports_busy_with_exit_4_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = state / "data" / "runtime" / "stateful_reliability.json"
    write_store(store, [dead_letter("dead-1")])
    holder = _hold_lock(store)
    try:
        code = "from tandemctl.stores.json_file import JsonReliabilityFile; import sys; from pathlib import Path\n" \
               "from tandemctl.errors import TandemctlError\n" \
               "try:\n    JsonReliabilityFile(Path(sys.argv[1])).mutate(lambda s: (True, None), lock_timeout=0.2)\n" \
               "except TandemctlError as e:\n    print(type(e).__name__, int(e.exit_code))\n"
        out = subprocess.run([sys.executable, "-c", code, str(store)], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "BusyError 4"
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_failed_write_in_read_only_dir_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "ro" / "stateful_reliability.json"
    original = write_store(target, [dead_letter("dead-1")])
    target.parent.chmod(0o500)
    try:
        with pytest.raises(WriteError, match="left unchanged"):
            atomic.write_atomic(target, b"{}")
    finally:
        target.parent.chmod(0o700)
    assert target.read_bytes() == original
    assert os.listdir(target.parent) == ["stateful_reliability.json"]


def test_failed_write_of_unwritable_temp_leaves_old_file(tmp_path: Path) -> None:
    # Works as root too: a directory squatting on the temp name makes the write fail.
    target = tmp_path / "stateful_reliability.json"
    original = write_store(target, [dead_letter("dead-1")])
    real_temp = temps.temp_path_for

    def squatted(path: Path) -> Path:
        temp = real_temp(path)
        temp.mkdir()
        return temp

    atomic.temp_path_for = squatted  # type: ignore[assignment]
    try:
        with pytest.raises(WriteError):
            atomic.write_atomic(target, b"{}")
    finally:
        atomic.temp_path_for = real_temp  # type: ignore[assignment]
    assert target.read_bytes() == original


KILL_WRITER = """
import sys
from pathlib import Path
from tandemctl.stores.json_file import JsonReliabilityFile
def apply(store):
    store.dead_letters[0]["attempts"] = 9
    return True, None
JsonReliabilityFile(Path(sys.argv[1])).mutate(apply, lock_timeout=5)
"""


@pytest.mark.parametrize("step", [1, 2])
def test_kill_between_temp_write_and_rename_leaves_old_file_intact(tmp_path: Path, step: int) -> None:
    target = tmp_path / "stateful_reliability.json"
    original = write_store(target, [dead_letter("dead-1")])
    env = {**os.environ, "TANDEMCTL_FAULT_AFTER": str(step)}
    proc = subprocess.run([sys.executable, "-c", KILL_WRITER, str(target)], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == original
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith(temps.TEMP_MARK)]
    assert len(leftovers) == 1 and leftovers[0].startswith(".")
    # The next writer removes the dead process's temp file and succeeds.
    subprocess.run([sys.executable, "-c", KILL_WRITER, str(target)], check=True)
    assert b'"attempts": 9' in target.read_bytes()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(temps.TEMP_MARK)]


def test_write_keeps_the_file_mode(tmp_path: Path) -> None:
    target = tmp_path / "stateful_reliability.json"
    write_store(target, [dead_letter("dead-1")])
    target.chmod(0o600)
    atomic.write_atomic(target, b"{}")
    assert target.stat().st_mode & 0o777 == 0o600


def test_stale_check_refuses_when_file_changed_since_read(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    target.write_bytes(b"{}")
    _, identity = reads.read_bytes(target)
    time.sleep(0.01)
    target.write_bytes(b'{"x": 1}')
    with pytest.raises(atomic.StaleFileError):
        atomic.write_atomic(target, b"{}", expected=identity, check=True)
    assert target.read_bytes() == b'{"x": 1}'


def test_mutate_reapplies_on_top_of_a_concurrent_engine_write(tmp_path: Path) -> None:
    target = tmp_path / "stateful_reliability.json"
    write_store(target, [dead_letter("dead-1"), dead_letter("dead-2", updated=5)])
    calls = []

    def apply(store) -> tuple[bool, None]:  # type: ignore[no-untyped-def]
        calls.append(len(store.dead_letters))
        if len(calls) == 1:  # the engine writes between our read and our rename
            write_store(target, [dead_letter("dead-1"), dead_letter("dead-2", updated=5), dead_letter("dead-3")])
        for row in store.dead_letters:
            row["attempts"] = 7
        return True, None

    JsonReliabilityFile(target).mutate(apply, lock_timeout=1)
    final = JsonReliabilityFile(target).load().dead_letters
    assert calls == [2, 3]
    assert sorted(r["dead_letter_id"] for r in final) == ["dead-1", "dead-2", "dead-3"]
    assert all(r["attempts"] == 7 for r in final)


def test_is_flock_held_sees_a_real_flock(tmp_path: Path) -> None:
    lock = tmp_path / "stateful_runtime.engine.lock"
    lock.write_text("{}")
    code = ("import fcntl,sys,time; f=open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('x', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "x"
        assert locks.is_flock_held(lock) is True
    finally:
        proc.kill()
        proc.wait()
    assert locks.is_flock_held(lock) is False
