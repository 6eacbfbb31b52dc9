"""List semantics of spec 01 §12, including upstream scenarios 8, 9, 10, 17, 20–22 and 25."""

import re
from typing import Any

from tandemctl.engine.query import DeadLetterQuery, list_dead_letters, normalize_filter
from tests.factories import dead_letter, tenant

TENANT_A = tenant("org-a", "workspace-a", actor="user-a")
TENANT_B = tenant("org-b", "workspace-b", actor="user-b")
MARKER = {"superseded_by_success": True, "superseded_by_effect_id": "effect-replayed", "superseded_at_ms": 9000}


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["dead_letter_id"] for r in rows]


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r["updated_at_ms"], reverse=True)


def _many(n: int) -> list[dict[str, Any]]:
    return _sorted([dead_letter(f"dead-letter-{i:04d}", created=i, updated=i) for i in range(n)])


def test_scenario_8_pages_beyond_default_limit() -> None:
    rows = _many(1050)
    page = list_dead_letters(rows, DeadLetterQuery(limit=300))
    assert len(page.rows) == 300 and page.rows[0]["dead_letter_id"] == "dead-letter-1049"
    assert page.rows[-1]["dead_letter_id"] == "dead-letter-0750"
    assert len(list_dead_letters(rows, DeadLetterQuery()).rows) == 250  # the default
    window = list_dead_letters(rows, DeadLetterQuery(before_created_at_ms=750, limit=5))
    assert window.rows[0]["dead_letter_id"] == "dead-letter-0749"
    follow = list_dead_letters(rows, DeadLetterQuery(after_id="dead-letter-0747", before_created_at_ms=747, limit=2))
    assert _ids(follow.rows) == ["dead-letter-0746", "dead-letter-0745"]


def test_limit_zero_returns_everything() -> None:
    page = list_dead_letters(_many(1050), DeadLetterQuery(limit=0))
    assert len(page.rows) == 1050 and page.next_cursor is None


def test_scenario_9_active_filter_runs_before_limit_and_needs_complete_marker() -> None:
    rows = _sorted([
        dead_letter("dead-letter-0001", created=1, updated=1),
        dead_letter("dead-letter-0002", created=2, updated=2,
                    metadata={"superseded_by_success": True, "policy": "user-supplied"}),
        dead_letter("dead-letter-0003", created=3, updated=3, metadata=MARKER),
        dead_letter("dead-letter-0004", created=4, updated=4, metadata=MARKER),
    ])
    assert _ids(list_dead_letters(rows, DeadLetterQuery(limit=1)).rows) == ["dead-letter-0004"]
    assert _ids(list_dead_letters(rows, DeadLetterQuery(limit=1, active_only=True)).rows) == ["dead-letter-0002"]


def test_incomplete_markers_count_as_active() -> None:
    bad_markers = [
        {**MARKER, "superseded_by_success": "true"},
        {**MARKER, "superseded_by_effect_id": "  "},
        {**MARKER, "superseded_at_ms": 3000.0},
        {**MARKER, "superseded_at_ms": -1},
        {k: v for k, v in MARKER.items() if k != "superseded_by_effect_id"},
    ]
    rows = [dead_letter(f"d{i}", metadata=m) for i, m in enumerate(bad_markers)]
    assert len(list_dead_letters(rows, DeadLetterQuery(active_only=True)).rows) == len(bad_markers)


def test_scenario_10_and_17_tenant_visibility_is_exact() -> None:
    rows = [
        dead_letter("dead-a", tenant_context=TENANT_A),
        dead_letter("dead-b", tenant_context=TENANT_B),
        dead_letter("dead-local"),
        dead_letter("dead-deploy", tenant_context=tenant("org-a", "workspace-a", deployment="prod")),
    ]
    other_actor = tenant("org-a", "workspace-a", actor="someone-else")
    assert _ids(list_dead_letters(rows, DeadLetterQuery(tenant=other_actor)).rows) == ["dead-a"]
    local = {"org_id": "local", "workspace_id": "local"}
    assert _ids(list_dead_letters(rows, DeadLetterQuery(tenant=local)).rows) == ["dead-local"]
    prod = {"org_id": "org-a", "workspace_id": "workspace-a", "deployment_id": "prod"}
    assert _ids(list_dead_letters(rows, DeadLetterQuery(tenant=prod)).rows) == ["dead-deploy"]
    assert len(list_dead_letters(rows, DeadLetterQuery(tenant=None)).rows) == 4


def test_scenario_20_cursor_after_newer_and_stale_anchor() -> None:
    rows = _sorted([dead_letter("dead-newer", created=2000, updated=2000),
                    dead_letter("dead-older", created=1000, updated=1000)])
    first = list_dead_letters(rows, DeadLetterQuery(limit=1))
    assert first.next_cursor == {"after_id": "dead-newer", "after_collection": "dead_letters"}
    assert _ids(list_dead_letters(rows, DeadLetterQuery(after_id="dead-newer")).rows) == ["dead-older"]
    assert list_dead_letters(rows, DeadLetterQuery(after_id="dead-missing")).rows == []


def test_scenario_21_anchor_beyond_first_page() -> None:
    rows = _sorted([dead_letter(f"dead-{i:04d}", created=i, updated=i) for i in range(1005)])
    assert _ids(list_dead_letters(rows, DeadLetterQuery(after_id="dead-0004", limit=1)).rows) == ["dead-0003"]


def test_scenario_22_cursor_keeps_created_time_bound() -> None:
    rows = _sorted([
        dead_letter("dead-window-first", created=3000, updated=9000),
        dead_letter("dead-outside-window", created=5000, updated=8500),
        dead_letter("dead-window-second", created=2000, updated=8000),
    ])
    first = list_dead_letters(rows, DeadLetterQuery(before_created_at_ms=4000, limit=1))
    assert _ids(first.rows) == ["dead-window-first"]
    assert first.next_cursor == {"after_id": "dead-window-first", "after_collection": "dead_letters",
                                 "before_created_at_ms": 4000}
    second = list_dead_letters(rows, DeadLetterQuery(after_id="dead-window-first", before_created_at_ms=4000, limit=1))
    assert _ids(second.rows) == ["dead-window-second"]


def test_scenario_25_active_only_filters_superseded_before_limit() -> None:
    rows = _sorted([dead_letter("dead-active", created=1000, updated=1000),
                    dead_letter("dead-superseded-newer", created=2000, updated=2000, metadata=MARKER)])
    assert _ids(list_dead_letters(rows, DeadLetterQuery(limit=1, active_only=True)).rows) == ["dead-active"]


def test_run_status_and_source_filters_normalize() -> None:
    rows = [
        dead_letter("d1", run_id="Run-A", status="retry_requested"),
        dead_letter("d2", run_id="run_a", status="open"),
        dead_letter("d3", run_id=None, status="open"),
        dead_letter("d4", run_id="run-b", status="open", source_type="stateful_wait"),
    ]
    assert _ids(list_dead_letters(rows, DeadLetterQuery(run_id=" run-a ")).rows) == ["d1", "d2"]
    assert _ids(list_dead_letters(rows, DeadLetterQuery(statuses=("Retry-Requested",))).rows) == ["d1"]
    assert _ids(list_dead_letters(rows, DeadLetterQuery(statuses=("open", "retry_requested"))).rows) == [
        "d1", "d2", "d3", "d4"]
    assert _ids(list_dead_letters(rows, DeadLetterQuery(source_type="Stateful-Wait")).rows) == ["d4"]
    assert len(list_dead_letters(rows, DeadLetterQuery(run_id="all", statuses=("all",))).rows) == 4


def test_age_windows_and_reason_regex() -> None:
    rows = [dead_letter("old", created=1000, reason="HTTP 503 from api"),
            dead_letter("new", created=9000, reason="provider timeout")]
    assert _ids(list_dead_letters(rows, DeadLetterQuery(created_after_ms=5000)).rows) == ["new"]
    assert _ids(list_dead_letters(rows, DeadLetterQuery(created_before_ms=5000)).rows) == ["old"]
    assert _ids(list_dead_letters(rows, DeadLetterQuery(reason_pattern=re.compile(r"HTTP 5\d\d"))).rows) == ["old"]


def test_normalize_filter() -> None:
    assert normalize_filter(" Retry-Requested ") == "retry_requested"
    assert normalize_filter("ALL") is None and normalize_filter("  ") is None and normalize_filter(None) is None
