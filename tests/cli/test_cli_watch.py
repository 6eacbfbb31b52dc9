"""`dead-letters list --watch`: JSON Lines of what changed when piped, a live table on a terminal
(a real pty), and a clean stop on SIGINT with exit 0 — real processes and signals."""

import os
import pty
import select
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tandemctl.commands.watch import diff_rows
from tests.conftest import StateDir
from tests.factories import dead_letter, write_store
from tests.triage_state import STORE_KINDS, Triage, build_state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_diff_rows() -> None:
    a, b = dead_letter("dead-a"), dead_letter("dead-b")
    b2 = {**b, "status": "resolved"}
    c = dead_letter("dead-c")
    changes = diff_rows({"dead-a": a, "dead-b": b}, {"dead-b": b2, "dead-c": c})
    assert [(ch["change"], ch["dead_letter_id"]) for ch in changes] == [
        ("changed", "dead-b"), ("added", "dead-c"), ("removed", "dead-a")]
    assert changes[0]["from_status"] == "open" and changes[0]["row"]["status"] == "resolved"
    assert diff_rows({"dead-a": a}, {"dead-a": a}) == []


def command(state: StateDir) -> list[str]:
    return [sys.executable, "-m", "tandemctl", "--state-dir", str(state.root), "--all-tenants", "dead-letters",
            "list", "--watch", "--interval", "50ms"]


def test_piped_watch_prints_changes_as_json_lines(kind: str, state: StateDir) -> None:
    rows = [dead_letter("dead-a"), dead_letter("dead-b")]
    build_state(kind, state.root, Triage(dead_letters=rows))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command(state), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    try:
        first = [orjson.loads(process.stdout.readline()) for _ in range(2)]
        assert sorted((c["change"], c["dead_letter_id"]) for c in first) == [("added", "dead-a"), ("added", "dead-b")]
        if kind == "json":
            # Replaced atomically, as the engine writes it (a half-written file would be corrupt state).
            staged = state.reliability.with_name("staged.json")
            write_store(staged, [dead_letter("dead-a", status="resolved", updated=5000)])
            os.replace(staged, state.reliability)
            expected = [("changed", "dead-a"), ("removed", "dead-b")]
        else:  # a database never loses a row: another tandemctl resolves one
            subprocess.run([*command(state)[:5], "dead-letters", "resolve", "dead-a", "--reason", "done"], cwd=ROOT,
                           env=env, check=True, capture_output=True)
            expected = [("changed", "dead-a")]
        later = [orjson.loads(process.stdout.readline()) for _ in expected]
        assert [(c["change"], c["dead_letter_id"]) for c in later] == expected
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.stderr is not None and b"Traceback" not in process.stderr.read()


def test_terminal_watch_shows_a_live_table_and_stops_on_ctrl_c(kind: str, state: StateDir) -> None:
    build_state(kind, state.root, Triage(dead_letters=[dead_letter("dead-a")]))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100", "LINES": "30", "TERM": "xterm"}
    leader, follower = pty.openpty()
    process = subprocess.Popen(command(state), cwd=ROOT, env=env, stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""
    try:
        while b"dead-a" not in seen:
            ready, _, _ = select.select([leader], [], [], 30)
            assert ready, f"no table on the terminal: {seen!r}"
            seen += os.read(leader, 65536)
        assert b"1 dead letter(s) at" in seen and b"Ctrl-C stops" in seen
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
