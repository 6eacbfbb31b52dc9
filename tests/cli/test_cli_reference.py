"""docs/cli.md is exactly what the CLI generates (TANDEMCTL_GOLDEN_UPDATE=1 rewrites it)."""

import os
from pathlib import Path

import typer

from tandemctl.cli.app import app
from tandemctl.cli.docgen import render_cli_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_does_not_drift() -> None:
    text = render_cli_markdown()
    if os.environ.get("TANDEMCTL_GOLDEN_UPDATE"):
        DOC.write_text(text)
    assert text == DOC.read_text(), "docs/cli.md drifted: python3 -m tandemctl.cli.docgen > docs/cli.md"


def test_every_command_and_option_is_in_the_reference() -> None:
    text = DOC.read_text()

    def walk(command: typer.core.TyperGroup, path: str) -> None:
        for name, sub in command.commands.items():
            full = f"{path} {name}"
            if getattr(sub, "commands", None):
                walk(sub, full)
                continue
            assert f"## `{full}`" in text, full
            for param in sub.params:
                for opt in getattr(param, "opts", []):
                    if opt.startswith("--"):
                        assert opt in text, (full, opt)

    walk(typer.main.get_command(app), "tandemctl")  # type: ignore[arg-type]
