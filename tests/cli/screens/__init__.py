"""Exact screens (tables and panels) of the triage commands at fixed widths.

`TANDEMCTL_GOLDEN_UPDATE=1` rewrites them; read the diff before committing."""

import os
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
_SGR = re.compile(r"\x1b\[[0-9;]*m")  # bold and dim survive NO_COLOR on a terminal; a screen is its text


def check_screen(name: str, text: str, *, root: Path | None = None) -> None:
    text = _SGR.sub("", text)
    if root is not None:
        text = text.replace(str(root), "<STATE>")
    path = HERE / f"{name}.txt"
    if os.environ.get("TANDEMCTL_GOLDEN_UPDATE"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path.name} missing: run with TANDEMCTL_GOLDEN_UPDATE=1"
    assert text == path.read_text(encoding="utf-8")
