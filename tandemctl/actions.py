"""Operator actions on dead letters (retry, park, resolve, reopen): select by ids or selector,
plan, confirm, apply in one locked and verified store write, journal.

The plan is always recomputed from the store read under the lock, so a row that moved on
since a preview is re-evaluated, never blindly overwritten. No Typer, no Rich, no clock.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tandemctl import fsutil, journal
from tandemctl.actions_intent import PendingJournal, recover_pending
from tandemctl.actions_plan import ActionOutcome, Plan, RowResult, journal_row
from tandemctl.actions_rules import RULES, Outcome, Rule, changed_row, decide
from tandemctl.constants import OutputFormat
from tandemctl.dispositions import visible_to_tenant
from tandemctl.errors import TandemctlError, UsageError
from tandemctl.invocation import Invocation, build_query
from tandemctl.options import SelectorOptions
from tandemctl.query import DeadLetterQuery, iter_matching
from tandemctl.store import ReliabilityData
from tandemctl.store_verify import refuse_duplicate_dead_letter_ids

Row = dict[str, Any]
PlanRows = Callable[[list[Row], frozenset[str] | None], Plan]
Confirm = Callable[[ActionOutcome], bool]


class AbortedError(TandemctlError):
    code = "aborted"


@dataclass(frozen=True)
class ActionArgs:
    """What the operator asked for, as given on the command line."""

    action: str
    ids: tuple[str, ...] = ()
    selector: SelectorOptions = field(default_factory=SelectorOptions)
    all_rows: bool = False
    reason: str | None = None
    force: bool = False
    dry_run: bool = False
    yes: bool = False


@dataclass(frozen=True)
class Execution:
    """A planned change, independent of how its rows were chosen (actions and undo)."""

    command: str
    action: str
    plan_rows: PlanRows
    bulk: bool
    dry_run: bool
    yes: bool
    journal_entry: Callable[[str, Plan], dict[str, object]]


def perform(inv: Invocation, args: ActionArgs, *, interactive: bool, confirm: Confirm) -> ActionOutcome:
    """Validate, then run the action: preview and confirm when bulk, one write, one journal line."""
    rule = RULES[args.action]
    ids, query = _selection(inv, args, rule)
    selector: dict[str, object] = {"ids": list(ids)} if query is None else _describe(args)

    def plan_rows(rows: list[Row], pinned: frozenset[str] | None) -> Plan:
        return plan_action(rows, rule=rule, ids=ids, query=query, tenant=inv.tenant, force=args.force,
                           reason=args.reason, actor=inv.actor, now_ms=inv.now_ms, pinned=pinned)

    def entry(operation_id: str, plan: Plan) -> dict[str, object]:
        return journal_entry(inv, operation_id, plan, action=args.action, reason=args.reason,
                             selector=selector, force=args.force)

    execution = Execution(f"dead-letters {args.action}", args.action, plan_rows, query is not None,
                          args.dry_run, args.yes, entry)
    return execute(inv, execution, interactive=interactive, confirm=confirm)


def _selection(inv: Invocation, args: ActionArgs, rule: Rule) -> tuple[tuple[str, ...], DeadLetterQuery | None]:
    sel = args.selector
    filtered = bool(sel.statuses or sel.run_id is not None or sel.source_type is not None or sel.active_only
                    or sel.since or sel.older_than or sel.reason_match is not None)
    if args.ids and (filtered or args.all_rows):
        raise UsageError("give dead-letter ids or selector flags (--status, --run, ..., --all), not both")
    if any(not dl_id.strip() for dl_id in args.ids):
        raise UsageError("dead-letter ids must not be blank")
    _check_reason(args, rule, bulk=not args.ids)
    if args.ids:
        return tuple(dict.fromkeys(args.ids)), None
    if not filtered and not args.all_rows:
        raise UsageError("name dead-letter ids, or select rows with --status, --run, --source-type, "
                         "--active-only, --since, --older-than or --reason-match (or --all for every row)")
    query = build_query(inv, sel, limit=0)
    if not query.has_filter and not args.all_rows:
        raise UsageError("this selector matches every dead letter in scope; pass --all to act on all of them")
    return (), query


def _check_reason(args: ActionArgs, rule: Rule, *, bulk: bool) -> None:
    if args.reason is not None and not args.reason.strip():
        raise UsageError("--reason must not be blank")
    if args.reason is None and (rule.reason_required or bulk):
        why = f"{args.action} always records why" if rule.reason_required else "bulk actions record why"
        raise UsageError(f"--reason TEXT is required: {why}")


def _describe(args: ActionArgs) -> dict[str, object]:
    sel = args.selector
    described: dict[str, object] = {
        "status": list(sel.statuses), "run": sel.run_id, "source_type": sel.source_type,
        "active_only": sel.active_only, "since": sel.since, "older_than": sel.older_than,
        "reason_match": sel.reason_match, "all": args.all_rows,
    }
    return {key: value for key, value in described.items() if value not in (None, False, [])}


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


def execute(inv: Invocation, ex: Execution, *, interactive: bool, confirm: Confirm) -> ActionOutcome:
    """Dry run, or (confirm when bulk, then) one locked, verified write plus its journal line."""
    _require_confirmable(ex, interactive=interactive, fmt=inv.output)
    backend = inv.backend()
    if ex.dry_run:
        return ActionOutcome(ex.command, ex.action, ex.plan_rows(backend.load().dead_letters, None), dry_run=True)
    pinned = None
    if ex.bulk and not ex.yes:
        preview = ActionOutcome(ex.command, ex.action, ex.plan_rows(backend.load().dead_letters, None))
        if not preview.plan.changed:
            return preview
        if not confirm(preview):
            raise AbortedError("aborted; nothing was changed")
        pinned = frozenset(result.dead_letter_id for result in preview.plan.results)
    operation_id = journal.new_operation_id(inv.now_ms)
    store_path = inv.paths.reliability_file
    pending = PendingJournal(store_path, inv.paths.journal_file)
    recovered: list[str | None] = []

    def apply(store: ReliabilityData) -> tuple[bool, Plan]:
        if not recovered:  # first attempt, under the lock: finish an interrupted action first
            recovered.append(recover_pending(store_path, lambda: store.dead_letters))
        plan = ex.plan_rows(store.dead_letters, pinned)
        if not plan.changed:
            pending.discard()
            return False, plan
        refuse_duplicate_dead_letter_ids(store.dead_letters, store_path)
        pending.write(ex.journal_entry(operation_id, plan))  # the journal line, before the store write
        return plan.apply_to(store.dead_letters), plan

    def after(plan: Plan) -> None:
        if plan.changed:
            pending.commit(ex.journal_entry(operation_id, plan))

    try:
        plan = backend.mutate(apply, lock_timeout=inv.lock_timeout, after=after, verify=True)
    except TandemctlError:
        if pending.written and not pending.store_written:
            _settle_intent(inv)
        raise
    applied = bool(plan.changed)
    return ActionOutcome(ex.command, ex.action, plan, applied=applied, operation_id=operation_id if applied else None)


def _settle_intent(inv: Invocation) -> None:
    """The write failed part-way: journal our intent if the store has the change after all (a failure
    while defending it against an unlocked writer), else drop it. Left to the next writer if even
    that fails."""
    store_path = inv.paths.reliability_file
    try:
        with fsutil.exclusive_lock(store_path, inv.lock_timeout):
            recover_pending(store_path, lambda: inv.backend().load().dead_letters)
    except TandemctlError:
        pass


def _require_confirmable(ex: Execution, *, interactive: bool, fmt: OutputFormat) -> None:
    if not ex.bulk or ex.dry_run or ex.yes:
        return
    if fmt is not OutputFormat.TABLE:
        raise UsageError(f"-o {fmt.value} cannot ask for confirmation: pass --yes to act on every matching row "
                         "(preview them first with --dry-run)")
    if not interactive:
        raise UsageError("this acts on every matching row and stdin/stderr is not a terminal to confirm on: "
                         "pass --yes (preview first with --dry-run)")


def journal_entry(inv: Invocation, operation_id: str, plan: Plan, *, action: str, reason: str | None,
                  selector: dict[str, object], force: bool = False, **extra: object) -> dict[str, object]:
    """One journal line: who, when, why, how selected, and every changed field's before/after."""
    return {
        "journal_version": journal.JOURNAL_VERSION, "operation_id": operation_id, "at_ms": inv.now_ms,
        "at": journal.iso_utc(inv.now_ms), "actor": inv.actor, "action": action, "reason": reason,
        "force": force, **extra, "argv": list(inv.argv), "tenant": journal.tenant_label(inv.tenant),
        "selector": selector, "rows": [journal_row(result) for result in plan.changed],
        "unchanged": [r.dead_letter_id for r in plan.results if r.outcome is Outcome.UNCHANGED],
        "refused": [{"dead_letter_id": r.dead_letter_id, "status": r.status, "reason": r.reason}
                    for r in plan.results if r.outcome is Outcome.REFUSED],
        "not_found": list(plan.not_found),
    }
