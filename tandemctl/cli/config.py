"""`config show|init`: the effective settings and where each came from; a starter config file."""

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer

from tandemctl.cli.runner import run_command
from tandemctl.commands.options import RootOptions
from tandemctl.errors import EXIT_CODE_HELP

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation

config_app = typer.Typer(no_args_is_help=True, help="Show or create tandemctl's configuration.",
                         epilog=EXIT_CODE_HELP)


@config_app.command("show")
def config_show_command(ctx: typer.Context) -> None:
    """Print every setting, its effective value and where it came from (default, file, env or flag).

    Precedence: defaults < config file < environment < flags.

    Example: tandemctl --tenant acme/ops config show
    """

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.config_report import config_report
        from tandemctl.render.config import emit_config

        emit_config(config_report(inv), fmt=inv.output)
        return 0

    run_command(ctx, "config show", body)


@config_app.command("init")
def config_init_command(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")] = False,
) -> None:
    """Write a starter config file (at --config, TANDEMCTL_CONFIG or the default location) holding
    the settings given now plus the fixed defaults; refuses to overwrite without --force.

    Example: tandemctl --state-dir /srv/tandem --tenant acme/ops config init
    """

    root = ctx.find_root()
    options: RootOptions = root.obj or RootOptions()
    target = options.config
    # The file to create is not read (it need not exist yet).
    root.obj = dataclasses.replace(options, config=None)

    def body(inv: "Invocation") -> int:
        from tandemctl.commands.config_report import config_init
        from tandemctl.render.config import emit_init

        emit_init(config_init(inv, force=force, target=target), fmt=inv.output, quiet=inv.quiet)
        return 0

    run_command(ctx, "config init", body)
