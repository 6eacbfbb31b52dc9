"""`dead-letters stats` through the CLI: the JSON contract, --by and --top, tenant scoping, screens."""

from collections.abc import Callable

import pytest

from tests.cli.screens import check_screen
from tests.conftest import NOW_MS, Result, StateDir
from tests.factories import dead_letter, tenant
from tests.triage_state import STORE_KINDS, Triage, build_state

Run = Callable[..., Result]
HOUR = 3_600_000
ACME = tenant("acme", "ops")


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def small_state() -> Triage:
    return Triage(dead_letters=[
        dead_letter("dead-a1", status="open", created=NOW_MS - 30 * 24 * HOUR, tenant_context=ACME,
                    reason="HTTP 503 from api.mailer.example", metadata={"operation": "email.send"}),
        dead_letter("dead-a2", status="retrying", created=NOW_MS - 2 * HOUR, tenant_context=ACME,
                    reason="HTTP 502 from api.mailer.example", metadata={"operation": "email.send"}),
        dead_letter("dead-l1", status="retry_requested", created=NOW_MS - 10 * 60_000,
                    reason="provider timeout", metadata={"operation": "crm.update_contact"}),
        dead_letter("dead-l2", status="ignored", created=NOW_MS - 3 * 24 * HOUR, reason="invalid_auth: token expired",
                    operator_disposition="retry_exhausted", disposition_at_ms=NOW_MS - HOUR,
                    metadata={"operation": "sms.send"}),
        dead_letter("dead-w1", status="resolved", created=NOW_MS - 5 * HOUR, source_type="stateful_wait",
                    reason="stateful wait timeout"),
    ])


def test_stats_json_contract(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, small_state())
    body = tandemctl("--all-tenants", "-o", "json", "dead-letters", "stats").json()
    assert set(body) == {"version", "command", "ok", "exit_code", "data", "errors"}
    assert body["command"] == "dead-letters stats"
    data = body["data"]
    assert set(data) == {"total", "open", "by", "age_histogram", "oldest_open", "retries_in_flight",
                         "exhausted_last_24h"}
    assert list(data["by"]) == ["status", "tenant", "tool", "source_type", "reason"]
    assert data["by"]["reason"][0] == {"key": "http N from api.mailer.example", "count": 2}
    assert data["oldest_open"]["dead_letter_id"] == "dead-a1"
    assert data["exhausted_last_24h"] == 1
    assert data["retries_in_flight"] == {"retry_requested": 1, "retrying": 1}


def test_stats_by_and_top(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, small_state())
    result = tandemctl("--all-tenants", "-o", "json", "dead-letters", "stats", "--by", "tool", "--top", "1")
    data = result.json()["data"]
    assert data["by"] == {"tool": [{"key": "email.send", "count": 2}, {"key": "(other)", "count": 3}]}
    bad = tandemctl("--all-tenants", "dead-letters", "stats", "--by", "colour")
    assert bad.exit_code == 2 and "--by: unknown field 'colour'" in bad.stderr


def test_stats_is_tenant_scoped(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, small_state())
    data = tandemctl("--tenant", "acme/ops", "-o", "json", "dead-letters", "stats").json()["data"]
    assert data["total"] == 2
    csv = tandemctl("--tenant", "acme/ops", "-o", "csv", "dead-letters", "stats", "--by", "status").stdout
    assert csv.splitlines()[:3] == ["field,key,count", "status,open,1", "status,retrying,1"]


@pytest.mark.parametrize("columns", [80, 120])
def test_stats_screen(tandemctl: Run, kind: str, state: StateDir, columns: int) -> None:
    build_state(kind, state.root, small_state())
    result = tandemctl("--all-tenants", "dead-letters", "stats", env={"COLUMNS": str(columns), "TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.stderr
    check_screen(f"stats_{columns}", result.stdout)
