"""`dead-letters list` additions: --needs-attention, status negation (--exclude-status, '!STATUS'),
and the triage columns (--wide, --time) at 80 and 120 columns."""

from collections.abc import Callable

import pytest

from tandemctl.commands.list_view import select_statuses
from tandemctl.errors import UsageError
from tests.cli.screens import check_screen
from tests.conftest import NOW_MS, Result, StateDir
from tests.factories import dead_letter, tenant
from tests.triage_state import STORE_KINDS, Triage, build_state

Run = Callable[..., Result]
ACME = tenant("acme", "ops")


@pytest.fixture(params=STORE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)

TERMINAL = {"TTY_COMPATIBLE": "1"}  # render as on a terminal at COLUMNS


def small() -> Triage:
    superseded = {"superseded_by_success": True, "superseded_by_effect_id": "e9", "superseded_at_ms": NOW_MS - 5,
                  "operation": "slack.post_message"}
    return Triage(dead_letters=[
        dead_letter("dead-open", status="open", created=NOW_MS - 3_600_000, updated=NOW_MS - 600_000,
                    metadata={"operation": "email.send"}, tenant_context=ACME),
        dead_letter("dead-wait", status="retrying", created=NOW_MS - 7_200_000, updated=NOW_MS - 1_000,
                    metadata={"operation": "crm.update_contact", "retry_dispatch_count": 2,
                              "retry_dispatched_at_ms": NOW_MS - 1_000},
                    operator_disposition="retry_requested", disposition_reason="provider is back",
                    disposition_actor={"kind": "human_user", "id": "alice"}, disposition_at_ms=NOW_MS - 60_000),
        dead_letter("dead-superseded", status="retrying", created=NOW_MS - 9_000_000, updated=NOW_MS - 5,
                    metadata=superseded),
        dead_letter("dead-parked", status="ignored", created=NOW_MS - 86_400_000, updated=NOW_MS - 80_000_000),
        dead_letter("dead-done", status="resolved", created=NOW_MS - 90_000_000, updated=NOW_MS - 85_000_000),
    ])


def ids(result: Result) -> list[str]:
    assert result.exit_code == 0, result.stderr
    return [row["dead_letter_id"] for row in result.json()["data"]]


def test_select_statuses() -> None:
    assert select_statuses([], exclude=[], needs_attention=False) == ()
    assert select_statuses(["open"], exclude=[], needs_attention=False) == ("open",)
    assert select_statuses(["!resolved"], exclude=[], needs_attention=False) == (
        "open", "retry_requested", "retrying", "ignored", "linked_to_compensation")
    assert select_statuses([], exclude=["resolved", "ignored"], needs_attention=True) == (
        "open", "retry_requested", "retrying")
    assert select_statuses(["open"], exclude=["open"], needs_attention=False) == ("\x00none",)
    with pytest.raises(UsageError, match="--exclude-status: unknown status 'done'"):
        select_statuses([], exclude=["done"], needs_attention=False)


def test_needs_attention(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, small())
    assert ids(tandemctl("--all-tenants", "-o", "json", "dead-letters", "list", "--needs-attention")) == [
        "dead-wait", "dead-open"]  # superseded, parked and resolved rows left out


def test_negation(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, small())
    everything_but = ["dead-superseded", "dead-wait", "dead-open", "dead-parked"]
    assert ids(tandemctl("--all-tenants", "-o", "json", "dead-letters", "list", "--status", "!resolved")) == \
        everything_but
    assert ids(tandemctl("--all-tenants", "-o", "json", "dead-letters", "list", "--exclude-status", "resolved")) == \
        everything_but
    assert ids(tandemctl("--all-tenants", "-o", "json", "dead-letters", "list", "--status", "open",
                         "--exclude-status", "open")) == []
    bad = tandemctl("--all-tenants", "dead-letters", "list", "--exclude-status", "done")
    assert bad.exit_code == 2 and "unknown status 'done'" in bad.stderr


def test_json_is_unchanged_by_the_view_options(tandemctl: Run, kind: str, state: StateDir) -> None:
    build_state(kind, state.root, small())
    plain = tandemctl("--all-tenants", "-o", "json", "dead-letters", "list").stdout
    assert tandemctl("--all-tenants", "-o", "json", "dead-letters", "list", "--wide", "--time", "absolute").stdout \
        == plain


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("view", [("--needs-attention",), ("--wide",), ("--wide", "--time", "absolute")],
                         ids=["attention", "wide", "wide-absolute"])
def test_triage_screen(tandemctl: Run, kind: str, state: StateDir, columns: int, view: tuple[str, ...]) -> None:
    build_state(kind, state.root, small())
    result = tandemctl("--all-tenants", "dead-letters", "list", *view, env=TERMINAL | {"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.stderr
    check_screen(f"list_{'_'.join(v.strip('-') for v in view)}_{columns}", result.stdout)
