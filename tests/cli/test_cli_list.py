"""`dead-letters list` through the CLI: formats, envelope, exit codes, tenant scoping."""

import csv
import io
import json

from tests.conftest import StateDir
from tests.factories import dead_letter, tenant, write_store

TENANT_A = tenant("org-a", "ws-a")


def _seed(state: StateDir) -> bytes:
    return write_store(state.reliability, [
        dead_letter("dead-1", created=1000, updated=1000),
        dead_letter("dead-2", created=2000, updated=3000, status="retry_requested"),
        dead_letter("dead-a", created=1500, updated=1500, tenant_context=TENANT_A),
    ])


def test_json_envelope_holds_records_exactly_as_stored(tandemctl, state: StateDir) -> None:
    _seed(state)
    stored = json.loads(state.reliability.read_bytes())["dead_letters"]
    result = tandemctl("-o", "json", "dead-letters", "list")
    assert result.exit_code == 0
    body = result.json()
    assert body["version"] == 1 and body["command"] == "dead-letters list" and body["ok"] is True
    assert body["exit_code"] == 0 and body["errors"] == []
    assert body["data"] == [row for row in stored if row["dead_letter_id"] != "dead-a"]
    assert "next" not in body


def test_default_tenant_is_local_and_all_tenants_lifts_it(tandemctl, state: StateDir) -> None:
    _seed(state)
    ids = [r["dead_letter_id"] for r in tandemctl("--all-tenants", "-o", "json", "dead-letters", "list").json()["data"]]
    assert ids == ["dead-2", "dead-a", "dead-1"]
    only_a = tandemctl("--tenant", "org-a/ws-a", "-o", "json", "dead-letters", "list").json()["data"]
    assert [r["dead_letter_id"] for r in only_a] == ["dead-a"]


def test_jsonl_prints_one_stored_record_per_line(tandemctl, state: StateDir) -> None:
    _seed(state)
    lines = tandemctl("-o", "jsonl", "dead-letters", "list").stdout.splitlines()
    assert [json.loads(line)["dead_letter_id"] for line in lines] == ["dead-2", "dead-1"]


def test_csv_has_header_and_rows(tandemctl, state: StateDir) -> None:
    _seed(state)
    rows = list(csv.DictReader(io.StringIO(tandemctl("-o", "csv", "dead-letters", "list").stdout)))
    assert [r["dead_letter_id"] for r in rows] == ["dead-2", "dead-1"]
    assert rows[0]["status"] == "retry_requested" and rows[0]["org_id"] == "local"


def test_table_goes_to_stdout_and_summary_to_stderr(tandemctl, state: StateDir) -> None:
    _seed(state)
    result = tandemctl("dead-letters", "list")
    assert result.exit_code == 0
    assert "dead-2" in result.stdout and "retry_requested" in result.stdout
    assert "2 dead letter(s)" in result.stderr and "2 dead letter(s)" not in result.stdout


def test_limit_sets_next_cursor_in_envelope(tandemctl, state: StateDir) -> None:
    _seed(state)
    body = tandemctl("--all-tenants", "-o", "json", "dead-letters", "list", "--limit", "1").json()
    assert [r["dead_letter_id"] for r in body["data"]] == ["dead-2"]
    assert body["next"] == {"after_id": "dead-2", "after_collection": "dead_letters"}
    follow = tandemctl("--all-tenants", "-o", "json", "dead-letters", "list", "--limit", "1",
                       "--after-id", "dead-2").json()
    assert [r["dead_letter_id"] for r in follow["data"]] == ["dead-a"]
