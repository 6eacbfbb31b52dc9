"""`undo OPERATION_ID`: put back the fields one journaled operation changed, row by row, and
only where the row is still exactly as that operation left it. The undo is journaled too.
"""

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tandemctl.commands import history
from tandemctl.commands.action_plan import held_elsewhere
from tandemctl.commands.action_results import ActionOutcome, Plan, RowResult
from tandemctl.commands.action_rules import Outcome
from tandemctl.commands.actions import journal_entry
from tandemctl.commands.config import parse_tenant
from tandemctl.commands.execute import Confirm, Execution, Working, execute
from tandemctl.commands.invocation import Invocation
from tandemctl.engine.dispositions import forward_clock, visible_to_tenant
from tandemctl.engine.models import DeadLetterRecord
from tandemctl.engine.records import canonical_row
from tandemctl.engine.rows import Row, RowChange, first_by_key
from tandemctl.engine.sealed import READ_ONLY_REASON, is_sealed
from tandemctl.engine.validation import validate_rows
from tandemctl.errors import CorruptStateError, NotFoundError, UsageError
from tandemctl.stores import journal_file
from tandemctl.stores.base import RowScope

_ABSENT: Final = object()


@dataclass(frozen=True)
class UndoArgs:
    operation_id: str
    reason: str | None = None
    dry_run: bool = False
    yes: bool = False
    max_rps: float | None = None  # live mode: requests per second at most


def perform_undo(inv: Invocation, args: UndoArgs, *, interactive: bool, confirm: Confirm,
            working: Working = lambda _label: nullcontext()) -> ActionOutcome:
    """Revert one operation; unknown ids are NotFoundError (exit 3). Confirms like a bulk action."""
    if args.reason is not None and not args.reason.strip():
        raise UsageError("--reason must not be blank")
    inv = inv.with_max_rps(args.max_rps)
    journal = inv.store().journal_file
    entries, bad = journal_file.read_journal(journal)
    try:
        entry = history.find_operation(entries, args.operation_id, path=journal)
    except NotFoundError:
        if bad:  # it may be on the line that cannot be read
            raise CorruptStateError(f"operation {args.operation_id!r} is not among the readable entries of {journal}; "
                                    f"line(s) {', '.join(map(str, bad))} cannot be read") from None
        raise
    undone_by = _undone_by(entries, args.operation_id)
    journaled = [row for row in entry["rows"] if isinstance(row, dict)]
    scope = operation_scope(entry, inv.tenant)

    def plan_rows(rows: list[Row], _pinned: frozenset[str] | None) -> Plan:
        if undone_by is not None:  # every row is refused, with the undo that already reverted it
            return Plan(tuple(RowResult(str(row.get("dead_letter_id")), Outcome.REFUSED, None, reason=undone_by)
                              for row in journaled))
        return plan_undo(rows, journaled, operation_id=args.operation_id, tenant=scope, now_ms=inv.now_ms)

    def entry_for(operation_id: str, plan: Plan) -> dict[str, object]:
        return journal_entry(inv, operation_id, plan, action="undo", reason=args.reason,
                             selector={"operation_id": args.operation_id}, undoes=args.operation_id)

    named = frozenset(row["dead_letter_id"] for row in journaled if isinstance(row.get("dead_letter_id"), str))
    execution = Execution("undo", "undo", plan_rows, bulk=True, dry_run=args.dry_run, yes=args.yes,
                          journal_entry=entry_for, scope=RowScope(ids=named))
    return execute(inv, execution, interactive=interactive, confirm=confirm, working=working)


def operation_scope(entry: Row, current: dict[str, str] | None) -> dict[str, str] | None:
    """The tenant scope the operation was made in (None: all tenants), so an `--all-tenants`
    operation is undone whole; an entry without a readable scope keeps the invocation's."""
    if "tenant" not in entry:
        return current
    label = entry["tenant"]
    if label is None:
        return None
    try:
        return parse_tenant(str(label), option="the operation's recorded tenant")
    except UsageError:
        return current


def _undone_by(entries: list[Row], operation_id: str) -> str | None:
    """Why the operation cannot be undone again: the undo that already reverted it, if any."""
    for later in entries:
        if later.get("undoes") == operation_id and later.get("action") == "undo" and later.get("rows"):
            return (f"{operation_id} was already undone by {later['operation_id']} ({later.get('at', '?')}, "
                    f"{later.get('actor', '?')}); to redo it, undo that operation")
    return None


def plan_undo(rows: list[Row], journaled: list[Row], *, operation_id: str, tenant: dict[str, str] | None,
              now_ms: int) -> Plan:
    """For each journaled row: revert it if untouched since, refuse if it moved on, else not found."""
    index = first_by_key(rows, "dead_letter_id", None if tenant is None else lambda row: visible_to_tenant(row, tenant))
    results: list[RowResult] = []
    not_found: list[str] = []
    for record in journaled:
        dl_id = str(record.get("dead_letter_id"))
        if not isinstance(record.get("dead_letter_id"), str):
            results.append(RowResult(dl_id, Outcome.REFUSED, None,
                                     reason=f"the journal record of {operation_id} names no dead letter"))
            continue
        if dl_id not in index:
            not_found.append(dl_id)
            continue
        results.append(_undo_row(record, index[dl_id][1], operation_id=operation_id, now_ms=now_ms))
    return Plan(tuple(results), tuple(not_found), held_elsewhere(rows, not_found))


def _undo_row(record: Row, row: Row, *, operation_id: str, now_ms: int) -> RowResult:
    dl_id, status = str(row["dead_letter_id"]), str(row["status"])
    if is_sealed(row):
        return RowResult(dl_id, Outcome.REFUSED, status, reason=READ_ONLY_REASON)
    fields, before, after = record.get("fields"), record.get("before"), record.get("after")
    if not (isinstance(fields, list) and all(isinstance(name, str) for name in fields)
            and isinstance(before, dict) and isinstance(after, dict)):
        return RowResult(dl_id, Outcome.REFUSED, status, reason=f"the journal record of {operation_id} is malformed")
    moved = [name for name in fields if row.get(name, _ABSENT) != after.get(name, _ABSENT)]
    if moved:
        return RowResult(dl_id, Outcome.REFUSED, status, reason=_moved_reason(operation_id, moved, row, after))
    reverted = dict(row)
    for name in fields:
        if name in before:
            reverted[name] = before[name]
        else:
            reverted.pop(name, None)
    reverted["updated_at_ms"] = forward_clock(row, now_ms)  # undo is a new write: the clock moves forward
    reverted = canonical_row(reverted, "dead_letters")
    if set(fields) - UNDOABLE_FIELDS or not _is_valid(reverted):
        # A journal is a plain file: never let a tampered record write a row the engine rejects.
        return RowResult(dl_id, Outcome.REFUSED, status,
                         reason=f"the journal record of {operation_id} would not restore a valid row")
    return RowResult(dl_id, Outcome.CHANGED, status, str(reverted["status"]),
                     change=RowChange("dead_letters", dl_id, row, reverted))


UNDOABLE_FIELDS: Final = frozenset({"status", "operator_disposition", "disposition_reason", "disposition_actor",
                                    "disposition_at_ms", "updated_at_ms", "metadata"})


def _is_valid(row: Row) -> bool:
    try:
        validate_rows([row], DeadLetterRecord, path=Path("journal"), collection="dead_letters", key="dead_letter_id")
    except CorruptStateError:
        return False
    return True


def _moved_reason(operation_id: str, moved: list[str], row: Row, after: Row) -> str:
    if "status" in moved:
        return (f"moved on since {operation_id}: status is now {row['status']!r}, "
                f"that operation left it {after.get('status')!r}")
    return f"changed since {operation_id}: {', '.join(moved)} no longer as that operation left it"
