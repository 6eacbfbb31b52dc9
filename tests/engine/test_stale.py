"""Stale open dead letters (spec 03 §1.3 B4): the bridge's supersession match, on rows already read."""

from typing import Any

from tandemctl.engine.sealed import placeholder_row, sealed_marker
from tandemctl.engine.stale import is_stale_open, succeeded_effects
from tests.factories import dead_letter, scope, tenant

ORG_A = tenant("org-a", "ws-a")


def effect(effect_id: str = "effect-letter-1", *, status: str = "succeeded", run_id: str | None = "run-a",
           tenant_context: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"effect_id": effect_id, "run_id": run_id, "scope": scope(tenant_context), "status": status}


def stale(row: dict[str, Any], *effects: dict[str, Any]) -> bool:
    return is_stale_open(row, succeeded_effects(effects))


def test_an_untouched_open_row_whose_effect_succeeded_is_stale() -> None:
    assert stale(dead_letter("dead-letter-1"), effect())


def test_the_match_needs_the_same_effect_run_and_tenant_and_a_success() -> None:
    row = dead_letter("dead-letter-1")
    assert not stale(row, effect("effect-other"))
    assert not stale(row, effect(run_id="run-b"))
    assert not stale(row, effect(tenant_context=ORG_A))
    assert not stale(row, effect(status="failed"))
    assert not stale(dead_letter("dead-letter-1", source_type="stateful_wait"), effect())


def test_a_touched_or_moved_row_is_not_stale() -> None:
    assert not stale(dead_letter("dead-letter-1", status="ignored"), effect())
    assert not stale(dead_letter("dead-letter-1", operator_disposition="reviewed"), effect())
    assert not stale(dead_letter("dead-letter-1", disposition_at_ms=5), effect())


def test_sealed_rows_are_never_stale_and_sealed_effects_never_count() -> None:
    marker = sealed_marker(encoding="hosted", readable=False, note="sealed")
    sealed = placeholder_row(key_field="dead_letter_id", key="dead-letter-1", run_id="run-a", status="open",
                             updated_at_ms=1, org_id="local", workspace_id="local", deployment_id=None, marker=marker)
    assert not stale(sealed, effect())
    sealed_effect = {**effect(), "tandemctl_sealed": marker}
    assert not stale(dead_letter("dead-letter-1"), sealed_effect)
