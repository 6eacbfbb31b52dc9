"""Progress shows on stderr only when stderr is a terminal (a real pty here), never with -q and
never in stdout, which stays byte-identical to a non-terminal run."""

import os
import select
import subprocess
import sys
from pathlib import Path

from tests.conftest import NOW_MS, StateDir
from tests.factories import dead_letter
from tests.triage_state import Triage, build_state

ROOT = Path(__file__).resolve().parents[2]


def run(state: StateDir, *args: str, stderr_tty: bool) -> tuple[bytes, bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TANDEMCTL_NOW_MS": str(NOW_MS), "COLUMNS": "100",
           "TERM": "xterm"}
    argv = [sys.executable, "-m", "tandemctl", "--state-dir", str(state.root), *args]
    if not stderr_tty:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=60, check=True)
        return done.stdout, done.stderr
    leader, follower = os.openpty()
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    err = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 30)
        try:
            chunk = os.read(leader, 65536) if ready else b""
        except OSError:  # the pty closes when the process exits
            chunk = b""
        if not chunk:
            break
        err += chunk
    out = process.stdout.read() if process.stdout else b""
    assert process.wait(timeout=30) == 0
    os.close(leader)
    return out, err


def test_progress_only_on_a_terminal_stderr(state: StateDir) -> None:
    build_state("json", state.root, Triage(dead_letters=[dead_letter(f"dead-{i}") for i in range(50)]))
    piped_out, piped_err = run(state, "--all-tenants", "dead-letters", "stats", stderr_tty=False)
    tty_out, tty_err = run(state, "--all-tenants", "dead-letters", "stats", stderr_tty=True)
    quiet_out, quiet_err = run(state, "-q", "--all-tenants", "dead-letters", "stats", stderr_tty=True)
    assert b"counting dead letters" in tty_err
    assert b"counting dead letters" not in piped_err and b"counting dead letters" not in quiet_err
    assert tty_out == piped_out == quiet_out


def test_bulk_actions_show_progress_after_the_decision_only_on_a_terminal(state: StateDir) -> None:
    rows = [dead_letter(f"dead-{i}", status="ignored") for i in range(50)]
    build_state("json", state.root, Triage(dead_letters=rows))
    action = ("-o", "jsonl", "--all-tenants", "dead-letters", "park", "--status", "ignored", "--force", "--yes",
              "--reason", "bulk")
    _, tty_err = run(state, "--all-tenants", "dead-letters", "retry", "--status", "ignored", "--reason", "x",
                     "--yes", stderr_tty=True)
    assert b"retry: planning and writing" in tty_err
    _, piped_err = run(state, *action, stderr_tty=False)
    assert b"planning and writing" not in piped_err
    _, quiet_err = run(state, "-q", "--all-tenants", "dead-letters", "reopen", "--status", "retry_requested",
                       "--reason", "x", "--yes", stderr_tty=True)
    assert b"planning and writing" not in quiet_err
