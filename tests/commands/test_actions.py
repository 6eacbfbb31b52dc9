"""Operator action core: the transition table, the exact fields a change writes, the fresh
retry budget, selection by ids and selectors, and re-evaluation of rows that moved on."""

import json
import os
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tandemctl.commands.action_plan import plan_action
from tandemctl.commands.action_results import ActionOutcome
from tandemctl.commands.action_rules import ALL_STATUSES, RULES, Outcome, changed_row, decide, metadata_changes
from tandemctl.commands.actions import ActionArgs, perform
from tandemctl.commands.execute import AbortedError
from tandemctl.commands.invocation import Invocation, resolve
from tandemctl.commands.options import RootOptions, SelectorOptions
from tandemctl.engine.dispositions import dead_letter_retry_dispatch_count
from tandemctl.engine.records import canonical_row
from tandemctl.errors import UsageError
from tests.conftest import NOW_MS, StateDir
from tests.factories import dead_letter, tenant, write_store

TARGETS = {"retry": "retry_requested", "park": "ignored", "resolve": "resolved", "reopen": "open"}
CHANGED, UNCHANGED, REFUSED = Outcome.CHANGED, Outcome.UNCHANGED, Outcome.REFUSED
# (action, status) -> outcome without --force, and with it
TABLE: dict[tuple[str, str], tuple[Outcome, Outcome]] = {
    ("retry", "open"): (CHANGED, CHANGED), ("retry", "ignored"): (CHANGED, CHANGED),
    ("retry", "linked_to_compensation"): (CHANGED, CHANGED), ("retry", "retry_requested"): (UNCHANGED, UNCHANGED),
    ("retry", "retrying"): (REFUSED, CHANGED), ("retry", "resolved"): (REFUSED, CHANGED),
    ("park", "open"): (CHANGED, CHANGED), ("park", "retry_requested"): (CHANGED, CHANGED),
    ("park", "retrying"): (CHANGED, CHANGED), ("park", "linked_to_compensation"): (CHANGED, CHANGED),
    ("park", "ignored"): (UNCHANGED, UNCHANGED), ("park", "resolved"): (REFUSED, CHANGED),
    ("resolve", "open"): (CHANGED, CHANGED), ("resolve", "retry_requested"): (CHANGED, CHANGED),
    ("resolve", "retrying"): (CHANGED, CHANGED), ("resolve", "ignored"): (CHANGED, CHANGED),
    ("resolve", "linked_to_compensation"): (CHANGED, CHANGED), ("resolve", "resolved"): (UNCHANGED, UNCHANGED),
    ("reopen", "ignored"): (CHANGED, CHANGED), ("reopen", "resolved"): (CHANGED, CHANGED),
    ("reopen", "linked_to_compensation"): (CHANGED, CHANGED), ("reopen", "retry_requested"): (CHANGED, CHANGED),
    ("reopen", "retrying"): (CHANGED, CHANGED), ("reopen", "open"): (UNCHANGED, UNCHANGED),
}
DISPOSITION_FIELDS = {"status", "operator_disposition", "disposition_reason", "disposition_actor",
                      "disposition_at_ms", "updated_at_ms"}


def _plan(action: str, rows: list[dict[str, Any]], ids: tuple[str, ...], *, force: bool = False,
          reason: str | None = "why", tenant_ctx: dict[str, str] | None = None) -> Any:
    return plan_action(rows, rule=RULES[action], ids=ids, query=None, tenant=tenant_ctx, force=force,
                       reason=reason, actor="alice", now_ms=NOW_MS)


def test_the_table_covers_every_status_for_every_action() -> None:
    assert {status for (action, status) in TABLE if action == "retry"} == ALL_STATUSES
    for action in RULES:
        assert {status for (a, status) in TABLE if a == action} == ALL_STATUSES


@pytest.mark.parametrize(("action", "status"), sorted(TABLE))
@pytest.mark.parametrize("force", [False, True])
def test_transition_table(action: str, status: str, force: bool) -> None:
    row = dead_letter("dead-1", status=status)
    result = _plan(action, [row], ("dead-1",), force=force).results[0]
    assert result.outcome is TABLE[(action, status)][force]
    assert result.status == status
    if result.outcome is CHANGED:
        assert result.to == TARGETS[action] and result.after["status"] == TARGETS[action]
    if result.outcome is REFUSED:
        assert result.reason and ("--force" in result.reason or "in flight" in result.reason)


@pytest.mark.parametrize(("row_extra", "why"), [
    ({"source_type": "stateful_wait"}, "not 'tool_effect'"),
    ({"options": ("ignore", "compensate")}, "do not include 'retry'"),
    ({"run_id": None}, "no run_id"),
])
@pytest.mark.parametrize("force", [False, True])
def test_retry_refuses_rows_the_dispatcher_never_acts_on_even_with_force(row_extra: dict[str, Any], why: str,
                                                                         force: bool) -> None:
    row = dead_letter("dead-1", status="ignored", **row_extra)
    result = _plan("retry", [row], ("dead-1",), force=force).results[0]
    assert result.outcome is REFUSED
    assert "dispatcher would never act on it" in result.reason and why in result.reason


def test_a_change_writes_exactly_the_engine_disposition_fields() -> None:
    row = dead_letter("dead-1", status="open", payload_pointer="external-action://a", compensation_id="comp-1",
                      metadata={"idempotency_key": "k", "operation": "mock.send"})
    after = changed_row(RULES["park"], row, reason="duplicate", actor="alice", now_ms=NOW_MS)
    expected = {**row, "status": "ignored", "operator_disposition": "ignored", "disposition_reason": "duplicate",
                "disposition_actor": {"kind": "human_user", "id": "alice"}, "disposition_at_ms": NOW_MS,
                "updated_at_ms": NOW_MS}
    assert after == expected
    assert list(after) == list(canonical_row(expected, "dead_letters"))  # engine declaration order


def test_no_reason_clears_the_previous_disposition_reason() -> None:
    row = dead_letter("dead-1", status="ignored", operator_disposition="ignored", disposition_reason="old")
    after = changed_row(RULES["reopen"], row, reason=None, actor="alice", now_ms=NOW_MS)
    assert "disposition_reason" not in after and after["operator_disposition"] == "reopened"


def test_retry_starts_a_fresh_dispatch_budget_and_records_the_history() -> None:
    parked = dead_letter("dead-1", status="ignored", operator_disposition="retry_exhausted", metadata={
        "idempotency_key": "k", "retry_dispatch_count": 5, "retry_dispatched_at_ms": 900, "retry_backoff_ms": 32000,
        "operator_retry_count": 2})
    after = changed_row(RULES["retry"], parked, reason=None, actor="alice", now_ms=NOW_MS)
    assert after["status"] == "retry_requested" and after["operator_disposition"] == "retry_requested"
    assert after["metadata"] == {"idempotency_key": "k", "operator_retry_count": 3, "previous_retry_dispatch_count": 5}
    assert dead_letter_retry_dispatch_count(after) == 0  # the dispatcher's cap (>= 5) no longer re-parks it
    assert metadata_changes(parked, after) == {
        "operator_retry_count": {"before": 2, "after": 3}, "previous_retry_dispatch_count": {"after": 5},
        "retry_backoff_ms": {"before": 32000}, "retry_dispatch_count": {"before": 5},
        "retry_dispatched_at_ms": {"before": 900}}


@pytest.mark.parametrize(("metadata", "expected"), [
    (None, {"operator_retry_count": 1, "previous_retry_dispatch_count": 0}),
    ("legacy", {"previous_metadata": "legacy", "operator_retry_count": 1, "previous_retry_dispatch_count": 0}),
    ([1, 2], {"previous_metadata": [1, 2], "operator_retry_count": 1, "previous_retry_dispatch_count": 0}),
    ({"retry_dispatch_count": 7.0, "operator_retry_count": "x"},
     {"operator_retry_count": 1, "previous_retry_dispatch_count": 0}),
])
def test_retry_budget_reset_handles_any_metadata_like_the_engine(metadata: Any, expected: dict[str, Any]) -> None:
    row = dead_letter("dead-1", status="open", metadata=metadata)
    assert changed_row(RULES["retry"], row, reason=None, actor="a", now_ms=NOW_MS)["metadata"] == expected


def test_only_retry_touches_metadata() -> None:
    row = dead_letter("dead-1", status="retry_requested", metadata={"retry_dispatch_count": 3})
    for action in ("park", "resolve", "reopen"):
        assert changed_row(RULES[action], row, reason="r", actor="a", now_ms=NOW_MS)["metadata"] == row["metadata"]


statuses = st.sampled_from(sorted(ALL_STATUSES))
metadata_values = st.one_of(st.none(), st.text(max_size=3), st.dictionaries(
    st.sampled_from(["retry_dispatch_count", "retry_backoff_ms", "operator_retry_count", "x"]),
    st.one_of(st.integers(-2, 2**33), st.text(max_size=2)), max_size=4))


@given(action=st.sampled_from(sorted(RULES)), status=statuses, force=st.booleans(), metadata=metadata_values,
       source=st.sampled_from(["tool_effect", "stateful_wait"]), run=st.sampled_from([None, "run-a"]),
       reason=st.one_of(st.none(), st.text(min_size=1, max_size=5)))
def test_a_change_touches_only_disposition_fields_and_retry_metadata(
        action: str, status: str, force: bool, metadata: Any, source: str, run: str | None, reason: str | None) -> None:
    row = dead_letter("dead-1", status=status, metadata=metadata, source_type=source, run_id=run)
    decision = decide(RULES[action], row, force=force)
    if status == TARGETS[action]:
        assert decision.outcome is UNCHANGED
    if decision.outcome is not CHANGED:
        return
    after = changed_row(RULES[action], row, reason=reason, actor="a", now_ms=NOW_MS)
    touched = {key for key in row.keys() | after.keys() if row.get(key) != after.get(key)}
    assert touched <= DISPOSITION_FIELDS | ({"metadata"} if action == "retry" else set())
    assert after["status"] == TARGETS[action] and after.get("disposition_reason") == reason
    if action == "retry":
        assert dead_letter_retry_dispatch_count(after) == 0 and source == "tool_effect" and run is not None


def test_ids_outside_the_tenant_are_not_found_and_never_planned() -> None:
    rows = [dead_letter("dead-a", tenant_context=tenant("org-a", "ws-a")), dead_letter("dead-1")]
    plan = _plan("park", rows, ("dead-a", "dead-1", "dead-x"), tenant_ctx={"org_id": "local", "workspace_id": "local"})
    assert [r.dead_letter_id for r in plan.results] == ["dead-1"]
    assert plan.not_found == ("dead-a", "dead-x")


def test_exit_code_prefers_not_found_over_refused() -> None:
    rows = [dead_letter("dead-1", status="resolved")]
    plan = _plan("park", rows, ("dead-1", "dead-x"))
    assert ActionOutcome("c", "park", plan).exit_code == 3
    assert ActionOutcome("c", "park", _plan("park", rows, ("dead-1",))).exit_code == 6
    assert ActionOutcome("c", "park", _plan("resolve", rows, ("dead-1",))).exit_code == 0


# --- perform(): validation and the confirm-time re-evaluation -----------------------------------------


def _invocation(state: StateDir) -> Invocation:
    return resolve(RootOptions(state_dir=str(state.root)), dict(os.environ))


def _seed(state: StateDir, rows: list[dict[str, Any]]) -> bytes:
    data = write_store(state.reliability, rows)
    old = time.time_ns() - 60_000_000_000  # an idle engine: no recent write to wait out
    os.utime(state.reliability, ns=(old, old))
    return data


@pytest.mark.parametrize(("args", "message"), [
    (ActionArgs("retry", ids=("dead-1",), selector=SelectorOptions(statuses=("open",))), "not both"),
    (ActionArgs("retry", ids=("dead-1",), all_rows=True), "not both"),
    (ActionArgs("retry", reason="r", yes=True), "--all"),
    (ActionArgs("retry", selector=SelectorOptions(statuses=("all",)), reason="r", yes=True), "pass --all"),
    (ActionArgs("park", ids=("dead-1",)), "--reason TEXT is required"),
    (ActionArgs("resolve", ids=("dead-1",)), "--reason TEXT is required"),
    (ActionArgs("retry", ids=("dead-1",), reason="  "), "must not be blank"),
    (ActionArgs("retry", ids=("",)), "must not be blank"),
])
def test_invalid_requests_are_usage_errors_before_anything_is_read(state: StateDir, args: ActionArgs,
                                                                   message: str) -> None:
    state.reliability.write_bytes(b"not json")  # proves nothing was loaded
    with pytest.raises(UsageError, match=message.replace("-", r"\-")):
        perform(_invocation(state), args, interactive=True, confirm=lambda _: True)


def test_a_bulk_action_asks_for_a_reason_only_once_something_is_selected(state: StateDir) -> None:
    _seed(state, [dead_letter("dead-1")])
    nothing = perform(_invocation(state), ActionArgs("retry", selector=SelectorOptions(statuses=("ignored",)),
                                                     yes=True), interactive=True, confirm=lambda _: True)
    assert nothing.plan.results == () and nothing.exit_code == 0
    with pytest.raises(UsageError, match="bulk actions record why"):
        perform(_invocation(state), ActionArgs("retry", selector=SelectorOptions(statuses=("open",)), yes=True),
                interactive=True, confirm=lambda _: True)


def test_declined_confirmation_aborts_and_writes_nothing(state: StateDir) -> None:
    before = _seed(state, [dead_letter("dead-1"), dead_letter("dead-2")])
    args = ActionArgs("retry", selector=SelectorOptions(statuses=("open",)), reason="r")
    seen: list[int] = []

    def decline(preview: ActionOutcome) -> bool:
        seen.append(len(preview.plan.changed))
        return False

    with pytest.raises(AbortedError):
        perform(_invocation(state), args, interactive=True, confirm=decline)
    assert seen == [2] and state.reliability.read_bytes() == before and not state.journal.exists()


def test_rows_that_moved_on_after_the_preview_are_re_evaluated_not_overwritten(state: StateDir) -> None:
    _seed(state, [dead_letter(f"dead-{i}", created=i) for i in (1, 2, 3)])

    def engine_moves_rows_then_confirm(preview: ActionOutcome) -> bool:
        assert [r.dead_letter_id for r in preview.plan.changed] == ["dead-3", "dead-2", "dead-1"]
        write_store(state.reliability, [  # what the engine did while the operator read the prompt
            dead_letter("dead-1", created=1, status="retrying", updated=5000),  # the dispatcher picked it up
            dead_letter("dead-3", created=3),  # dead-2 was deleted by a later success
            dead_letter("dead-4", created=4),  # a new failure: matches, but was never previewed
        ])
        return True

    outcome = perform(_invocation(state), ActionArgs("retry", selector=SelectorOptions(run_id="run-a"), reason="r"),
                      interactive=True, confirm=engine_moves_rows_then_confirm)
    results = {r.dead_letter_id: (r.outcome, r.reason) for r in outcome.plan.results}
    assert results["dead-3"] == (CHANGED, None)
    assert results["dead-1"][0] is REFUSED and "in flight" in results["dead-1"][1]
    assert results["dead-2"] == (REFUSED, "changed since the preview: no longer in the store")
    assert "dead-4" not in results
    final = {r["dead_letter_id"]: r["status"] for r in json.loads(state.reliability.read_bytes())["dead_letters"]}
    assert final == {"dead-1": "retrying", "dead-3": "retry_requested", "dead-4": "open"}
    assert outcome.exit_code == 6 and outcome.applied


def test_a_bulk_preview_with_nothing_to_change_does_not_prompt(state: StateDir) -> None:
    before = _seed(state, [dead_letter("dead-1", status="retry_requested")])
    outcome = perform(_invocation(state), ActionArgs("retry", selector=SelectorOptions(run_id="run-a"), reason="r"),
                      interactive=True, confirm=lambda _: pytest.fail("must not prompt"))
    assert [r.outcome for r in outcome.plan.results] == [UNCHANGED] and not outcome.applied
    assert state.reliability.read_bytes() == before and not state.journal.exists()


def test_missing_store_means_every_id_is_not_found(state: StateDir) -> None:
    outcome = perform(_invocation(state), ActionArgs("retry", ids=("dead-1",)), interactive=False,
                      confirm=lambda _: True)
    assert outcome.plan.not_found == ("dead-1",) and outcome.exit_code == 3
    assert not state.reliability.exists()
