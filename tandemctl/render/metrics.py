"""Output of `metrics`: the exposition on stdout, or a note that the textfile was written."""

from tandemctl.commands.metrics import MetricsOutcome
from tandemctl.render.console import message, write_stdout


def emit_metrics(outcome: MetricsOutcome, *, quiet: bool) -> None:
    if outcome.path is None:
        write_stdout(outcome.text)
    elif not quiet:
        message(f"wrote {outcome.path}", style="dim")
