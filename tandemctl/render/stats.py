"""Output of `dead-letters stats`: summary lines, bar charts and breakdown tables for people; the
envelope, one JSON line, or `field,key,count` CSV for scripts."""

from typing import Any, Final

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tandemctl.commands.stats import StatsOutcome
from tandemctl.constants import OutputFormat
from tandemctl.render.console import emit_envelope, envelope, panel_console
from tandemctl.render.tabular import emit_csv, emit_jsonl
from tandemctl.render.text import inert, when

COMMAND: Final = "dead-letters stats"
BAR_WIDTH: Final = 24
TITLES: Final = {"status": "BY STATUS", "tenant": "BY TENANT", "tool": "BY TOOL", "source_type": "BY SOURCE TYPE",
                 "reason": "TOP REASONS (normalised)", "run": "BY RUN"}


def emit_stats(outcome: StatsOutcome, *, fmt: OutputFormat) -> None:
    data = outcome.data
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope(COMMAND, ok=True, exit_code=0, data=data))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl([data])
    elif fmt is OutputFormat.CSV:
        rows = [[field, item["key"], item["count"]] for field, items in data["by"].items() for item in items]
        rows += [["age", item["bucket"], item["count"]] for item in data["age_histogram"]]
        emit_csv(("field", "key", "count"), rows)
    else:
        _screen(outcome)


def _bar(count: int, largest: int) -> str:
    if not count:
        return ""
    return "█" * max(1, round(BAR_WIDTH * count / max(largest, 1)))


def _chart(title: str, items: list[tuple[str, int]]) -> Table:
    largest = max((count for _, count in items), default=0)
    table = Table(box=None, pad_edge=False, header_style="bold", padding=(0, 2, 0, 0), title=None)
    table.add_column(title, overflow="fold", ratio=3)
    table.add_column("COUNT", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, overflow="crop", min_width=BAR_WIDTH)
    for key, count in items:
        table.add_row(Text(inert(key)), str(count), Text(_bar(count, largest), style="cyan"))
    return table


def _summary(data: dict[str, Any], now_ms: int) -> list[RenderableType]:
    flight = data["retries_in_flight"]
    lines = [
        f"{data['total']} dead letter(s), {data['open']} open (open, retry_requested, retrying)",
        f"retries in flight: {flight['retry_requested']} requested, {flight['retrying']} retrying",
        f"exhausted in the last 24h: {data['exhausted_last_24h']}",
    ]
    oldest = data["oldest_open"]
    if oldest is not None:
        lines.append(f"oldest open: {oldest['dead_letter_id']} ({oldest['status']}) created "
                     f"{when(now_ms, oldest['created_at_ms'])}: {oldest['reason']}")
    return [Text(inert(line)) for line in lines]


def _screen(outcome: StatsOutcome) -> None:
    data = outcome.data
    parts: list[RenderableType] = [*_summary(data, outcome.now_ms), Text("")]
    ages = [(item["bucket"], item["count"]) for item in data["age_histogram"]]
    parts.append(_chart("AGE OF OPEN", ages))
    for field, items in data["by"].items():
        parts += [Text(""), _chart(TITLES.get(field, field.upper()), [(i["key"], i["count"]) for i in items])]
    panel_console().print(Panel(Group(*parts), title="Dead letters", title_align="left", expand=True))
