"""The Typer app: global options, error→exit translation, and the `dead-letters list` command.

Commands are thin adapters: build the invocation, call one core function, render its result.
Other command groups live in cli_*.py and register themselves on `app` / `dead_letters_app`.
"""

import gc
import os
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl import __version__
from tandemctl.constants import (
    DEFAULT_LIMIT,
    ENV_ACTOR,
    ENV_CONFIG,
    ENV_OUTPUT,
    ENV_STATE_DIR,
    ENV_TENANT,
    OutputFormat,
)
from tandemctl.errors import EXIT_CODE_HELP, ExitCode, TandemctlError
from tandemctl.options import RootOptions, SelectorOptions

if TYPE_CHECKING:
    from tandemctl.invocation import Invocation

# Core and rendering modules (pydantic, rich, orjson) are imported inside the commands, so that
# `--help` and shell completion do not pay for them.

app = typer.Typer(
    name="tandemctl", no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
    help="Operate Tandem's dead letters from a terminal: list, retry, park, resolve, sweep.",
    epilog=EXIT_CODE_HELP,
)
dead_letters_app = typer.Typer(no_args_is_help=True, help="List and act on dead letters.", epilog=EXIT_CODE_HELP)
app.add_typer(dead_letters_app, name="dead-letters")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"tandemctl {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    state_dir: Annotated[str | None, typer.Option(
        "--state-dir", envvar=ENV_STATE_DIR, help="Act as if TANDEM_STATE_DIR were this path.")] = None,
    reliability_file: Annotated[str | None, typer.Option(
        "--reliability-file", help="Path of stateful_reliability.json (overrides the state dir).")] = None,
    tenant: Annotated[str | None, typer.Option(
        "--tenant", envvar=ENV_TENANT, help="ORG/WORKSPACE[/DEPLOYMENT]; default local/local.")] = None,
    all_tenants: Annotated[bool, typer.Option("--all-tenants", help="Lift tenant scoping.")] = False,
    output: Annotated[OutputFormat | None, typer.Option(
        "--output", "-o", envvar=ENV_OUTPUT, help="table, json, jsonl or csv.")] = None,
    actor: Annotated[str | None, typer.Option(
        "--actor", envvar=ENV_ACTOR, help="Who is acting; default the login user.")] = None,
    config: Annotated[str | None, typer.Option("--config", envvar=ENV_CONFIG, help="TOML config file.")] = None,
    lock_timeout: Annotated[float | None, typer.Option(
        "--lock-timeout", min=0, max=86400, help="Seconds to wait for tandemctl's lock before exit 4 "
        "(default 10).")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="Print resolved paths.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Global options go before the command name."""
    ctx.obj = RootOptions(
        state_dir=state_dir, reliability_file=reliability_file, tenant=tenant, all_tenants=all_tenants,
        output=output, actor=actor, config=config, lock_timeout=lock_timeout, verbose=verbose, quiet=quiet,
        argv=tuple(sys.argv[1:]),
    )


def run_command(ctx: typer.Context, command: str, body: "Callable[[Invocation], int]") -> None:
    """The single translation point from TandemctlError (and interrupts) to exit codes."""
    from tandemctl import render
    from tandemctl.invocation import describe_paths, resolve

    options: RootOptions = ctx.find_root().obj or RootOptions()
    fmt = options.output or OutputFormat(os.environ.get(ENV_OUTPUT, "table") or "table")
    try:
        inv = resolve(options)
        fmt = inv.output
        if inv.verbose:
            for line in describe_paths(inv):
                render.message(line, style="dim")
        code = body(inv)
    except TandemctlError as exc:
        render.emit_error(exc, command=command, fmt=fmt)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        render.message("interrupted", style="red")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(int(ExitCode.OK)) from None
    except Exception as exc:  # the last line of defence: one line, no traceback for users
        if os.environ.get("TANDEMCTL_DEBUG"):
            traceback.print_exc()
        render.message(f"internal error: {type(exc).__name__}: {exc} (set TANDEMCTL_DEBUG=1 for details)")
        raise typer.Exit(int(ExitCode.ERROR)) from None
    raise typer.Exit(code)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


StatusOpt = Annotated[list[str] | None, typer.Option(
    "--status", help="Only this status (repeatable): open, retry_requested, retrying, ignored, "
    "linked_to_compensation, resolved.")]
RunOpt = Annotated[str | None, typer.Option("--run", help="Only dead letters of this run id.")]
SourceOpt = Annotated[str | None, typer.Option("--source-type", help="tool_effect or stateful_wait.")]
ActiveOpt = Annotated[bool, typer.Option("--active-only", help="Hide rows superseded by a success.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Created within this long (e.g. 2h, 7d).")]
OlderOpt = Annotated[str | None, typer.Option("--older-than", help="Created at least this long ago.")]
ReasonOpt = Annotated[str | None, typer.Option("--reason-match", help="Reason matches this regex.")]


def selectors(status: list[str] | None, run: str | None, source_type: str | None, active_only: bool,
              since: str | None, older_than: str | None, reason_match: str | None) -> SelectorOptions:
    return SelectorOptions(statuses=tuple(status or ()), run_id=run, source_type=source_type,
                           active_only=active_only, since=since, older_than=older_than, reason_match=reason_match)


@dead_letters_app.command("list")
def list_command(
    ctx: typer.Context, status: StatusOpt = None, run: RunOpt = None, source_type: SourceOpt = None,
    active_only: ActiveOpt = False, since: SinceOpt = None, older_than: OlderOpt = None,
    reason_match: ReasonOpt = None,
    after_id: Annotated[str | None, typer.Option("--after-id", help="Cursor: start after this id.")] = None,
    before_created_at_ms: Annotated[int | None, typer.Option(
        "--before-created-at-ms", min=0, help="Cursor: only rows created before this time.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Page size; 0 = all.")] = DEFAULT_LIMIT,
) -> None:
    """List dead letters, newest update first, with the engine's filter and cursor rules.

    Example: tandemctl --all-tenants dead-letters list --status retry_requested -o json
    """
    sel = selectors(status, run, source_type, active_only, since, older_than, reason_match)

    def body(inv: "Invocation") -> int:
        from tandemctl import render
        from tandemctl.invocation import build_query
        from tandemctl.listing import run_list

        query = build_query(inv, sel, after_id=after_id, before_created_at_ms=before_created_at_ms, limit=limit)
        render.emit_list(run_list(inv.json_backend(), query, now_ms=inv.now_ms, env=inv.env), fmt=inv.output,
                         command="dead-letters list", quiet=inv.quiet)
        return 0

    run_command(ctx, "dead-letters list", body)


def _register_groups() -> None:
    # Imported for their side effect of adding commands to `app`; kept at the bottom to
    # avoid import cycles (they import `app` and helpers from here).
    import importlib

    for module in ("tandemctl.cli_actions", "tandemctl.cli_sweep"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def main() -> None:
    # A short-lived process that builds millions of small objects from one JSON file: the
    # cyclic GC would rescan them over and over (measured 5x slower loads at 100k rows).
    gc.disable()
    app()


_register_groups()
