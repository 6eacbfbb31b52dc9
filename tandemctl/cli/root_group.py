"""The root command group: global options after the command name, usage errors in `-o json`,
and value-like metavars. A group class (not `main()`) so the test runner gets the same parsing."""

import os
import sys
from typing import Any

from typer import _click as click
from typer._click.exceptions import NoArgsIsHelpError
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperArgument, TyperGroup

from tandemctl.cli.argv import CommandOptions, hoist_global_options, output_format
from tandemctl.constants import ENV_OUTPUT


class RootGroup(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _value_metavars(self)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        args = hoist_global_options(list(args), self._resolve)
        self._json_errors = (output_format(args) or os.environ.get(ENV_OUTPUT, "")).strip() == "json"
        try:
            return super().make_context(info_name, args, parent, **extra)
        except ClickUsageError as exc:
            raise self._envelope(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClickUsageError as exc:
            raise self._envelope(exc) from None

    def _envelope(self, exc: ClickUsageError) -> ClickUsageError:
        if _command_name(exc.ctx) == "check" and not isinstance(exc, NoArgsIsHelpError):
            return CheckUsageError(exc)
        if not getattr(self, "_json_errors", False) or isinstance(exc, NoArgsIsHelpError):
            return exc
        return JsonUsageError(exc)

    def _resolve(self, path: tuple[str, ...]) -> tuple[frozenset[str], CommandOptions]:
        command: click.Command = self
        for name in path:
            command = getattr(command, "commands", {}).get(name, command)
        names: set[str] = set()
        with_value: set[str] = set()
        for param in command.params:
            if param.param_type_name == "option":
                names.update(param.opts + param.secondary_opts)
                if not (getattr(param, "is_flag", False) or getattr(param, "count", False)):
                    with_value.update(param.opts)
        return frozenset(getattr(command, "commands", {})), CommandOptions(frozenset(names), frozenset(with_value))


class JsonUsageError(ClickUsageError):
    """A usage error shown as one stderr line plus the failure envelope on stdout (exit 2)."""

    def __init__(self, original: ClickUsageError) -> None:
        super().__init__(original.format_message(), original.ctx)

    def show(self, file: Any = None) -> None:
        from tandemctl.constants import OutputFormat
        from tandemctl.errors import UsageError
        from tandemctl.render import console

        console.emit_error(UsageError(self.format_message()), command=_command_name(self.ctx), fmt=OutputFormat.JSON)


class CheckUsageError(ClickUsageError):
    """`check` is a monitoring plugin: a usage error of its own is UNKNOWN (exit 3) with the plugin's
    status line on stdout, never the CRITICAL that exit 2 means to Nagios."""

    exit_code = 3

    def __init__(self, original: ClickUsageError) -> None:
        super().__init__(original.format_message(), original.ctx)

    def show(self, file: Any = None) -> None:
        sys.stdout.write(f"TANDEMCTL UNKNOWN - usage: {' '.join(self.format_message().split())}\n")
        sys.stdout.flush()
        super().show(file)


def _command_name(ctx: click.Context | None) -> str:
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(names) or "tandemctl"


def _value_metavars(command: click.Command) -> None:
    """`--status STATUS`, `OPERATION_ID`: metavars that read as the value, not as a Python type."""
    for param in command.params:
        if param.metavar is None and not getattr(param, "is_flag", False) and not getattr(param, "count", False):
            param.metavar = (param.name or "value").upper()
        if isinstance(param, TyperArgument):
            param.__class__ = _ValueArgument
    for sub in getattr(command, "commands", {}).values():
        _value_metavars(sub)


class _ValueArgument(TyperArgument):
    """`undo [OPTIONS] OPERATION_ID`, not Typer's `{OPERATION_ID}`."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")


HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
__all__ = ["HELP_OPTIONS", "JsonUsageError", "RootGroup"]
