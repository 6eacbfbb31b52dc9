"""Output of `dead-letters count`: a table and a total line for people; the envelope, JSON Lines
(one group per line) or CSV for scripts."""

from typing import Final

from rich.table import Table
from rich.text import Text

from tandemctl.commands.count import CountOutcome
from tandemctl.constants import OutputFormat
from tandemctl.render.console import STATUS_STYLES, emit_envelope, envelope, message, print_table
from tandemctl.render.tabular import emit_csv, emit_jsonl
from tandemctl.render.text import inert

COMMAND: Final = "dead-letters count"
OTHER: Final = "(other)"  # the groups beyond --top, summed (as in `dead-letters stats`)


def emit_count(outcome: CountOutcome, *, fmt: OutputFormat, quiet: bool = False) -> None:
    columns = (*outcome.by, "count")
    groups = outcome.groups + ([{**dict.fromkeys(outcome.by, OTHER), "count": outcome.other}] if outcome.other else [])
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope(COMMAND, ok=True, exit_code=0, data={
            "by": list(outcome.by), "total": outcome.total, "tenant": outcome.tenant, "groups": groups}))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl(groups)
    elif fmt is OutputFormat.CSV:
        emit_csv(columns, groups)
    else:
        _table(outcome, quiet=quiet)


def _table(outcome: CountOutcome, *, quiet: bool) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold", padding=(0, 2, 0, 0))
    for field in outcome.by:
        table.add_column(field.upper(), overflow="fold")
    table.add_column("COUNT", justify="right", no_wrap=True)
    for group in outcome.groups:
        cells = [Text(inert(group[field]), style=STATUS_STYLES.get(group[field], "") if field == "status" else "")
                 for field in outcome.by]
        table.add_row(*cells, str(group["count"]))
    if outcome.other:
        table.add_row(*[Text(OTHER, style="dim")] * len(outcome.by), str(outcome.other))
    if outcome.groups:
        print_table(table)
    if not quiet:
        scope = "all tenants" if outcome.tenant is None else f"tenant {outcome.tenant}"
        message(f"{outcome.total} dead letter(s); {scope}", style="dim")
