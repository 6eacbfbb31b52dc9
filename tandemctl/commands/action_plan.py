"""Operator actions on dead letters (retry, park, resolve, reopen): select by ids or selector,
plan, confirm, apply in one locked and verified store write, journal.

The plan is always recomputed from the store read under the lock, so a row that moved on
since a preview is re-evaluated, never blindly overwritten. No Typer, no Rich, no clock.
"""

from tandemctl.commands.action_results import Plan, RowResult
from tandemctl.commands.action_rules import Outcome, Rule, changed_row, decide
from tandemctl.engine.dispositions import visible_to_tenant
from tandemctl.engine.query import DeadLetterQuery, iter_matching
from tandemctl.engine.rows import Row


def plan_action(rows: list[Row], *, rule: Rule, ids: tuple[str, ...], query: DeadLetterQuery | None,
                tenant: dict[str, str] | None, force: bool, reason: str | None, actor: str, now_ms: int,
                pinned: frozenset[str] | None = None) -> Plan:
    """Evaluate every selected row against the rule; pure, the rows are not modified."""
    if query is None:
        picked, not_found = _by_ids(rows, ids, tenant)
        dropped: list[RowResult] = []
    else:
        picked, dropped = _by_query(rows, query, pinned)
        not_found = []
    results = [_evaluate(rule, index, row, force=force, reason=reason, actor=actor, now_ms=now_ms)
               for index, row in picked]
    return Plan(tuple(results + dropped), tuple(not_found))


def _evaluate(rule: Rule, index: int, row: Row, *, force: bool, reason: str | None, actor: str,
              now_ms: int) -> RowResult:
    dl_id, status = str(row["dead_letter_id"]), str(row["status"])
    decision = decide(rule, row, force=force)
    if decision.outcome is Outcome.CHANGED:
        after = changed_row(rule, row, reason=reason, actor=actor, now_ms=now_ms)
        return RowResult(dl_id, Outcome.CHANGED, status, rule.target, before=row, after=after, index=index)
    return RowResult(dl_id, decision.outcome, status, reason=decision.reason)


def _by_ids(rows: list[Row], ids: tuple[str, ...],
            tenant: dict[str, str] | None) -> tuple[list[tuple[int, Row]], list[str]]:
    """First visible row per id, like the engine's lookup; other tenants' ids are not found."""
    wanted = set(ids)
    found: dict[str, tuple[int, Row]] = {}
    for index, row in enumerate(rows):
        dl_id = row["dead_letter_id"]
        if dl_id in wanted and dl_id not in found and (tenant is None or visible_to_tenant(row, tenant)):
            found[str(dl_id)] = (index, row)
    return [found[i] for i in ids if i in found], [i for i in ids if i not in found]


def _by_query(rows: list[Row], query: DeadLetterQuery,
              pinned: frozenset[str] | None) -> tuple[list[tuple[int, Row]], list[RowResult]]:
    """Matching rows in store order; after a confirmed preview, only the previewed ones."""
    matching = {id(row) for row in iter_matching(rows, query)}
    picked = [(i, row) for i, row in enumerate(rows)
              if id(row) in matching and (pinned is None or row["dead_letter_id"] in pinned)]
    if pinned is None:
        return picked, []
    seen = {row["dead_letter_id"] for _, row in picked}
    status_of = {row["dead_letter_id"]: str(row["status"]) for row in rows
                 if query.tenant is None or visible_to_tenant(row, query.tenant)}
    dropped = [RowResult(dl_id, Outcome.REFUSED, status_of.get(dl_id),
                         reason="changed since the preview: " + (
                             "no longer matches the selector" if dl_id in status_of else "no longer in the store"))
               for dl_id in sorted(pinned - seen)]
    return picked, dropped
