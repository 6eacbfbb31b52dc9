"""The result types of operator actions and undo: per-row results, the plan, the outcome.

Shared by the actions, undo and their renderer; pure data, no I/O.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from tandemctl.commands.action_rules import Outcome, changed_fields, field_values, metadata_changes
from tandemctl.engine.dispositions import tenant_of
from tandemctl.engine.rows import Row, RowChange
from tandemctl.errors import ExitCode
from tandemctl.stores.base import RowFailure

_FAILURE_OUTCOMES = {"refused": Outcome.REFUSED, "unknown": Outcome.UNKNOWN}


@dataclass(frozen=True)
class RowResult:
    """One dead letter's fate; `change` holds the whole rows before and after when it changes."""

    dead_letter_id: str
    outcome: Outcome
    status: str | None
    to: str | None = None
    reason: str | None = None
    change: RowChange | None = None

    @property
    def before(self) -> Row | None:
        return self.change.before if self.change is not None else None

    @property
    def after(self) -> Row | None:
        return self.change.after if self.change is not None else None

    def fields(self) -> list[str]:
        return changed_fields(self.before or {}, self.after or {})

    def metadata_changes(self) -> dict[str, Row]:
        return metadata_changes(self.before or {}, self.after or {})


@dataclass(frozen=True)
class Plan:
    """Every selected row's result, in selection order, and the ids that were not found."""

    results: tuple[RowResult, ...] = ()
    not_found: tuple[str, ...] = ()
    elsewhere: tuple[tuple[str, str], ...] = ()  # (id, tenant) of not-found ids that another tenant holds

    @property
    def changed(self) -> list[RowResult]:
        return [r for r in self.results if r.outcome is Outcome.CHANGED]

    def of(self, outcome: Outcome) -> list[RowResult]:
        return [r for r in self.results if r.outcome is outcome]

    def row_changes(self) -> list[RowChange]:
        """The compare-and-set of every changed row, for the store's writer."""
        return [result.change for result in self.changed if result.change is not None]

    def settle(self, written: Sequence[RowChange], failures: Sequence[RowFailure]) -> "Plan":
        """The plan as the store carried it out: each changed row as written, or its failure."""
        by_key = {change.key: change for change in written}
        failed = {failure.key: failure for failure in failures}
        results: list[RowResult] = []
        not_found = list(self.not_found)
        for result in self.results:
            failure = failed.get(result.dead_letter_id) if result.outcome is Outcome.CHANGED else None
            if failure is not None and failure.kind == "not_found":
                not_found.append(result.dead_letter_id)
            elif failure is not None:
                results.append(RowResult(result.dead_letter_id, _FAILURE_OUTCOMES.get(failure.kind, Outcome.REFUSED),
                                         result.status, reason=failure.reason))
            else:
                change = by_key.get(result.dead_letter_id, result.change)
                if result.outcome is Outcome.CHANGED and change is not None and change.after is not None:
                    result = replace(result, change=change, to=str(change.after.get("status")))
                results.append(result)
        return Plan(tuple(results), tuple(not_found), self.elsewhere)  # which tenant holds an id: kept


@dataclass(frozen=True)
class ActionOutcome:
    """What an action or undo did (or, with `dry_run`, would do)."""

    command: str
    action: str
    plan: Plan
    dry_run: bool = False
    applied: bool = False
    operation_id: str | None = None

    @property
    def exit_code(self) -> int:
        """3 when an id was not found (wins over 6), 6 when any row was refused or its outcome is
        unknown, else 0."""
        if self.plan.not_found:
            return int(ExitCode.NOT_FOUND)
        if self.plan.of(Outcome.REFUSED) or self.plan.of(Outcome.UNKNOWN):
            return int(ExitCode.PARTIAL)
        return int(ExitCode.OK)


def journal_row(result: RowResult) -> Row:
    """A changed row for the journal: its tenant and the before/after of each changed field."""
    assert result.before is not None and result.after is not None
    fields = result.fields()
    tenant = tenant_of(result.after)
    return {
        "dead_letter_id": result.dead_letter_id, "run_id": result.after.get("run_id"),
        "tenant": {key: tenant[key] for key in ("org_id", "workspace_id", "deployment_id") if key in tenant},
        "from": result.status, "to": result.to, "fields": fields,
        "before": field_values(result.before, fields), "after": field_values(result.after, fields),
    }
