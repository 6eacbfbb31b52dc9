"""Output of `config show` and `config init`."""

from typing import Final

from rich.table import Table
from rich.text import Text

from tandemctl.commands.config_report import ConfigReport, InitOutcome
from tandemctl.constants import OutputFormat
from tandemctl.render.console import emit_envelope, envelope, message, stdout_console
from tandemctl.render.tabular import emit_csv, emit_jsonl
from tandemctl.render.text import inert

SETTING_COLUMNS: Final = ("name", "value", "source")


def emit_config(report: ConfigReport, *, fmt: OutputFormat) -> None:
    data = report.data()
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope("config show", ok=True, exit_code=0, data=data))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl(data["settings"])
    elif fmt is OutputFormat.CSV:
        emit_csv(SETTING_COLUMNS, data["settings"])
    else:
        console = stdout_console()
        state = "exists" if report.exists else "not found"
        console.print(Text(inert(f"config file: {report.path} ({report.path_source}, {state})")))
        table = Table(box=None, pad_edge=False, header_style="bold", padding=(0, 2, 0, 0))
        table.add_column("SETTING", no_wrap=True)
        table.add_column("VALUE", overflow="fold")
        table.add_column("SOURCE", no_wrap=True)
        for setting in report.settings:
            value = "-" if setting.value is None else str(setting.value)
            table.add_row(setting.name, Text(inert(value)), setting.source)
        console.print(table)


def emit_init(outcome: InitOutcome, *, fmt: OutputFormat, quiet: bool) -> None:
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope("config init", ok=True, exit_code=0,
                               data={"path": str(outcome.path), "settings": outcome.settings}))
    elif not quiet:
        message(f"wrote {outcome.path}", style="green")
