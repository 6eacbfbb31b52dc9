"""`dead-letters list|retry|park|resolve|reopen`: thin adapters that parse options, make one use-case
call and hand its outcome to the renderer."""

import inspect
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tandemctl.cli.complete import complete_dead_letter_id
from tandemctl.cli.params import (
    ActiveOpt,
    OlderOpt,
    ReasonOpt,
    RunOpt,
    SinceOpt,
    SourceOpt,
    StaleOpt,
    StatusOpt,
    selectors,
)
from tandemctl.cli.runner import run_command
from tandemctl.commands.options import SelectorOptions
from tandemctl.constants import DEFAULT_LIMIT
from tandemctl.errors import EXIT_CODE_HELP

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation
    from tandemctl.commands.watch import Query

class TimeFormat(StrEnum):
    RELATIVE = "relative"
    ABSOLUTE = "absolute"


dead_letters_app = typer.Typer(no_args_is_help=True, help="List and act on dead letters.", epilog=EXIT_CODE_HELP)


@dead_letters_app.command("list")
def list_command(
    ctx: typer.Context, status: StatusOpt = None, run: RunOpt = None, source_type: SourceOpt = None,
    active_only: ActiveOpt = False, since: SinceOpt = None, older_than: OlderOpt = None,
    reason_match: ReasonOpt = None, stale: StaleOpt = False,
    after_id: Annotated[str | None, typer.Option("--after-id", help="Cursor: start after this id.")] = None,
    before_created_at_ms: Annotated[int | None, typer.Option(
        "--before-created-at-ms", min=0, help="Cursor: only rows created before this time.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Page size; 0 = all.")] = DEFAULT_LIMIT,
    needs_attention: Annotated[bool, typer.Option(
        "--needs-attention", help="Only rows that need a person: open, retry_requested or retrying, and not "
        "superseded by a success (= those --status values with --active-only).")] = False,
    exclude_status: Annotated[list[str] | None, typer.Option(
        "--exclude-status", help="Leave out this status (repeatable); `--status '!resolved'` does the same.")] = None,
    wide: Annotated[bool, typer.Option(
        "--wide", help="Triage columns plus run, disposition actor and disposition reason.")] = False,
    time_format: Annotated[TimeFormat | None, typer.Option(
        "--time", help="Times in the triage columns: relative (default) or absolute (UTC).")] = None,
    watch: Annotated[bool, typer.Option(
        "--watch", "-w", help="Keep the list up to date until Ctrl-C (exit 0): a live table on a terminal, "
        "JSON Lines of what changed when piped.")] = False,
    interval: Annotated[str, typer.Option("--interval", help="How often --watch re-reads the store.")] = "2s",
) -> None:
    """List dead letters, newest update first, with the engine's filter and cursor rules.

    With --live the engine filters --status (one), --run, --source-type, --active-only and the cursor
    (pages of up to 1000, following its cursor); several --status values, --since, --older-than,
    --reason-match and the tenant are applied here after paging. A live engine answers an unreadable
    store with an empty list: an empty answer says so on stderr.

    --needs-attention, --wide or --time show the triage columns: tool, dispatch count, next retry
    and last change (with --wide also run, disposition actor and reason).

    Example: tandemctl --all-tenants dead-letters list --status retry_requested -o json
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.invocation import build_query
        from tandemctl.commands.list_dead_letters import run_list
        from tandemctl.commands.list_view import select_statuses
        from tandemctl.constants import OutputFormat
        from tandemctl.render import listing
        from tandemctl.render.list_view import emit_triage_table

        statuses = select_statuses(status or [], exclude=exclude_status or [], needs_attention=needs_attention)
        sel = selectors(list(statuses), run, source_type, active_only or needs_attention, since, older_than,
                        reason_match, stale)
        query = build_query(inv, sel, after_id=after_id, before_created_at_ms=before_created_at_ms, limit=limit)
        if watch:
            return _watch(inv, query, wide=wide, absolute=time_format is TimeFormat.ABSOLUTE, interval=interval)
        elsewhere = inv.output is OutputFormat.TABLE and not inv.quiet  # the summary line says it
        outcome = run_list(inv.store(), query, now_ms=inv.now_ms, count_elsewhere=elsewhere)
        if inv.output is OutputFormat.TABLE and (needs_attention or wide or time_format is not None):
            emit_triage_table(outcome, wide=wide, absolute=time_format is TimeFormat.ABSOLUTE, quiet=inv.quiet)
        else:
            listing.emit_list(outcome, fmt=inv.output, command="dead-letters list", quiet=inv.quiet)
        return 0

    run_command(ctx, "dead-letters list", body)


def _watch(inv: "Invocation", query: "Query", *, wide: bool, absolute: bool, interval: str) -> int:
    import signal
    import threading

    from tandemctl.commands.durations import parse_duration_ms
    from tandemctl.commands.invocation import read_now_ms
    from tandemctl.commands.watch import watch
    from tandemctl.render.watch import watch_view

    period_ms = parse_duration_ms(interval, option="--interval")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # stop between two reads, cleanly, exit 0
        signal.signal(signum, lambda *_: stop.set())
    with watch_view(fmt=inv.output, wide=wide, absolute=absolute, interval_ms=period_ms) as show:
        watch(inv.store(), query, clock=lambda: read_now_ms(inv.env), show=show,
              wait=lambda: not stop.wait(period_ms / 1000))
    return 0


# Core and rendering modules are imported inside the command bodies (fast --help and completion).

IdsArg = Annotated[list[str] | None, typer.Argument(
    metavar="DEAD_LETTER_ID", show_default=False, autocompletion=complete_dead_letter_id,
    help="Act on these dead letters. Or select them with the filter flags instead, never both.")]
AllOpt = Annotated[bool, typer.Option(
    "--all", help="Act on every dead letter in scope (needed when no filter is given).")]
ReasonTextOpt = Annotated[str | None, typer.Option(
    "--reason", help="Why; stored as disposition_reason and journaled. Required for park, resolve and bulk.")]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Show exactly what would change (in any -o); write nothing.")]
MaxRpsOpt = Annotated[float, typer.Option(
    "--max-rps", min=0.1, max=1000, help="Live mode: send at most this many resume-plan requests per second "
    "(4 at a time).")]
DEFAULT_MAX_RPS = 20.0
YesOpt = Annotated[bool, typer.Option(
    "--yes", "-y", help="Skip the confirmation of a bulk action (required off a terminal and with -o json|jsonl|csv).")]
ACTION_EPILOG = (
    "Ids or selector flags select rows, never both; a selector without a filter needs --all. Rows of other "
    "tenants are not found (use --tenant or --all-tenants). A row already in the target status is unchanged. "
    "Bulk actions show the match count and ask for confirmation (--yes skips it). Exit 0 when nothing was "
    "refused, 6 when some rows were refused, 3 when an id does not exist (3 wins when both). " + EXIT_CODE_HELP
)


def _act(ctx: typer.Context, action: str, ids: list[str] | None, sel: SelectorOptions, *, all_rows: bool,
         reason: str | None, force: bool, dry_run: bool, yes: bool, max_rps: float | None = None) -> None:
    def body(inv: "Invocation") -> int:
        from tandemctl.commands.actions import ActionArgs, perform
        from tandemctl.render import actions
        from tandemctl.render.progress import activity

        args = ActionArgs(action, tuple(ids or ()), sel, all_rows, reason, force, dry_run, yes, max_rps)
        outcome = perform(inv, args, interactive=actions.is_interactive(), confirm=actions.confirm,
                          working=lambda label: activity(label, quiet=inv.quiet))
        actions.emit_action(outcome, fmt=inv.output, quiet=inv.quiet)
        return outcome.exit_code

    run_command(ctx, f"dead-letters {action}", body)


_ACTION_PARAMS: tuple[tuple[str, Any, object], ...] = (
    ("ids", IdsArg, None), ("status", StatusOpt, None), ("run", RunOpt, None), ("source_type", SourceOpt, None),
    ("active_only", ActiveOpt, False), ("since", SinceOpt, None), ("older_than", OlderOpt, None),
    ("reason_match", ReasonOpt, None), ("stale", StaleOpt, False), ("all_rows", AllOpt, False),
    ("reason", ReasonTextOpt, None),
    ("dry_run", DryRunOpt, False), ("yes", YesOpt, False),
)


def _action_command(action: str, doc: str, force_help: str | None = None, *,
                    live: bool = False) -> Callable[..., None]:
    """One command per action from one parameter set; `--force` only where the action has guarded rows,
    `--max-rps` only where it can be carried out through a running engine."""

    def command(ctx: typer.Context, **options: Any) -> None:
        sel = selectors(options["status"], options["run"], options["source_type"], options["active_only"],
                        options["since"], options["older_than"], options["reason_match"], options["stale"])
        _act(ctx, action, options["ids"], sel, all_rows=options["all_rows"], reason=options["reason"],
             force=options.get("force", False), dry_run=options["dry_run"], yes=options["yes"],
             max_rps=options.get("max_rps"))

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    params += [inspect.Parameter(name, keyword, default=default, annotation=annotation)
               for name, annotation, default in _ACTION_PARAMS]
    if live:
        params.append(inspect.Parameter("max_rps", keyword, default=DEFAULT_MAX_RPS, annotation=MaxRpsOpt))
    if force_help is not None:
        params.append(inspect.Parameter("force", keyword, default=False,
                                        annotation=Annotated[bool, typer.Option("--force", help=force_help)]))
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__name__ = f"{action}_command"
    command.__doc__ = doc
    return command


RETRY_HELP = """Request a retry (status retry_requested) with a fresh dispatch budget.

    Allowed from open, ignored and linked_to_compensation; retrying and resolved rows need --force.
    Rows the engine's dispatcher would never re-drive (not a tool_effect, no 'retry' recovery option,
    no run_id) are refused. The dispatcher's retry_dispatch_count, retry_dispatched_at_ms and
    retry_backoff_ms are removed from metadata, so a parked retry_exhausted row gets 5 new dispatches;
    operator_retry_count and previous_retry_dispatch_count record the history.

    Example: tandemctl --all-tenants dead-letters retry --status ignored --reason "provider is back" --dry-run
    """
PARK_HELP = """Park dead letters (status ignored): the dispatcher leaves them alone. Needs --reason.

    Allowed from open, retry_requested, retrying and linked_to_compensation; resolved needs --force.

    Example: tandemctl dead-letters park dead-letter-effect-d5345dd5895401de --reason "duplicate send"
    """
RESOLVE_HELP = """Mark dead letters resolved (handled outside Tandem), from any status. Needs --reason.

    Example: tandemctl dead-letters resolve --active-only --older-than 30d --reason "fixed by hand" --yes
    """
REOPEN_HELP = """Reopen dead letters (status open, disposition reopened) for another look.

    Allowed from ignored, resolved and linked_to_compensation, and from retry_requested and
    retrying, where it cancels the pending retry (a run already re-queued keeps running).

    Example: tandemctl --all-tenants dead-letters reopen --status ignored --reason "look again" --dry-run
    """
for _action, _doc, _force, _live in (
    ("retry", RETRY_HELP, "Also retry resolved rows and rows already retrying.", True),
    ("park", PARK_HELP, "Also park resolved rows.", True),
    ("resolve", RESOLVE_HELP, None, False),
    ("reopen", REOPEN_HELP, None, False),
):
    dead_letters_app.command(_action, epilog=ACTION_EPILOG)(_action_command(_action, _doc, _force, live=_live))


@dead_letters_app.command("show")
def show_command(
    ctx: typer.Context,
    dead_letter_id: Annotated[str, typer.Argument(metavar="DEAD_LETTER_ID", help="The dead letter to show.",
                                                  autocompletion=complete_dead_letter_id)],
) -> None:
    """Everything needed to decide on one dead letter: its tool effect, outbox and compensation, its
    run, the retry state, whether the dispatcher would act now (and if not why, with the next step),
    the operator journal entries for it and the run's last runtime events.

    Example: tandemctl --all-tenants dead-letters show dead-letter-effect-16fa91864a647bf7
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.show import show_dead_letter
        from tandemctl.render.progress import activity
        from tandemctl.render.show import emit_show

        with activity("reading the state and planning a sweep…", quiet=inv.quiet):
            outcome = show_dead_letter(inv, dead_letter_id)
        emit_show(outcome, fmt=inv.output)
        return 0

    run_command(ctx, "dead-letters show", body)


@dead_letters_app.command("stats")
def stats_command(
    ctx: typer.Context,
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="Break down by this field (repeatable): status, tenant, tool, source_type, reason, run. "
        "Default: all but run.")] = None,
    top: Annotated[int, typer.Option("--top", help="Show the N largest groups of each breakdown; 0 = all.")] = 10,
) -> None:
    """Counts by status, tenant, tool, source type and normalised reason, the age of open dead
    letters as a histogram, the oldest open one, retries in flight and exhaustions in the last 24 h.

    Example: tandemctl --all-tenants dead-letters stats --by tool --by reason --top 5
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.stats import dead_letter_stats
        from tandemctl.render.progress import activity
        from tandemctl.render.stats import emit_stats

        with activity("counting dead letters…", quiet=inv.quiet):
            outcome = dead_letter_stats(inv, by=by or [], top=top)
        emit_stats(outcome, fmt=inv.output)
        return 0

    run_command(ctx, "dead-letters stats", body)
