"""Exact screens (tables and panels) of the triage commands at fixed widths.

`TANDEMCTL_GOLDEN_UPDATE=1` rewrites them; read the diff before committing."""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent


def check_screen(name: str, text: str, *, root: Path | None = None) -> None:
    if root is not None:
        text = text.replace(str(root), "<STATE>")
    path = HERE / f"{name}.txt"
    if os.environ.get("TANDEMCTL_GOLDEN_UPDATE"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path.name} missing: run with TANDEMCTL_GOLDEN_UPDATE=1"
    assert text == path.read_text(encoding="utf-8")
