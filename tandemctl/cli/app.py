"""The root Typer app: global options, and the explicit registration of every command group.

Only `cli/` imports Typer. Commands are thin adapters (see `cli/dead_letters.py`).
"""

import gc
import sys
from typing import Annotated

import typer

from tandemctl import __version__
from tandemctl.cli import check, config, count, dead_letters, export, journal, monitor, runs, sweep
from tandemctl.cli.root_group import HELP_OPTIONS, RootGroup
from tandemctl.commands.options import RootOptions
from tandemctl.constants import (
    ENV_ACTOR,
    ENV_CONFIG,
    ENV_OUTPUT,
    ENV_STATE_DIR,
    ENV_TENANT,
    OutputFormat,
)
from tandemctl.errors import EXIT_CODE_HELP

# Core and rendering modules (pydantic, rich, orjson) are imported inside the commands, so that
# `--help` and shell completion do not pay for them.

app = typer.Typer(
    name="tandemctl", cls=RootGroup, context_settings=HELP_OPTIONS, no_args_is_help=True,
    pretty_exceptions_enable=False, rich_markup_mode=None,
    help="Operate Tandem's dead letters from a terminal: list, retry, park, resolve, sweep.",
    epilog=EXIT_CODE_HELP,
)
dead_letters.dead_letters_app.command("count")(count.count_command)
app.add_typer(dead_letters.dead_letters_app, name="dead-letters")
app.command("history", epilog=EXIT_CODE_HELP)(journal.history_command)
app.command("undo", epilog=EXIT_CODE_HELP)(journal.undo_command)
app.command("sweep", epilog=EXIT_CODE_HELP)(sweep.sweep_command)
app.add_typer(sweep.audit_app, name="audit")
app.add_typer(config.config_app, name="config")
app.command("doctor")(monitor.doctor_command)
app.command("metrics")(monitor.metrics_command)
app.command("check")(check.check_command)
app.add_typer(runs.runs_app, name="runs")
app.add_typer(runs.events_app, name="events")
app.command("export", epilog=EXIT_CODE_HELP)(export.export_command)


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
        "--tenant", help=f"ORG/WORKSPACE[/DEPLOYMENT]; default {ENV_TENANT}, else local/local.")] = None,
    all_tenants: Annotated[bool, typer.Option("--all-tenants", help="Lift tenant scoping.")] = False,
    output: Annotated[OutputFormat | None, typer.Option(
        "--output", "-o", envvar=ENV_OUTPUT, metavar="FORMAT", help="table, json, jsonl or csv.")] = None,
    actor: Annotated[str | None, typer.Option(
        "--actor", envvar=ENV_ACTOR, help="Who is acting; default the login user.")] = None,
    config: Annotated[str | None, typer.Option("--config", envvar=ENV_CONFIG, help="TOML config file.")] = None,
    lock_timeout: Annotated[float | None, typer.Option(
        "--lock-timeout", min=0, max=86400, help="Seconds to wait for tandemctl's lock before exit 4 "
        "(default 10).")] = None,
    storage_backend: Annotated[str | None, typer.Option(
        "--storage-backend", help="sqlite or postgres, as the engine's TANDEM_STORAGE_BACKEND (0.6.9+).")] = None,
    postgres_url: Annotated[str | None, typer.Option(
        "--postgres-url", help="PostgreSQL URL, as the engine's TANDEM_STORAGE_POSTGRES_URL.")] = None,
    live: Annotated[bool, typer.Option(
        "--live", help="Act through the running engine's HTTP API (config: mode = \"live\").")] = False,
    engine_url: Annotated[str | None, typer.Option(
        "--engine-url", help="The engine's base URL (default TANDEM_ENGINE_URL, else "
        "http://$TANDEM_ENGINE_HOST:$TANDEM_ENGINE_PORT, 127.0.0.1:39731).")] = None,
    api_token_file: Annotated[str | None, typer.Option(
        "--api-token-file", help="File holding the engine's API token (live mode).")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="Print resolved paths.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Global options go before or after the command name."""
    ctx.obj = RootOptions(
        state_dir=state_dir, reliability_file=reliability_file, tenant=tenant, all_tenants=all_tenants,
        output=output, actor=actor, config=config, lock_timeout=lock_timeout, verbose=verbose, quiet=quiet,
        storage_backend=storage_backend, postgres_url=postgres_url, live=live, engine_url=engine_url,
        api_token_file=api_token_file, argv=tuple(sys.argv[1:]), sources=_sources(ctx),
    )


def _sources(ctx: typer.Context) -> tuple[tuple[str, str], ...]:
    """Which global options were given, and whether on the command line or through their env var."""
    found = []
    for name in ctx.params:
        source = ctx.get_parameter_source(name)
        kind = getattr(source, "name", "")
        if kind in ("COMMANDLINE", "ENVIRONMENT"):
            found.append((name, "flag" if kind == "COMMANDLINE" else "env"))
    return tuple(found)


def main() -> None:
    # A short-lived process that builds millions of small objects from one JSON file: the
    # cyclic GC would rescan them over and over (measured 5x slower loads at 100k rows).
    gc.disable()
    app()
