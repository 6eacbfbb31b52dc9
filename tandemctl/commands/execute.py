"""Carrying out a planned change to dead letters (an action or an undo): preview and confirm when
bulk, then under the store's lock plan from a fresh read, make the journal entry durable, write
every row as a compare-and-set, and journal.

The plan is always recomputed from the rows read under the lock, so a row that moved on since a
preview is re-evaluated, never blindly overwritten. No Typer, no Rich, no clock.
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Final

from tandemctl.commands import history
from tandemctl.commands.action_results import ActionOutcome, Plan
from tandemctl.commands.action_rules import Outcome
from tandemctl.commands.invocation import Invocation
from tandemctl.constants import OutputFormat
from tandemctl.engine.rows import Row
from tandemctl.errors import ConflictError, EngineLiveError, TandemctlError, UsageError
from tandemctl.stores.action_intent import PendingJournal, recover_pending
from tandemctl.stores.base import ChangeConflict, PartialApply, RowFailure, RowScope, Store, StoreWriter

PlanRows = Callable[[list[Row], frozenset[str] | None], Plan]
Confirm = Callable[[ActionOutcome], bool]
# Shows that long work is under way (a spinner on a terminal); never asked anything.
Working = Callable[[str], AbstractContextManager[None]]
MAX_REPLANS: Final = 50  # each one means a planned row changed under us; never loop forever


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
    scope: RowScope | None = None  # the rows the plan reads (None: all); a database reads just those


def execute(inv: Invocation, ex: Execution, *, interactive: bool, confirm: Confirm,
            working: Working = lambda _label: nullcontext()) -> ActionOutcome:
    """Dry run, or (confirm when bulk, then) one locked write of every changed row plus its journal line."""
    _require_confirmable(ex, interactive=interactive, fmt=inv.output)
    store = inv.store()
    if ex.dry_run:
        with working("reading the dead letters…"):
            rows = store.load_dead_letters(ex.scope)
            return ActionOutcome(ex.command, ex.action, ex.plan_rows(rows, None), dry_run=True)
    pinned = None
    if ex.bulk and not ex.yes:
        with working("reading the dead letters…"):
            preview = ActionOutcome(ex.command, ex.action, ex.plan_rows(store.load_dead_letters(ex.scope), None))
        if not preview.plan.changed:
            return preview
        if not confirm(preview):
            raise AbortedError("aborted; nothing was changed")
        pinned = frozenset(result.dead_letter_id for result in preview.plan.results)
    operation_id = history.new_operation_id(inv.now_ms)
    with working(f"{ex.action}: planning and writing…"):  # after any prompt: the two never share the screen
        plan = write_planned(store, lambda rows: ex.plan_rows(rows, pinned),
                             lambda planned: ex.journal_entry(operation_id, planned), lock_timeout=inv.lock_timeout,
                             scope=None if ex.scope is None else ex.scope.with_ids(pinned))
    applied = bool(plan.changed)
    journaled = applied or bool(plan.of(Outcome.UNKNOWN))
    return ActionOutcome(ex.command, ex.action, plan, applied=applied,
                         operation_id=operation_id if journaled else None)


def write_planned(store: Store, plan_rows: Callable[[list[Row]], Plan],
                  journal_entry: Callable[[Plan], dict[str, object]], *, lock_timeout: float,
                  scope: RowScope | None = None) -> Plan:
    """Under the store's lock: finish an interrupted action, plan from a fresh read, write the journal
    intent, apply the plan's compare-and-sets (re-planning when a row moved on), then journal."""
    with _writer(store, lock_timeout) as writer:
        pending = PendingJournal(writer.intent_anchor, store.journal_file)
        recover_pending(writer.intent_anchor, writer.dead_letters)
        for _ in range(MAX_REPLANS):
            plan = plan_rows(writer.dead_letters(scope))
            if not plan.changed:
                pending.discard()
                return plan
            pending.write(journal_entry(plan))  # the journal line, durable before the store write
            failures: list[RowFailure] = []
            try:
                written = writer.apply(plan.row_changes())
            except ChangeConflict:
                continue
            except PartialApply as partial:  # a store that cannot write all rows at once (the live engine)
                written, failures = partial.written, partial.failures
            except TandemctlError:
                _settle_intent(pending, writer)
                raise
            plan = plan.settle(written, failures)
            if plan.changed or plan.of(Outcome.UNKNOWN):
                pending.commit(journal_entry(plan))
            else:
                pending.discard()
            return plan
        _settle_intent(pending, writer)
    raise ConflictError(f"{store.info.location}: the selected rows kept changing while tandemctl tried to write "
                        f"them ({MAX_REPLANS} attempts); nothing was written")


@contextmanager
def _writer(store: Store, lock_timeout: float) -> Iterator[StoreWriter]:
    """The store's writer; when a running engine holds the store, the one place that says --live exists."""
    with ExitStack() as stack:
        try:
            writer = stack.enter_context(store.writer(lock_timeout))
        except EngineLiveError as exc:
            raise EngineLiveError(f"{exc.message}; to act while the engine runs, go through its HTTP API: "
                                  "tandemctl --live ...", **exc.details) from None
        yield writer


def _settle_intent(pending: PendingJournal, writer: StoreWriter) -> None:
    """The write failed part-way: journal our intent if the store has the change after all (a failure
    while defending it against an unlocked writer), else drop it. Left to the next writer if even
    that fails."""
    if not pending.written or pending.store_written:
        return
    try:
        recover_pending(writer.intent_anchor, writer.dead_letters)
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
