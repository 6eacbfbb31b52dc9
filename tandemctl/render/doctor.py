"""Output of `doctor`: panels for people, the envelope (exit code included) for scripts."""

from typing import Final

from rich.text import Text

from tandemctl.commands.doctor import ERROR, OK, WARNING, DoctorOutcome
from tandemctl.constants import OutputFormat
from tandemctl.render.console import emit_envelope, envelope, panel_console
from tandemctl.render.panels import kv_panel, print_panels, table_panel
from tandemctl.render.tabular import emit_csv, emit_jsonl

COMMAND: Final = "doctor"
LEVEL_STYLES: Final = {OK: "green", WARNING: "yellow", ERROR: "bold red"}


def emit_doctor(outcome: DoctorOutcome, *, fmt: OutputFormat) -> int:
    data, code = outcome.data(), outcome.exit_code
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope(COMMAND, ok=code == 0, exit_code=code, data=data))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl(data["checks"])
    elif fmt is OutputFormat.CSV:
        emit_csv(("name", "level", "message"), data["checks"])
    else:
        _panels(outcome)
    return code


def _panels(o: DoctorOutcome) -> None:
    paths = table_panel("Paths", ("WHAT", "FROM", "PATH"),
                        [[p["name"], p["source"], p["path"] + ("" if p["exists"] else " (missing)")]
                         for p in o.paths], "")
    store = kv_panel("Store and engine", [
        ("store", f"{o.store['kind']} at {o.store['location']}"),
        ("why", str(o.store["why"])),
        ("engine", ("live: " if o.engine["live"] else "not live: ") + str(o.engine["how"])),
    ])
    counts = kv_panel("Counts", [(name.replace("_", " "), _count(value)) for name, value in o.counts.items()])
    checks = kv_panel("Checks", [(c.name, Text(f"{c.level}: {c.message}", style=LEVEL_STYLES[c.level]))
                                 for c in o.checks])
    summary = {0: "healthy", 1: "warnings", 5: "errors"}[o.exit_code]
    print_panels(panel_console(), [paths, store, counts, checks])
    panel_console().print(Text(f"doctor: {summary} (exit {o.exit_code})", style=LEVEL_STYLES[
        {0: OK, 1: WARNING, 5: ERROR}[o.exit_code]]))


def _count(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {number}" for key, number in value.items()) or "0"
    return str(value)
