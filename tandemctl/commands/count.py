"""`dead-letters count`: how many dead letters a selector picks, by status (or tenant, or run).

The store counts (a database from its index columns, without decoding a payload, when the
selector allows); this module names the groups and orders them."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tandemctl.commands.invocation import Invocation, build_query
from tandemctl.commands.options import SelectorOptions
from tandemctl.engine.counting import COUNT_FIELDS, GroupKey
from tandemctl.engine.dispositions import tenant_label
from tandemctl.errors import UsageError


@dataclass(frozen=True)
class CountOutcome:
    by: tuple[str, ...]
    groups: list[dict[str, Any]]  # {field: label, ..., "count": n}, largest first
    total: int
    tenant: str | None  # the tenant counted, None: all tenants
    other: int = 0  # rows in the groups beyond --top (shown as one "(other)" line)


def count_dead_letters(inv: Invocation, sel: SelectorOptions, *, by: Sequence[str], top: int = 0) -> CountOutcome:
    if top < 0:
        raise UsageError("--top: must be 0 (all) or a positive number")
    fields = tuple(dict.fromkeys(by)) or ("status",)
    unknown = [field for field in fields if field not in COUNT_FIELDS]
    if unknown:
        raise UsageError(f"--by: unknown field {unknown[0]!r}; choose from {', '.join(COUNT_FIELDS)}")
    counts = inv.store().count_dead_letters(build_query(inv, sel, limit=0), fields)
    groups: list[dict[str, Any]] = [{**_labels(fields, key), "count": count} for key, count in counts.items()]
    groups.sort(key=lambda group: (-group["count"], [group[field] for field in fields]))
    shown = groups[:top] if top else groups
    return CountOutcome(fields, shown, sum(counts.values()), None if inv.tenant is None else tenant_label(inv.tenant),
                        other=sum(group["count"] for group in groups[len(shown):]))


def _labels(fields: Sequence[str], key: GroupKey) -> dict[str, str]:
    labels: dict[str, str] = {}
    for field, value in zip(fields, key, strict=True):
        if field == "tenant":
            org_id, workspace_id, deployment_id = value
            value = tenant_label({"org_id": org_id, "workspace_id": workspace_id, "deployment_id": deployment_id})
        labels[field] = "-" if value is None else str(value)
    return labels
