"""Scope is always visible, the journal is strict, sweeps are journaled, and the small things
a user notices (actor, tenant blame, nothing selected, undo twice)."""

import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NOW_MS, StateDir

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "state" / "data"
LOCAL_OPEN = "dead-letter-effect-d5345dd5895401de"
GLOBEX_RETRYING = "dead-letter-effect-16fa91864a647bf7"
ACME_IGNORED = "dead-letter-effect-a6cc191590fe185d"
RUN_F38 = "automation-v2-run-f38b2ffc-80a4-4f5a-91c9-bc701e7ea419"
NO_ENGINE = {"TANDEM_ENGINE_PORT": "9"}


@pytest.fixture
def sample(state: StateDir) -> StateDir:
    shutil.rmtree(state.data)
    shutil.copytree(SAMPLE, state.data)
    return state


# --- 8: scope is always visible ------------------------------------------------------------------

def test_list_and_history_say_which_tenant_and_how_many_rows_others_hold(tandemctl, sample: StateDir) -> None:
    listed = tandemctl("dead-letters", "list")
    assert "tenant local/local" in listed.stderr and "10 more in other tenants; --all-tenants" in listed.stderr
    assert tandemctl("--tenant", "acme/ops", "dead-letters", "reopen", ACME_IGNORED).exit_code == 0
    history = tandemctl("history")
    # the sample's own operation (acme/ops) and the one just made: both only in other tenants
    assert "tenant local/local; 2 more in other tenants; --all-tenants to see them" in history.stderr
    assert "all tenants" in tandemctl("--all-tenants", "history").stderr


def test_undo_takes_the_operations_recorded_scope(tandemctl, sample: StateDir) -> None:
    done = tandemctl("--all-tenants", "-o", "json", "dead-letters", "park", "--status", "open", "--reason", "b",
                     "--yes").json()
    assert len(done["data"]["changed"]) > 1
    undone = tandemctl("-o", "json", "undo", done["data"]["operation_id"], "--yes")  # no --all-tenants
    assert undone.exit_code == 0, undone.stderr
    assert {r["dead_letter_id"] for r in undone.json()["data"]["changed"]} == {
        r["dead_letter_id"] for r in done["data"]["changed"]}


def test_an_id_of_another_tenant_says_where_it_is(tandemctl, sample: StateDir) -> None:
    result = tandemctl("dead-letters", "park", GLOBEX_RETRYING, "--reason", "x")
    assert result.exit_code == 3
    assert f"{GLOBEX_RETRYING} is in tenant globex/billing/eu-west-1: use --tenant globex/billing/eu-west-1" \
        in result.stderr


# --- 9: the journal is strict like the store ----------------------------------------------------

def test_a_corrupt_journal_line_is_reported_and_is_partial(tandemctl, sample: StateDir) -> None:
    for reason in ("one", "two"):
        assert tandemctl("dead-letters", "park", LOCAL_OPEN, "--force", "--reason", reason).exit_code == 0
        assert tandemctl("dead-letters", "reopen", LOCAL_OPEN).exit_code == 0
    lines = sample.journal.read_bytes().splitlines(keepends=True)
    lost = json.loads(lines[2])["operation_id"]
    lines[2] = lines[2][:40] + b"\n"
    sample.journal.write_bytes(b"".join(lines))
    history = tandemctl("-o", "json", "history")
    assert history.exit_code == 6 and len(history.json()["data"]) == 3
    assert "line 3 is not a readable journal entry" in history.stderr
    assert history.json()["errors"][0]["line"] == 3
    undo = tandemctl("undo", lost, "--yes")
    assert undo.exit_code == 5 and "line(s) 3 cannot be read" in undo.stderr


# --- 10: sweeps that change something are journaled ---------------------------------------------

def test_sweeps_are_journaled_and_history_filters(tandemctl, sample: StateDir) -> None:
    assert tandemctl("--actor", "alice", "dead-letters", "park", LOCAL_OPEN, "--reason", "x").exit_code == 0
    assert tandemctl("--actor", "bob", "sweep", "--once", env=NO_ENGINE).exit_code == 0
    assert tandemctl("sweep", "--once", env=NO_ENGINE).exit_code == 0  # nothing left to do: no entry
    body = tandemctl("--all-tenants", "-o", "json", "history", "--actor", "tandemctl-sweep").json()
    assert len(body["data"]) == 1
    entry = body["data"][0]
    assert entry["action"] == "sweep" and entry["operator"] == "bob" and entry["at_ms"] == NOW_MS
    changed = {row["dead_letter_id"]: (row["from"], row["to"]) for row in entry["rows"]}
    assert changed["dead-letter-effect-bdeb18dab3e9b3e4"] == ("retry_requested", "retrying")
    row = next(r for r in entry["rows"] if r["dead_letter_id"] == "dead-letter-effect-bdeb18dab3e9b3e4")
    assert row["before"]["status"] == "retry_requested" and row["after"]["status"] == "retrying"
    by_row = tandemctl("-o", "json", "history", "--dead-letter", "dead-letter-effect-bdeb18dab3e9b3e4").json()
    assert [e["action"] for e in by_row["data"]] == ["sweep"]
    by_run = tandemctl("--all-tenants", "-o", "json", "history", "--run", RUN_F38).json()
    assert [e["action"] for e in by_run["data"]] == ["sweep", "park"]
    assert [e["actor"] for e in tandemctl("-o", "json", "history", "--actor", "alice").json()["data"]] == ["alice"]
    later = tandemctl("-o", "json", "history", "--since", "1h", env={"TANDEMCTL_NOW_MS": str(NOW_MS + 7_200_000)})
    assert later.json()["data"] == []
    table = tandemctl("--all-tenants", "history").stdout
    assert "dead-letter-effect-bdeb18dab3e9b3e4" in table and "tandemctl-sweep" in table


# --- 14: smaller things ---------------------------------------------------------------------------

def test_actor_defaults_to_the_login_name_of_the_uid(sample: StateDir) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME", "USERNAME")}
    env["TANDEMCTL_NOW_MS"] = str(NOW_MS)
    subprocess.run([sys.executable, "-m", "tandemctl", "--state-dir", str(sample.root), "dead-letters", "park",
                    LOCAL_OPEN, "--reason", "x"], env=env, check=True, capture_output=True)
    row = json.loads(sample.journal.read_bytes().splitlines()[-1])
    assert row["actor"] == pwd.getpwuid(os.getuid()).pw_name != "operator"


def test_an_invalid_tenant_variable_blames_the_variable(tandemctl, sample: StateDir) -> None:
    result = tandemctl("dead-letters", "list", env={"TANDEMCTL_TENANT": "just-org"})
    assert result.exit_code == 2 and result.stderr.startswith("error: TANDEMCTL_TENANT:")


def test_a_bulk_action_with_nothing_selected_says_so_before_asking_for_a_reason(tandemctl, sample: StateDir) -> None:
    result = tandemctl("dead-letters", "retry", "--run", "no-such-run", "--yes")
    assert result.exit_code == 0 and "nothing selected" in result.stderr and "--reason" not in result.stderr
    assert tandemctl("dead-letters", "retry", "--status", "open", "--yes").exit_code == 2  # matches: reason needed


def test_undoing_twice_says_by_which_operation(tandemctl, sample: StateDir) -> None:
    op = tandemctl("-o", "json", "dead-letters", "park", LOCAL_OPEN, "--reason", "x").json()["data"]["operation_id"]
    first = tandemctl("-o", "json", "undo", op, "--yes").json()["data"]["operation_id"]
    again = tandemctl("undo", op, "--yes")
    assert again.exit_code == 6 and f"already undone by {first}" in again.stdout + again.stderr
