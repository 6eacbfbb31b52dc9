"""`dead-letters retry|park|resolve|reopen`: validate the selection (ids xor selector), then plan and
execute through `execute.py`; builds the journal entry."""

from contextlib import nullcontext
from dataclasses import dataclass, field

from tandemctl.commands import history
from tandemctl.commands.action_plan import plan_action
from tandemctl.commands.action_results import ActionOutcome, Plan, journal_row
from tandemctl.commands.action_rules import RULES, Outcome, Rule
from tandemctl.commands.execute import Confirm, Execution, Working, execute
from tandemctl.commands.invocation import Invocation, build_query
from tandemctl.commands.options import SelectorOptions
from tandemctl.engine.dispositions import tenant_label
from tandemctl.engine.query import DeadLetterQuery, iter_matching
from tandemctl.engine.rows import Row
from tandemctl.errors import UsageError
from tandemctl.stores.base import RowScope


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
    max_rps: float | None = None  # live mode: requests per second at most


def perform(inv: Invocation, args: ActionArgs, *, interactive: bool, confirm: Confirm,
            working: Working = lambda _label: nullcontext()) -> ActionOutcome:
    """Validate, then run the action: preview and confirm when bulk, one write, one journal line."""
    rule = RULES[args.action]
    ids, query = _selection(inv, args, rule)
    if query is not None and args.reason is None:
        if not any(True for _ in iter_matching(inv.store().load_dead_letters(RowScope(query)), query)):
            return ActionOutcome(f"dead-letters {args.action}", args.action, Plan(), dry_run=args.dry_run)
        _check_reason(args, rule, bulk=True)  # only once something is selected
    selector: dict[str, object] = {"ids": list(ids)} if query is None else _describe(args)
    inv = inv.with_max_rps(args.max_rps)
    info = inv.store().info
    unsupported = dict(info.unsupported_actions).get(args.action)
    if unsupported is not None:
        raise UsageError(f"{args.action} is not possible through {info.kind} store {info.location}: {unsupported}")

    def plan_rows(rows: list[Row], pinned: frozenset[str] | None) -> Plan:
        return plan_action(rows, rule=rule, ids=ids, query=query, tenant=inv.tenant, force=args.force,
                           reason=args.reason, actor=inv.actor, now_ms=inv.now_ms, pinned=pinned,
                           resets_budget=info.resets_retry_budget)

    def entry(operation_id: str, plan: Plan) -> dict[str, object]:
        return journal_entry(inv, operation_id, plan, action=args.action, reason=args.reason,
                             selector=selector, force=args.force)

    # Ids are read whatever their tenant: "not found" then says which tenant holds them.
    scope = RowScope(query) if query is not None else RowScope(ids=frozenset(ids))
    execution = Execution(f"dead-letters {args.action}", args.action, plan_rows, query is not None,
                          args.dry_run, args.yes, entry, scope)
    return execute(inv, execution, interactive=interactive, confirm=confirm, working=working)


def _selection(inv: Invocation, args: ActionArgs, rule: Rule) -> tuple[tuple[str, ...], DeadLetterQuery | None]:
    sel = args.selector
    filtered = bool(sel.statuses or sel.run_id is not None or sel.source_type is not None or sel.active_only
                    or sel.since or sel.older_than or sel.reason_match is not None or sel.stale)
    if args.ids and (filtered or args.all_rows):
        raise UsageError("give dead-letter ids or selector flags (--status, --run, ..., --all), not both")
    if any(not dl_id.strip() for dl_id in args.ids):
        raise UsageError("dead-letter ids must not be blank")
    if args.ids:
        _check_reason(args, rule, bulk=False)
        return tuple(dict.fromkeys(args.ids)), None
    if not filtered and not args.all_rows:
        raise UsageError("name dead-letter ids, or select rows with --status, --run, --source-type, "
                         "--active-only, --since, --older-than, --reason-match or --stale (or --all for every row)")
    if args.reason is not None and not args.reason.strip():
        raise UsageError("--reason must not be blank")
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
        "reason_match": sel.reason_match, "stale": sel.stale, "all": args.all_rows,
    }
    return {key: value for key, value in described.items() if value not in (None, False, [])}


def journal_entry(inv: Invocation, operation_id: str, plan: Plan, *, action: str, reason: str | None,
                  selector: dict[str, object], force: bool = False, **extra: object) -> dict[str, object]:
    """One journal line: who, when, why, how selected, and every changed field's before/after."""
    return {
        "journal_version": history.JOURNAL_VERSION, "operation_id": operation_id, "at_ms": inv.now_ms,
        "at": history.iso_utc(inv.now_ms), "actor": inv.actor, "action": action, "reason": reason,
        "force": force, **extra, "argv": list(inv.argv),
        "tenant": None if inv.tenant is None else tenant_label(inv.tenant),
        "selector": selector, "rows": [journal_row(result) for result in plan.changed],
        "unchanged": [r.dead_letter_id for r in plan.results if r.outcome is Outcome.UNCHANGED],
        "refused": [{"dead_letter_id": r.dead_letter_id, "status": r.status, "reason": r.reason}
                    for r in plan.results if r.outcome is Outcome.REFUSED],
        "not_found": list(plan.not_found),
        **({"unknown": [{"dead_letter_id": r.dead_letter_id, "status": r.status, "reason": r.reason}
                        for r in plan.of(Outcome.UNKNOWN)]} if plan.of(Outcome.UNKNOWN) else {}),
    }
