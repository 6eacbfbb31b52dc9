"""Every skip reason the sweep can give has its own sentence and next step (none falls back to the
generic text), including those a state on disk cannot reach through `show`."""

import re
from pathlib import Path

import pytest

from tandemctl.commands.retry_verdict import explain, retry_state
from tandemctl.engine import definitions, dispatcher, sweep_plan
from tests.sweep_fixtures import group_a_dead_letter, run_record

NOW = 10_000_000


def _returned_codes(module: object, pattern: str) -> set[str]:
    source = Path(str(getattr(module, "__file__", ""))).read_text()
    return set(re.findall(pattern, source))


def all_skip_reasons() -> set[str]:
    """The skip reasons as the engine mirror spells them (read from its source, so a new one fails here)."""
    plain = _returned_codes(sweep_plan, r'return "([a-z_]+)"')
    requeue = _returned_codes(dispatcher, r'return "([a-z_]+)"') | _returned_codes(
        definitions, r'DefinitionUnavailable\("([a-z_]+)"\)')
    statuses = ("queued", "running", "pausing", "paused", "awaiting_approval", "completed", "cancelled")
    return (plain | {f"requeue_impossible:{r}" for r in requeue}
            | {f"run_not_recoverable:{s}" for s in statuses}
            | {f"requeue_impossible:run_status:{s}" for s in ("queued", "running", "completed", "missing")})


def test_the_mirror_names_the_expected_skip_reasons() -> None:
    assert {"no_run_id", "run_not_found", "tenant_mismatch", "backoff", "max_reached", "dead_letter_changed",
            "requeue_impossible:missing_automation_snapshot", "requeue_impossible:definition_snapshot_hash_mismatch",
            "requeue_impossible:no_failed_roots", "requeue_impossible:no_reset_nodes",
            "requeue_impossible:corrupt_run"} <= all_skip_reasons()


@pytest.mark.parametrize("code", sorted(all_skip_reasons()))
def test_every_skip_reason_has_its_own_explanation(code: str) -> None:
    verdict = explain(code, group_a_dead_letter(metadata={"retry_dispatch_count": 2, "retry_dispatched_at_ms": NOW}),
                      run_record(), now_ms=NOW)
    assert verdict.decision == code and verdict.acts is False
    assert not verdict.explanation.startswith("the sweep skips it"), code
    assert "the run cannot be requeued (" not in verdict.explanation, code
    assert (verdict.next_step and verdict.next_step != "`tandemctl doctor`") or code == "dead_letter_changed"


def test_backoff_names_the_absolute_and_relative_time() -> None:
    dl = group_a_dead_letter(metadata={"retry_dispatch_count": 2, "retry_dispatched_at_ms": NOW})
    assert retry_state(dl).next_eligible_at_ms == NOW + 4_000
    verdict = explain("backoff", dl, None, now_ms=NOW)
    assert verdict.explanation == "backoff until 1970-01-01T02:46:44.000Z (in 4s) after dispatch 2 of 5"


def test_an_unknown_code_is_still_explained_generically() -> None:
    verdict = explain("something_new", group_a_dead_letter(), None, now_ms=NOW)
    assert verdict.explanation == "the sweep skips it (something_new)"
