"""`check`: Nagios/Icinga conventions: thresholds (more than N alerts), exit 0/1/2/3, one status line
with perfdata, UNKNOWN for an unreadable state or bad usage."""

from collections.abc import Callable

import pytest

from tandemctl.commands.check import CRITICAL, OK, WARNING, Thresholds, evaluate
from tests.conftest import NOW_MS, Result, StateDir
from tests.factories import dead_letter
from tests.triage_state import STORE_KINDS, Triage, build_state, corrupt_store

Run = Callable[..., Result]
HOUR = 3_600_000


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def rows() -> list[dict[str, object]]:
    return [dead_letter(f"dead-{i}", status="open", created=NOW_MS - (i + 1) * HOUR) for i in range(3)] + [
        dead_letter("dead-x", status="ignored", operator_disposition="retry_exhausted")]


@pytest.mark.parametrize(("thresholds", "state"), [
    (Thresholds(), OK),
    (Thresholds(warn_open=3), OK),  # 3 is not more than 3
    (Thresholds(warn_open=2), WARNING),
    (Thresholds(warn_open=1, crit_open=2), CRITICAL),
    (Thresholds(warn_oldest_ms=3 * HOUR), OK),
    (Thresholds(warn_oldest_ms=2 * HOUR), WARNING),
    (Thresholds(crit_oldest_ms=HOUR), CRITICAL),
    (Thresholds(warn_exhausted=0), WARNING),
    (Thresholds(warn_exhausted=0, crit_exhausted=0), CRITICAL),
    (Thresholds(crit_exhausted=1), OK),
    (Thresholds(warn_open=1, crit_exhausted=0), CRITICAL),  # the worst state wins
])
def test_thresholds(thresholds: Thresholds, state: int) -> None:
    assert evaluate(rows(), thresholds, now_ms=NOW_MS).state == state


def test_status_line_and_perfdata(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, Triage(dead_letters=rows()))
    ok = tandemctl("check")
    assert ok.exit_code == 0
    assert ok.stdout == ("TANDEMCTL OK - 3 open dead letter(s), oldest 3h ago, 1 exhausted | "
                         "open=3;;;0 oldest_open=10800s;;;0 exhausted=1;;;0 retries_in_flight=0;;;0\n")
    warn = tandemctl("check", "--warn-open", "2", "--crit-open", "10", "--warn-oldest", "1h", "--crit-oldest", "1d")
    assert warn.exit_code == 1
    assert warn.stdout == ("TANDEMCTL WARNING - 3 open dead letter(s) (> 2); oldest open 3h (> 1h) | "
                           "open=3;2;10;0 oldest_open=10800s;3600;86400;0 exhausted=1;;;0 retries_in_flight=0;;;0\n")
    crit = tandemctl("check", "--crit-exhausted", "0")
    assert crit.exit_code == 2 and crit.stdout.startswith("TANDEMCTL CRITICAL - 1 exhausted (> 0) | ")


def test_json_envelope(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, Triage(dead_letters=rows()))
    result = tandemctl("-o", "json", "check", "--warn-open", "2")
    body = result.json()
    assert result.exit_code == body["exit_code"] == 1 and body["ok"] is False
    assert set(body["data"]) == {"state", "line", "measures"}
    assert body["data"]["state"] == "WARNING"
    assert set(body["data"]["measures"][0]) == {"name", "value", "unit", "warn", "crit", "state"}


def test_unreadable_state_is_unknown(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, Triage(dead_letters=rows()))
    corrupt_store(kind, state.root)
    result = tandemctl("check")
    assert result.exit_code == 3 and result.stdout.startswith("TANDEMCTL UNKNOWN - ")


def test_bad_usage_is_unknown(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, Triage(dead_letters=rows()))
    bad_duration = tandemctl("check", "--warn-oldest", "soon")
    assert bad_duration.exit_code == 3 and "--warn-oldest" in bad_duration.stdout
    bad_tenant = tandemctl("--tenant", "nope", "check")
    assert bad_tenant.exit_code == 3
    assert bad_tenant.stdout == "TANDEMCTL UNKNOWN - cannot run the check (see stderr)\n"
    assert "--tenant" in bad_tenant.stderr


def test_a_usage_error_of_check_is_unknown_not_critical(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, Triage(dead_letters=rows()))
    result = tandemctl("check", "--warn-open", "abc")
    assert result.exit_code == 3
    assert result.stdout.startswith("TANDEMCTL UNKNOWN - usage: ") and "--warn-open" in result.stdout
