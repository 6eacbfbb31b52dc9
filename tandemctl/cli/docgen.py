"""`docs/cli.md`: the command reference generated from the CLI itself (a test fails on drift).

Regenerate with `python3 -m tandemctl.cli.docgen > docs/cli.md`.
"""

import sys
from typing import Any

import typer

from tandemctl.cli.app import app

HEADER = """# tandemctl command reference

Generated from the CLI by `python3 -m tandemctl.cli.docgen > docs/cli.md`; a test fails when it drifts.
Global options go before the command name.
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _row(param: Any, ctx: typer.Context) -> str:
    """One table row from the parameter's own help record (what `--help` prints)."""
    record = param.get_help_record(ctx)
    names, text = record if record else (param.name, "")
    return f"| `{_cell(names)}` | {_cell(text)} |"


def _section(path: list[str], command: Any, ctx: typer.Context) -> list[str]:
    help_text = (command.help or "").strip()
    lines = [f"## `{' '.join(path)}`", "", help_text, "", "```text", command.get_usage(ctx), "```", ""]
    arguments = [p for p in command.params if getattr(p, "param_type_name", "") == "argument"]
    options = [p for p in command.params if getattr(p, "param_type_name", "") == "option"]
    if arguments:
        lines += ["| argument | meaning |", "|---|---|"]
        lines += [_row(p, ctx) for p in arguments]
        lines.append("")
    if options:
        lines += ["| option | meaning |", "|---|---|"]
        lines += [_row(p, ctx) for p in options]
        lines.append("")
    return lines


def _walk(command: Any, path: list[str], parent: typer.Context | None) -> list[str]:
    # A fixed width: the reference must not depend on the terminal it was generated in.
    ctx = typer.Context(command, info_name=path[-1], parent=parent, terminal_width=100, max_content_width=100)
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return _section(path, command, ctx)
    lines = _section(path, command, ctx) if parent is None or command.params else []
    for name in sorted(subcommands):
        lines += _walk(subcommands[name], [*path, name], ctx)
    return lines


def render_cli_markdown() -> str:
    root = typer.main.get_command(app)
    body = "\n".join(_walk(root, ["tandemctl"], None)).rstrip("\n")
    return f"{HEADER}\n{body}\n"


if __name__ == "__main__":
    sys.stdout.write(render_cli_markdown())
