"""Output of `check`: the plugin's one status line (or the envelope with -o json)."""

from tandemctl.commands.check import CheckOutcome
from tandemctl.constants import OutputFormat
from tandemctl.render.console import emit_envelope, envelope, write_stdout


def emit_check(outcome: CheckOutcome, *, fmt: OutputFormat) -> int:
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope("check", ok=outcome.state == 0, exit_code=outcome.state, data=outcome.data()))
    else:
        write_stdout(outcome.line.encode("utf-8") + b"\n")
    return outcome.state
