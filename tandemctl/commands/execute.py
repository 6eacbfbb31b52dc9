"""Operator actions on dead letters (retry, park, resolve, reopen): select by ids or selector,
plan, confirm, apply in one locked and verified store write, journal.

The plan is always recomputed from the store read under the lock, so a row that moved on
since a preview is re-evaluated, never blindly overwritten. No Typer, no Rich, no clock.
"""

from collections.abc import Callable
from dataclasses import dataclass

from tandemctl.commands import history
from tandemctl.commands.action_results import ActionOutcome, Plan
from tandemctl.commands.invocation import Invocation
from tandemctl.constants import OutputFormat
from tandemctl.engine.rows import Row
from tandemctl.errors import TandemctlError, UsageError
from tandemctl.fs import locks
from tandemctl.stores.action_intent import PendingJournal, recover_pending
from tandemctl.stores.json_codec import ReliabilityData
from tandemctl.stores.json_verify import refuse_duplicate_dead_letter_ids

PlanRows = Callable[[list[Row], frozenset[str] | None], Plan]
Confirm = Callable[[ActionOutcome], bool]


class AbortedError(TandemctlError):
    code = "aborted"


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
    operation_id = history.new_operation_id(inv.now_ms)
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
        with locks.exclusive_lock(store_path, inv.lock_timeout):
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
