"""Help is part of the interface: every command has help with an example, and the README names it."""

import re
from pathlib import Path
from typing import Any

import typer

from tandemctl.cli.app import app

README_PATH = Path(__file__).resolve().parents[2] / "README.md"
README = README_PATH.read_text()


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = []
    for name, command in getattr(group, "commands", {}).items():
        path = (*prefix, name)
        if getattr(command, "commands", None):
            found += _commands(command, path)
        else:
            found.append((path, command))
    return found


def test_every_command_has_help_with_an_example_and_is_in_the_readme() -> None:
    commands = _commands(typer.main.get_command(app))
    names = {" ".join(path) for path, _ in commands}
    assert {"dead-letters list", "dead-letters retry", "dead-letters park", "dead-letters resolve",
            "dead-letters reopen", "history", "undo", "sweep", "audit verify"} <= names
    for path, command in commands:
        text = command.help or ""
        assert text.strip(), f"{' '.join(path)} has no help"
        assert "Example: tandemctl" in text, f"{' '.join(path)} help lacks an example"
        assert re.search(rf"tandemctl [^\n`]*{path[0]}\b", README) and re.search(rf"\b{path[-1]}\b", README), path


def test_every_option_has_help() -> None:
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option" and param.name not in ("help",):
                assert (param.help or "").strip(), f"{' '.join(path)} {param.opts} has no help"


def test_ci_runs_exactly_the_readme_test_command() -> None:
    first_section = README.split("\n---\n", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", first_section)
    assert len(commands) == 2  # one sets tandemctl up and runs it on the sample; one runs the tests
    ci = (README_PATH.parent / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == commands[1]
