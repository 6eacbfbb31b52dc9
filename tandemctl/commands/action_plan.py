"""Which rows an operator action selects and what it would do to each: pure, from rows already
read; the store applies the resulting changes as compare-and-sets."""

from tandemctl.commands.action_results import Plan, RowResult
from tandemctl.commands.action_rules import Outcome, Rule, changed_row, decide
from tandemctl.engine.dispositions import tenant_label, tenant_of, visible_to_tenant
from tandemctl.engine.query import DeadLetterQuery, iter_matching
from tandemctl.engine.rows import Row, RowChange, first_by_key
from tandemctl.engine.sealed import READ_ONLY_REASON, is_sealed


def plan_action(rows: list[Row], *, rule: Rule, ids: tuple[str, ...], query: DeadLetterQuery | None,
                tenant: dict[str, str] | None, force: bool, reason: str | None, actor: str, now_ms: int,
                pinned: frozenset[str] | None = None, resets_budget: bool = True) -> Plan:
    """Evaluate every selected row against the rule; pure, the rows are not modified."""
    if query is None:
        picked, not_found = _by_ids(rows, ids, tenant)
        dropped: list[RowResult] = []
    else:
        picked, dropped = _by_query(rows, query, pinned)
        not_found = []
    results = [_evaluate(rule, row, force=force, reason=reason, actor=actor, now_ms=now_ms,
                         resets_budget=resets_budget) for row in picked]
    return Plan(tuple(results + dropped), tuple(not_found), held_elsewhere(rows, not_found))


def held_elsewhere(rows: list[Row], ids: list[str] | tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Which of these ids exist in another tenant, and which: so "not found" can say where."""
    found = first_by_key(rows, "dead_letter_id")
    return tuple((dl_id, tenant_label(tenant_of(found[dl_id][1]))) for dl_id in ids if dl_id in found)


def _evaluate(rule: Rule, row: Row, *, force: bool, reason: str | None, actor: str, now_ms: int,
              resets_budget: bool) -> RowResult:
    dl_id, status = str(row["dead_letter_id"]), str(row["status"])
    if is_sealed(row):
        return RowResult(dl_id, Outcome.REFUSED, status, reason=READ_ONLY_REASON)
    decision = decide(rule, row, force=force, resets_budget=resets_budget)
    if decision.outcome is Outcome.CHANGED:
        after = changed_row(rule, row, reason=reason, actor=actor, now_ms=now_ms, resets_budget=resets_budget)
        return RowResult(dl_id, Outcome.CHANGED, status, rule.target,
                         change=RowChange("dead_letters", dl_id, row, after))
    return RowResult(dl_id, decision.outcome, status, reason=decision.reason)


def _by_ids(rows: list[Row], ids: tuple[str, ...], tenant: dict[str, str] | None) -> tuple[list[Row], list[str]]:
    """First visible row per id, like the engine's lookup; other tenants' ids are not found."""
    found = first_by_key(rows, "dead_letter_id", None if tenant is None else lambda row: visible_to_tenant(row, tenant))
    return [found[i][1] for i in ids if i in found], [i for i in ids if i not in found]


def _by_query(rows: list[Row], query: DeadLetterQuery,
              pinned: frozenset[str] | None) -> tuple[list[Row], list[RowResult]]:
    """Matching rows in store order; after a confirmed preview, only the previewed ones."""
    picked = [row for row in iter_matching(rows, query) if pinned is None or row["dead_letter_id"] in pinned]
    if pinned is None:
        return picked, []
    seen = {row["dead_letter_id"] for row in picked}
    status_of = {row["dead_letter_id"]: str(row["status"]) for row in rows
                 if query.tenant is None or visible_to_tenant(row, query.tenant)}
    dropped = [RowResult(dl_id, Outcome.REFUSED, status_of.get(dl_id),
                         reason="changed since the preview: " + (
                             "no longer matches the selector" if dl_id in status_of else "no longer in the store"))
               for dl_id in sorted(pinned - seen)]
    return picked, dropped
