"""Output of `runs show` and `events tail`."""

from typing import Final

import orjson
from rich.table import Table
from rich.text import Text

from tandemctl.commands.runs import RunOutcome
from tandemctl.constants import OutputFormat
from tandemctl.engine.dispositions import tenant_label
from tandemctl.engine.models import LOCAL_TENANT
from tandemctl.engine.rows import Row
from tandemctl.render.console import emit_envelope, envelope, panel_console, stdout_console, write_stdout
from tandemctl.render.panels import kv_panel, print_panels, table_panel
from tandemctl.render.tabular import emit_csv, emit_jsonl
from tandemctl.render.text import inert, when

EVENT_COLUMNS: Final = ("occurred_at_ms", "seq", "event_type", "run_id", "node_id", "event_id", "payload")


def emit_run(outcome: RunOutcome, *, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope("runs show", ok=True, exit_code=0, data=outcome.data()))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl([outcome.data()])
    elif fmt is OutputFormat.CSV:
        emit_csv(("dead_letter_id", "status", "retry_dispatch_count", "updated_at_ms", "reason"), outcome.dead_letters)
    else:
        _run_panels(outcome)


def _nodes(values: object) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list) and values else "-"


def _run_panels(o: RunOutcome) -> None:
    run, now = o.run, o.now_ms
    checkpoint = run.get("checkpoint") or {}
    pairs: list[tuple[str, str | Text]] = [
        ("status", str(run.get("status"))),
        ("automation", f"{run.get('automation_id')} ({run.get('trigger_type')})"),
        ("tenant", tenant_label(run.get("tenant_context") or LOCAL_TENANT)),
        ("created", when(now, run.get("created_at_ms"))),
        ("updated", when(now, run.get("updated_at_ms"))),
        ("finished", when(now, run.get("finished_at_ms"))),
        ("completed nodes", _nodes(checkpoint.get("completed_nodes"))),
        ("pending nodes", _nodes(checkpoint.get("pending_nodes"))),
        ("blocked nodes", _nodes(checkpoint.get("blocked_nodes"))),
    ]
    failure = checkpoint.get("last_failure")
    if isinstance(failure, dict):
        pairs.append(("last failure", f"{failure.get('node_id')}: {failure.get('reason')} at "
                                      f"{when(now, failure.get('failed_at_ms'))}"))
    if run.get("detail"):
        pairs.append(("detail", str(run["detail"])))
    panels = [kv_panel(f"Run {run['run_id']}", pairs)]
    panels.append(table_panel("Dead letters", ("ID", "STATUS", "DISP", "REASON"),
                              [[d["dead_letter_id"], str(d["status"]), str(d["retry_dispatch_count"]),
                                str(d["reason"])] for d in o.dead_letters], "none"))
    requeues = [[when(now, e.get("recorded_at_ms")), str((e.get("metadata") or {}).get("dead_letter_id")),
                 str((e.get("metadata") or {}).get("attempts"))] for e in o.requeues]
    panels.append(table_panel("Requeue history (dead-letter retries)", ("TIME", "DEAD LETTER", "ATTEMPTS"),
                              requeues, "never requeued by the dispatcher"))
    panels.append(table_panel(f"Lifecycle (last {len(o.lifecycle)})", ("TIME", "EVENT", "REASON"),
                              [[when(now, e.get("recorded_at_ms")), str(e.get("event")), str(e.get("reason") or "-")]
                               for e in o.lifecycle], "no lifecycle events"))
    panels.append(table_panel("Last runtime events", ("TIME", "TYPE", "NODE", "PAYLOAD"),
                              [[when(now, _ms(e)), str(e.get("event_type")), str(e.get("node_id") or "-"),
                                _payload(e)] for e in o.events], "no runtime events recorded for this run"))
    print_panels(panel_console(), panels)


def _ms(event: Row) -> int | None:
    value = event.get("occurred_at_ms")
    return value if isinstance(value, int) else None


def _payload(event: Row) -> str:
    payload = event.get("payload")
    return "-" if payload is None else orjson.dumps(payload).decode()


def emit_events(events: list[Row], *, fmt: OutputFormat, now_ms: int, stream: bool) -> None:
    """A batch of events; `stream` (follow mode) prints JSON as lines and tables as plain lines."""
    if fmt is OutputFormat.JSON and not stream:
        emit_envelope(envelope("events tail", ok=True, exit_code=0, data=events))
    elif fmt in (OutputFormat.JSON, OutputFormat.JSONL):
        emit_jsonl(events)
    elif fmt is OutputFormat.CSV:
        emit_csv(EVENT_COLUMNS, events)
    elif stream:
        lines = [f"{when(None, _ms(e))}  {e.get('event_type')}  {e.get('run_id') or '-'}  "
                 f"{e.get('node_id') or '-'}  {_payload(e)}" for e in events]
        write_stdout("".join(inert(line) + "\n" for line in lines).encode("utf-8"))
    else:
        table = Table(box=None, pad_edge=False, header_style="bold", padding=(0, 2, 0, 0))
        for column in ("TIME", "TYPE", "RUN", "NODE"):
            table.add_column(column, no_wrap=True)
        table.add_column("PAYLOAD", overflow="fold")
        for e in events:
            table.add_row(when(now_ms, _ms(e)), Text(inert(str(e.get("event_type")))),
                          Text(inert(str(e.get("run_id") or "-"))), Text(inert(str(e.get("node_id") or "-"))),
                          Text(inert(_payload(e))))
        stdout_console().print(table)
