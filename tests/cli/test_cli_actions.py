"""`dead-letters retry|park|resolve|reopen`, `history` and `undo` through the CLI: exit codes,
every output format, dry runs, confirmation rules (real pty and pipes), one write, the journal."""

import csv
import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tandemctl.engine.records import canonical_row
from tandemctl.stores.json_codec import ReliabilityData, serialize_reliability
from tests.conftest import NOW_MS, Result, StateDir
from tests.factories import dead_letter, tenant, write_store

Cli = Callable[..., Result]
TENANT_A = tenant("org-a", "ws-a")
EXHAUSTED_META = {"idempotency_key": "k", "retry_backoff_ms": 32000, "retry_dispatch_count": 5,
                  "retry_dispatched_at_ms": 900}
EXHAUSTED_CHANGES = {"operator_retry_count": {"after": 1}, "previous_retry_dispatch_count": {"after": 5},
                     "retry_backoff_ms": {"before": 32000}, "retry_dispatch_count": {"before": 5},
                     "retry_dispatched_at_ms": {"before": 900}}


def seed(state: StateDir, rows: list[dict[str, Any]]) -> bytes:
    """Write the store as the engine would, last written a minute ago (an idle engine)."""
    data = write_store(state.reliability, rows)
    os.utime(state.reliability, ns=(time.time_ns() - 60_000_000_000,) * 2)
    return data


def rows_by_id(state: StateDir) -> dict[str, dict[str, Any]]:
    return {row["dead_letter_id"]: row for row in json.loads(state.reliability.read_bytes())["dead_letters"]}


def journal_lines(state: StateDir) -> list[dict[str, Any]]:
    return [json.loads(line) for line in state.journal.read_text().splitlines()] if state.journal.exists() else []


def _parked_exhausted() -> dict[str, Any]:
    return dead_letter("dead-x", status="ignored", operator_disposition="retry_exhausted",
                       disposition_reason="automatic retries exhausted", metadata=dict(EXHAUSTED_META))


# --- the transition table, one id at a time -------------------------------------------------------------

CASES = [  # action, status, force, exit code, final status
    ("retry", "open", False, 0, "retry_requested"), ("retry", "ignored", False, 0, "retry_requested"),
    ("retry", "linked_to_compensation", False, 0, "retry_requested"),
    ("retry", "retry_requested", False, 0, "retry_requested"), ("retry", "retrying", False, 6, "retrying"),
    ("retry", "retrying", True, 0, "retry_requested"), ("retry", "resolved", False, 6, "resolved"),
    ("retry", "resolved", True, 0, "retry_requested"),
    ("park", "open", False, 0, "ignored"), ("park", "retry_requested", False, 0, "ignored"),
    ("park", "retrying", False, 0, "ignored"), ("park", "linked_to_compensation", False, 0, "ignored"),
    ("park", "ignored", False, 0, "ignored"), ("park", "resolved", False, 6, "resolved"),
    ("park", "resolved", True, 0, "ignored"),
    *[("resolve", s, False, 0, "resolved") for s in ("open", "retry_requested", "retrying", "ignored",
                                                     "linked_to_compensation", "resolved")],
    *[("reopen", s, False, 0, "open") for s in ("ignored", "resolved", "linked_to_compensation",
                                                "retry_requested", "retrying", "open")],
]


@pytest.mark.parametrize(("action", "status", "force", "code", "final"), CASES)
def test_transition_table_through_the_cli(tandemctl: Cli, state: StateDir, action: str, status: str, force: bool,
                                          code: int, final: str) -> None:
    before = seed(state, [dead_letter("dead-1", status=status), dead_letter("dead-2")])
    args = ["-o", "json", "dead-letters", action, "dead-1", "--reason", "why", *(["--force"] if force else [])]
    result = tandemctl(*args)
    assert result.exit_code == code, result.stderr
    data = result.json()["data"]
    assert rows_by_id(state)["dead-1"]["status"] == final
    if final == status:  # unchanged or refused: no write at all, no journal line
        assert state.reliability.read_bytes() == before and not state.journal.exists()
        assert data["applied"] is False and data["operation_id"] is None
        key = "unchanged" if code == 0 else "refused"
        assert [r["dead_letter_id"] for r in data[key]] == ["dead-1"]
        assert code == 0 or "--force" in data["refused"][0]["reason"] or "in flight" in data["refused"][0]["reason"]
    else:
        assert data["changed"][0]["from"] == status and data["changed"][0]["to"] == final
        assert [line["operation_id"] for line in journal_lines(state)] == [data["operation_id"]]


def test_a_change_is_exactly_the_engine_write_and_other_rows_stay_byte_identical(tandemctl: Cli,
                                                                                state: StateDir) -> None:
    target = dead_letter("dead-1", created=1000, updated=3000, payload_pointer="external-action://a",
                         metadata={"operation": "mock.send", "idempotency_key": "k"})
    others = [dead_letter("dead-2", created=1500, updated=2000), dead_letter("dead-3", created=1200, updated=1200)]
    seed(state, [target, *others])
    result = tandemctl("--actor", "alice", "dead-letters", "park", "dead-1", "--reason", "duplicate send")
    assert result.exit_code == 0, result.stderr
    expected = canonical_row({**target, "status": "ignored", "operator_disposition": "ignored",
                              "disposition_reason": "duplicate send",
                              "disposition_actor": {"kind": "human_user", "id": "alice"},
                              "disposition_at_ms": NOW_MS, "updated_at_ms": NOW_MS}, "dead_letters")
    top = {"schema_version": 1, "outbox": [], "tool_effects": [], "dead_letters": [expected, *others],
           "compensations": []}
    assert state.reliability.read_bytes() == serialize_reliability(ReliabilityData(top=top, exists=True))


def test_actor_comes_from_env_or_login_user_and_no_reason_clears_the_old_one(tandemctl: Cli,
                                                                           state: StateDir) -> None:
    seed(state, [dead_letter("dead-1", status="ignored", operator_disposition="ignored",
                             disposition_reason="old reason"), dead_letter("dead-2", status="ignored")])
    assert tandemctl("dead-letters", "reopen", "dead-1").exit_code == 0
    assert tandemctl("dead-letters", "reopen", "dead-2", env={"TANDEMCTL_ACTOR": "bob"}).exit_code == 0
    rows = rows_by_id(state)
    assert "disposition_reason" not in rows["dead-1"] and rows["dead-1"]["operator_disposition"] == "reopened"
    assert rows["dead-1"]["disposition_actor"] == {"kind": "human_user", "id": "ops-tester"}
    assert rows["dead-2"]["disposition_actor"] == {"kind": "human_user", "id": "bob"}


def test_retry_of_a_parked_exhausted_row_gets_a_fresh_budget(tandemctl: Cli, state: StateDir) -> None:
    seed(state, [_parked_exhausted()])
    result = tandemctl("-o", "json", "dead-letters", "retry", "dead-x", "--reason", "provider is back")
    assert result.exit_code == 0
    assert result.json()["data"]["changed"][0]["metadata_changes"] == EXHAUSTED_CHANGES
    row = rows_by_id(state)["dead-x"]
    assert (row["status"], row["operator_disposition"]) == ("retry_requested", "retry_requested")
    assert row["metadata"] == {"idempotency_key": "k", "operator_retry_count": 1, "previous_retry_dispatch_count": 5}


def test_retry_of_a_row_the_dispatcher_ignores_is_refused_and_says_why(tandemctl: Cli, state: StateDir) -> None:
    seed(state, [dead_letter("dead-wait", source_type="stateful_wait", options=("ignore", "compensate"))])
    result = tandemctl("dead-letters", "retry", "dead-wait", "--force")
    assert result.exit_code == 6
    assert "refused" in result.stdout and "dispatcher would never act on it" in result.stdout


# --- tenant scoping, not found ---------------------------------------------------------------------------


def test_another_tenants_id_is_not_found_and_the_file_untouched(tandemctl: Cli, state: StateDir) -> None:
    before = seed(state, [dead_letter("dead-a", tenant_context=TENANT_A), dead_letter("dead-1")])
    result = tandemctl("-o", "json", "dead-letters", "resolve", "dead-a", "--reason", "r")
    assert result.exit_code == 3 and result.json()["data"]["not_found"] == ["dead-a"]
    assert "not found" in result.stderr
    assert state.reliability.read_bytes() == before and not state.journal.exists()
    assert tandemctl("--tenant", "org-a/ws-a", "dead-letters", "resolve", "dead-a", "--reason", "r").exit_code == 0


def test_bulk_stays_in_the_tenant_unless_all_tenants(tandemctl: Cli, state: StateDir) -> None:
    seed(state, [dead_letter("dead-a", tenant_context=TENANT_A), dead_letter("dead-1"), dead_letter("dead-2")])
    assert tandemctl("dead-letters", "park", "--status", "open", "--reason", "r", "--yes").exit_code == 0
    assert {k: r["status"] for k, r in rows_by_id(state).items()} == {
        "dead-a": "open", "dead-1": "ignored", "dead-2": "ignored"}
    assert tandemctl("--all-tenants", "dead-letters", "park", "--all", "--reason", "r", "--yes").exit_code == 0
    assert rows_by_id(state)["dead-a"]["status"] == "ignored"


def test_not_found_wins_over_refused(tandemctl: Cli, state: StateDir) -> None:
    seed(state, [dead_letter("dead-1", status="resolved"), dead_letter("dead-2")])
    result = tandemctl("-o", "json", "dead-letters", "park", "dead-1", "dead-2", "dead-nope", "--reason", "r")
    assert result.exit_code == 3
    body = result.json()
    assert body["ok"] is False and body["exit_code"] == 3
    assert body["data"]["not_found"] == ["dead-nope"] and body["data"]["refused"][0]["dead_letter_id"] == "dead-1"
    assert [r["dead_letter_id"] for r in body["data"]["changed"]] == ["dead-2"]  # found ids are still acted on


# --- output: envelope, table, every format under --dry-run -----------------------------------------------


def test_json_envelope_data_contract(tandemctl: Cli, state: StateDir) -> None:
    seed(state, [dead_letter("dead-1"), dead_letter("dead-2", status="retry_requested"),
                 dead_letter("dead-3", status="retrying")])
    body = tandemctl("-o", "json", "dead-letters", "retry", "dead-1", "dead-2", "dead-3", "--reason", "r").json()
    assert set(body) == {"version", "command", "ok", "exit_code", "data", "errors"}
    assert (body["command"], body["ok"], body["exit_code"]) == ("dead-letters retry", False, 6)
    data = body["data"]
    assert set(data) == {"operation_id", "action", "dry_run", "applied", "changed", "unchanged", "refused",
                         "not_found"}
    assert data["applied"] is True and data["dry_run"] is False and data["operation_id"].startswith("op-")
    assert data["changed"] == [{"dead_letter_id": "dead-1", "from": "open", "to": "retry_requested",
                                "metadata_changes": {"operator_retry_count": {"after": 1},
                                                     "previous_retry_dispatch_count": {"after": 0}}}]
    assert data["unchanged"] == [{"dead_letter_id": "dead-2", "status": "retry_requested"}]
    assert data["refused"][0]["dead_letter_id"] == "dead-3" and data["refused"][0]["status"] == "retrying"


def test_table_has_one_line_per_row_and_a_summary_on_stderr(tandemctl: Cli, state: StateDir) -> None:
    seed(state, [dead_letter("dead-1"), dead_letter("dead-2", status="ignored")])
    result = tandemctl("dead-letters", "reopen", "dead-1", "dead-2", "dead-9")
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and lines[0].split() == ["ID", "FROM", "TO", "OUTCOME", "DETAIL"]
    assert lines[1].split()[:4] == ["dead-1", "open", "open", "unchanged"]
    assert lines[2].split()[:4] == ["dead-2", "ignored", "open", "changed"]
    assert lines[3].split()[:4] == ["dead-9", "-", "-", "not"]
    assert "reopen: 1 changed, 1 unchanged, 0 refused, 1 not found; operation op-" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv"])
def test_dry_run_shows_the_change_in_every_format_and_writes_nothing(tandemctl: Cli, state: StateDir,
                                                                     fmt: str) -> None:
    before = seed(state, [_parked_exhausted(), dead_letter("dead-1", status="resolved")])
    result = tandemctl("-o", fmt, "dead-letters", "retry", "--status", "ignored", "--status", "resolved",
                       "--reason", "r", "--dry-run")
    assert result.exit_code == 6, result.stderr  # dead-1 is resolved: refused without --force
    assert state.reliability.read_bytes() == before and not state.journal.exists()
    assert "dry run, nothing written" in result.stderr
    if fmt == "json":
        data = result.json()["data"]
        assert (data["dry_run"], data["applied"], data["operation_id"]) == (True, False, None)
        assert data["changed"] == [{"dead_letter_id": "dead-x", "from": "ignored", "to": "retry_requested",
                                    "metadata_changes": EXHAUSTED_CHANGES}]
        return
    if fmt == "table":
        line = next(line for line in result.stdout.splitlines() if line.startswith("dead-x"))
        assert line.split()[:5] == ["dead-x", "ignored", "retry_requested", "would", "change"]
        assert "-retry_dispatch_count(5)" in result.stdout and "+operator_retry_count=1" in result.stdout
        return
    rows = ([json.loads(line) for line in result.stdout.splitlines()] if fmt == "jsonl"
            else list(csv.DictReader(io.StringIO(result.stdout))))
    first = rows[0]
    assert (first["dead_letter_id"], first["outcome"], first["from"], first["to"]) == (
        "dead-x", "changed", "ignored", "retry_requested")
    changes = first["metadata_changes"] if fmt == "jsonl" else json.loads(first["metadata_changes"])
    assert changes == EXHAUSTED_CHANGES and str(first["dry_run"]).lower() == "true"
    assert rows[1]["outcome"] == "refused"


# --- usage errors ----------------------------------------------------------------------------------------

USAGE = [
    (["retry", "dead-1", "--status", "open"], "not both"),
    (["retry", "dead-1", "--all"], "not both"),
    (["retry", "--reason", "r", "--yes"], "--all"),
    (["park", "--status", "all", "--reason", "r", "--yes"], "pass --all"),
    (["park", "dead-1"], "--reason TEXT is required"),
    (["resolve", "dead-1"], "--reason TEXT is required"),
    (["retry", "--run", "run-a", "--yes"], "--reason TEXT is required"),
    (["reopen", "--all", "--yes"], "--reason TEXT is required"),
    (["retry", "--run", "run-a", "--reason", "r"], "not a terminal"),
    (["-o", "json", "retry", "--run", "run-a", "--reason", "r"], "cannot ask for confirmation"),
    (["-o", "csv", "park", "--all", "--reason", "r"], "cannot ask for confirmation"),
]


@pytest.mark.parametrize(("args", "message"), USAGE)
def test_usage_errors_exit_2_and_write_nothing(tandemctl: Cli, state: StateDir, args: list[str],
                                               message: str) -> None:
    before = seed(state, [dead_letter("dead-1")])
    fmt = args[:2] if args[0] == "-o" else []
    result = tandemctl(*fmt, "dead-letters", *args[len(fmt):])
    assert result.exit_code == 2
    assert message in result.stderr
    assert state.reliability.read_bytes() == before and not state.journal.exists()


def test_help_documents_exit_code_precedence(tandemctl: Cli) -> None:
    result = tandemctl("dead-letters", "retry", "--help")
    assert result.exit_code == 0 and "3 wins when both" in " ".join(result.stdout.split())


# --- one write per invocation ----------------------------------------------------------------------------


def test_bulk_action_of_many_rows_is_one_store_write_and_one_journal_append(tandemctl: Cli, state: StateDir,
                                                                            tmp_path: Path) -> None:
    seed(state, [dead_letter(f"dead-{i:02d}", created=1000 + i) for i in range(25)])
    inode = state.reliability.stat().st_ino
    log = tmp_path / "faults.log"
    result = tandemctl("dead-letters", "retry", "--run", "run-a", "--reason", "r", "--yes",
                       env={"TANDEMCTL_FAULT_LOG": str(log)})
    assert result.exit_code == 0
    labels = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    assert labels.count("rename stateful_reliability.json") == 1
    assert labels.count("append tandemctl-journal.jsonl") == 1
    assert labels.index("rename stateful_reliability.json") < labels.index("append tandemctl-journal.jsonl")
    assert state.reliability.stat().st_ino != inode
    assert {row["status"] for row in rows_by_id(state).values()} == {"retry_requested"}
    assert len(journal_lines(state)[0]["rows"]) == 25


# --- journal, history, undo ------------------------------------------------------------------------------


def test_journal_line_records_who_when_why_how_and_every_changed_field(tandemctl: Cli, state: StateDir) -> None:
    seed(state, [_parked_exhausted(), dead_letter("dead-1", status="resolved")])
    body = tandemctl("--actor", "alice", "-o", "json", "dead-letters", "retry", "--status", "ignored",
                     "--status", "resolved", "--reason", "provider is back", "--yes").json()
    [line] = journal_lines(state)
    assert line["operation_id"] == body["data"]["operation_id"]
    assert (line["at_ms"], line["at"], line["actor"], line["action"], line["reason"]) == (
        NOW_MS, "2026-11-27T00:00:00.000Z", "alice", "retry", "provider is back")
    assert line["selector"] == {"status": ["ignored", "resolved"]} and line["tenant"] == "local/local"
    assert isinstance(line["argv"], list)
    assert line["refused"][0]["dead_letter_id"] == "dead-1" and line["not_found"] == []
    [row] = line["rows"]
    assert row["dead_letter_id"] == "dead-x" and row["tenant"] == {"org_id": "local", "workspace_id": "local"}
    assert set(row["fields"]) == {"status", "operator_disposition", "disposition_reason", "disposition_actor",
                                  "disposition_at_ms", "updated_at_ms", "metadata"}
    assert row["before"]["status"] == "ignored" and row["after"]["status"] == "retry_requested"
    assert row["before"]["metadata"] == EXHAUSTED_META
    assert row["after"]["disposition_actor"] == {"kind": "human_user", "id": "alice"}


def test_history_lists_operations_newest_first_in_table_and_json(tandemctl: Cli, state: StateDir) -> None:
    seed(state, [dead_letter("dead-1"), dead_letter("dead-2")])
    first = tandemctl("-o", "json", "dead-letters", "park", "dead-1", "--reason", "dup").json()["data"]
    second = tandemctl("-o", "json", "dead-letters", "resolve", "dead-2", "--reason", "fixed").json()["data"]
    body = tandemctl("-o", "json", "history").json()
    assert body["command"] == "history" and body["ok"] is True
    assert [e["operation_id"] for e in body["data"]] == [second["operation_id"], first["operation_id"]]
    only = tandemctl("-o", "json", "history", "--id", "dead-1").json()["data"]
    assert [e["operation_id"] for e in only] == [first["operation_id"]]
    assert len(tandemctl("-o", "json", "history", "-n", "1").json()["data"]) == 1
    table = tandemctl("history")
    assert table.exit_code == 0 and "2 operation(s)" in table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].split()[0] == second["operation_id"] and "resolve" in lines[1] and "fixed" in lines[1]
    assert tandemctl("--tenant", "org-a/ws-a", "-o", "json", "history").json()["data"] == []


def test_undo_reverts_status_disposition_and_retry_budget_and_is_journaled(tandemctl: Cli, state: StateDir) -> None:
    original = _parked_exhausted()
    seed(state, [original, dead_letter("dead-1")])
    op = tandemctl("-o", "json", "dead-letters", "retry", "--run", "run-a", "--reason", "r", "--yes").json()
    op_id = op["data"]["operation_id"]
    result = tandemctl("-o", "json", "undo", op_id, "--reason", "wrong run", "--yes")
    assert result.exit_code == 0, result.stderr
    data = result.json()["data"]
    assert sorted((c["dead_letter_id"], c["from"], c["to"]) for c in data["changed"]) == [
        ("dead-1", "retry_requested", "open"), ("dead-x", "retry_requested", "ignored")]
    rows = rows_by_id(state)
    # Everything back; the clock moves forward (the pinned clock did not: one past the retry's write).
    assert rows["dead-x"] == {**original, "updated_at_ms": NOW_MS + 1}
    assert rows["dead-1"] == {**dead_letter("dead-1"), "updated_at_ms": NOW_MS + 1}
    undo_line = journal_lines(state)[-1]
    assert (undo_line["action"], undo_line["undoes"], undo_line["reason"]) == ("undo", op_id, "wrong run")
    assert undo_line["operation_id"] == data["operation_id"] != op_id
    assert tandemctl("undo", op_id, "--yes").exit_code == 6  # already undone: the rows moved on


def test_undo_refuses_rows_that_moved_on_and_reverts_the_rest(tandemctl: Cli, state: StateDir) -> None:
    seed(state, [dead_letter("dead-1"), dead_letter("dead-2")])
    op_id = tandemctl("-o", "json", "dead-letters", "retry", "--run", "run-a", "--reason", "r",
                      "--yes").json()["data"]["operation_id"]
    rows = rows_by_id(state)
    dispatched = {**rows["dead-1"], "status": "retrying", "updated_at_ms": NOW_MS + 1000,
                  "metadata": {**rows["dead-1"]["metadata"], "retry_dispatch_count": 1}}
    seed(state, [dispatched, rows["dead-2"]])  # the engine's dispatcher picked dead-1 up since
    result = tandemctl("-o", "json", "undo", op_id, "--yes")
    assert result.exit_code == 6
    data = result.json()["data"]
    assert [c["dead_letter_id"] for c in data["changed"]] == ["dead-2"]
    [refused] = data["refused"]
    assert refused["dead_letter_id"] == "dead-1" and "moved on since" in refused["reason"]
    assert "'retrying'" in refused["reason"]
    assert rows_by_id(state)["dead-1"] == dispatched and rows_by_id(state)["dead-2"]["status"] == "open"


def test_undo_dry_run_writes_nothing_and_unknown_operation_is_not_found(tandemctl: Cli, state: StateDir) -> None:
    seed(state, [dead_letter("dead-1")])
    op_id = tandemctl("-o", "json", "dead-letters", "park", "dead-1", "--reason", "r").json()["data"]["operation_id"]
    before, journal_before = state.reliability.read_bytes(), state.journal.read_bytes()
    preview = tandemctl("-o", "json", "undo", op_id, "--dry-run")
    assert preview.exit_code == 0 and preview.json()["data"]["changed"][0]["to"] == "open"
    assert tandemctl("undo", op_id).exit_code == 2  # not a terminal and no --yes
    missing = tandemctl("-o", "json", "undo", "op-20260101T000000-deadbeef", "--yes")
    assert missing.exit_code == 3 and missing.json()["errors"][0]["code"] == "not_found"
    assert state.reliability.read_bytes() == before and state.journal.read_bytes() == journal_before


# --- confirmation on a real terminal (pty) and on pipes ---------------------------------------------------


def run_in_pty(args: list[str], answer: str | None, timeout: float = 20) -> tuple[int, str]:
    """Run `python -m tandemctl ARGS` with stdin/stdout/stderr on a pseudo-terminal."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdio is the terminal
        os.execve(sys.executable, [sys.executable, "-m", "tandemctl", *args], dict(os.environ))
    output, answered, deadline = b"", False, time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fd in select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        if answer is not None and not answered and b"[y/N]" in output:
            os.write(fd, answer.encode() + b"\n")
            answered = True
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


def test_terminal_prompt_shows_the_match_count_and_declining_aborts(state: StateDir) -> None:
    before = seed(state, [dead_letter("dead-1"), dead_letter("dead-2"), dead_letter("dead-3", status="ignored")])
    code, output = run_in_pty(["--state-dir", str(state.root), "dead-letters", "park", "--run", "run-a",
                               "--reason", "r"], answer="n")
    assert "park: 3 dead letter(s) match, 2 will change (1 unchanged, 0 refused). Proceed? [y/N]" in output
    assert code == 1 and "aborted" in output
    assert state.reliability.read_bytes() == before and not state.journal.exists()


def test_terminal_prompt_accepted_applies_and_journals_the_command_line(state: StateDir) -> None:
    seed(state, [dead_letter("dead-1"), dead_letter("dead-2")])
    args = ["--state-dir", str(state.root), "dead-letters", "park", "--run", "run-a", "--reason", "dup"]
    code, output = run_in_pty(args, answer="y")
    assert code == 0, output
    assert {row["status"] for row in rows_by_id(state).values()} == {"ignored"}
    [line] = journal_lines(state)
    assert line["argv"] == args and len(line["rows"]) == 2


def test_single_id_actions_do_not_prompt_and_json_never_prompts(state: StateDir) -> None:
    before = seed(state, [dead_letter("dead-1"), dead_letter("dead-2")])
    code, output = run_in_pty(["--state-dir", str(state.root), "-o", "json", "dead-letters", "park", "--all",
                               "--reason", "r"], answer=None)
    assert code == 2 and "[y/N]" not in output and "--yes" in output
    assert state.reliability.read_bytes() == before
    code, output = run_in_pty(["--state-dir", str(state.root), "dead-letters", "park", "dead-1", "--reason", "r"],
                              answer=None)
    assert code == 0 and "[y/N]" not in output and rows_by_id(state)["dead-1"]["status"] == "ignored"


def test_pipes_are_not_a_terminal_so_bulk_needs_yes(state: StateDir) -> None:
    before = seed(state, [dead_letter("dead-1")])
    command = [sys.executable, "-m", "tandemctl", "--state-dir", str(state.root), "dead-letters", "retry",
               "--run", "run-a", "--reason", "r"]
    refused = subprocess.run(command, input="y\n", capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "--yes" in refused.stderr and "[y/N]" not in refused.stderr
    assert state.reliability.read_bytes() == before
    accepted = subprocess.run([*command, "--yes"], capture_output=True, text=True, timeout=30)
    assert accepted.returncode == 0 and rows_by_id(state)["dead-1"]["status"] == "retry_requested"


@pytest.mark.parametrize("tamper", ["unhashable_field", "invalid_before", "foreign_field"])
def test_undo_never_writes_what_a_tampered_journal_asks_for(tandemctl: Cli, state: StateDir, tamper: str) -> None:
    seed(state, [dead_letter("dead-1")])
    op_id = tandemctl("-o", "json", "dead-letters", "park", "dead-1", "--reason", "r").json()["data"]["operation_id"]
    lines = state.journal.read_text().splitlines()
    entry = json.loads(lines[-1])
    record = entry["rows"][0]
    if tamper == "unhashable_field":
        record["fields"].append(["status"])
    elif tamper == "invalid_before":
        record["before"]["status"] = "Bogus"
    else:
        record["fields"].append("attempts")
        record["before"]["attempts"] = "many"
        record["after"]["attempts"] = 2
    state.journal.write_text("\n".join([*lines[:-1], json.dumps(entry)]) + "\n")
    before = state.reliability.read_bytes()
    result = tandemctl("-o", "json", "undo", op_id, "--yes")
    assert result.exit_code == 6 and "Traceback" not in result.stderr, result.stderr
    assert result.json()["data"]["refused"][0]["dead_letter_id"] == "dead-1"
    assert state.reliability.read_bytes() == before


def test_bulk_action_with_stdin_closed_is_a_usage_error_not_a_crash(state: StateDir) -> None:
    seed(state, [dead_letter("dead-1")])
    before = state.reliability.read_bytes()
    env = {**os.environ, "TANDEMCTL_NOW_MS": str(NOW_MS)}
    done = subprocess.run([sys.executable, "-m", "tandemctl", "--state-dir", str(state.root), "dead-letters",
                           "park", "--all", "--reason", "cron"], env=env, capture_output=True, text=True,
                          preexec_fn=lambda: os.close(0))
    assert done.returncode == 2 and "--yes" in done.stderr and "internal error" not in done.stderr
    assert state.reliability.read_bytes() == before


def test_global_lock_timeout_makes_a_busy_store_exit_4(tandemctl: Cli, state: StateDir) -> None:
    from tests.fs.test_fsutil import _hold_lock

    seed(state, [dead_letter("dead-1")])
    before = state.reliability.read_bytes()
    holder = _hold_lock(state.reliability)
    try:
        result = tandemctl("--lock-timeout", "0.2", "-o", "json", "dead-letters", "park", "dead-1", "--reason", "x")
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 4 and result.json()["errors"][0]["code"] == "busy"
    assert "--lock-timeout" in result.stderr and state.reliability.read_bytes() == before
    assert tandemctl("--lock-timeout", "0.2", "dead-letters", "park", "dead-1", "--reason", "x").exit_code == 0
