"""`run_command`: the single place where errors and interrupts become exit codes."""

import os
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from tandemctl.commands.options import RootOptions
from tandemctl.constants import (
    ENV_OUTPUT,
    OutputFormat,
)
from tandemctl.errors import ExitCode, TandemctlError

if TYPE_CHECKING:
    from tandemctl.commands.invocation import Invocation


def run_command(ctx: typer.Context, command: str, body: "Callable[[Invocation], int]") -> None:
    """The single translation point from TandemctlError (and interrupts) to exit codes."""
    from tandemctl.commands.invocation import describe_paths, resolve
    from tandemctl.render import console

    options: RootOptions = ctx.find_root().obj or RootOptions()
    fmt = options.output or OutputFormat(os.environ.get(ENV_OUTPUT, "table") or "table")
    try:
        inv = resolve(options, notify=lambda note: console.message(note, style="yellow"))
        fmt = inv.output
        if inv.verbose:
            for line in describe_paths(inv):
                console.message(line, style="dim")
        code = body(inv)
    except TandemctlError as exc:
        console.emit_error(exc, command=command, fmt=fmt)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        console.message("interrupted", style="red")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(int(ExitCode.OK)) from None
    except Exception as exc:  # the last line of defence: one line, no traceback for users
        if os.environ.get("TANDEMCTL_DEBUG"):
            traceback.print_exc()
        console.message(f"internal error: {type(exc).__name__}: {exc} (set TANDEMCTL_DEBUG=1 for details)")
        raise typer.Exit(int(ExitCode.ERROR)) from None
    raise typer.Exit(code)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
