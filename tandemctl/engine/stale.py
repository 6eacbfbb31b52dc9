"""Stale open dead letters (spec 03 §1.3 B4): on a database store the engine's success supersession
never deletes an untouched `open` dead letter, so it stays open although its effect succeeded.

Mirrors the bridge's supersession match in `record_external_action_reliability_bridge`: same scope,
same run, `source_type` tool_effect, `source_id` == the succeeded effect's `effect_id`.
"""

from collections.abc import Iterable
from typing import Final

from tandemctl.engine.dispositions import tenant_key, tenant_of
from tandemctl.engine.rows import Row
from tandemctl.engine.sealed import is_readable

SUCCEEDED: Final = "succeeded"
_DISPOSITION_FIELDS: Final = ("operator_disposition", "disposition_reason", "disposition_actor", "disposition_at_ms")
EffectKey = tuple[str, str | None, tuple[str, str, str | None]]


def succeeded_effects(tool_effects: Iterable[Row]) -> frozenset[EffectKey]:
    """(effect_id, run_id, tenant) of every readable succeeded tool effect."""
    return frozenset((effect["effect_id"], effect.get("run_id"), tenant_key(tenant_of(effect)))
                     for effect in tool_effects
                     if is_readable(effect) and effect.get("status") == SUCCEEDED)


def is_untouched_open(row: Row) -> bool:
    """`open` with no disposition field set: what the bridge would have removed."""
    return row.get("status") == "open" and all(row.get(name) is None for name in _DISPOSITION_FIELDS)


def is_stale_open(row: Row, succeeded: frozenset[EffectKey]) -> bool:
    if not is_readable(row) or row.get("source_type") != "tool_effect" or not is_untouched_open(row):
        return False
    return (row.get("source_id"), row.get("run_id"), tenant_key(tenant_of(row))) in succeeded
