"""Output of `dead-letters show`: panels for people, the same data as an envelope for scripts."""

from typing import Any, Final

from rich.text import Text

from tandemctl.commands.show import ShowOutcome
from tandemctl.constants import OutputFormat
from tandemctl.engine.dispositions import tenant_label, tenant_of
from tandemctl.engine.rows import Row
from tandemctl.render.console import STATUS_STYLES, emit_envelope, envelope, panel_console
from tandemctl.render.panels import Pairs, kv_panel, print_panels, table_panel
from tandemctl.render.tabular import emit_csv, emit_jsonl
from tandemctl.render.text import when

COMMAND: Final = "dead-letters show"


def emit_show(outcome: ShowOutcome, *, fmt: OutputFormat) -> None:
    data = outcome.data()
    if fmt is OutputFormat.JSON:
        emit_envelope(envelope(COMMAND, ok=True, exit_code=0, data=data))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl([data])
    elif fmt is OutputFormat.CSV:
        emit_csv(("section", "field", "value"), _flat(data))
    else:
        _panels(outcome)


def _flat(data: dict[str, Any]) -> list[list[Any]]:
    """One line per scalar of the sections a script filters on (objects as JSON cells)."""
    rows: list[list[Any]] = []
    for section in ("dead_letter", "tool_effect", "run", "retry", "dispatcher"):
        for key, value in (data.get(section) or {}).items():
            rows.append([section, key, value])
    return rows




def _panels(o: ShowOutcome) -> None:
    dl, now = o.dead_letter, o.now_ms
    status = str(dl.get("status"))
    disposition = dl.get("operator_disposition")
    actor = (dl.get("disposition_actor") or {}).get("id")
    head: list[tuple[str, str | Text]] = [
        ("status", Text(status, style=STATUS_STYLES.get(status, ""))),
        ("tenant", tenant_label(tenant_of(dl))),
        ("source", f"{dl.get('source_type')} {dl.get('source_id')}"),
        ("reason", str(dl.get("reason"))),
        ("attempts", str(dl.get("attempts", 0))),
        ("created", when(now, dl.get("created_at_ms"))),
        ("updated", when(now, dl.get("updated_at_ms"))),
    ]
    if disposition:
        head.append(("disposition", f"{disposition} by {actor or '-'} at {when(now, dl.get('disposition_at_ms'))}: "
                                    f"{dl.get('disposition_reason') or '-'}"))
    panels = [kv_panel(f"Dead letter {dl['dead_letter_id']}", head)]
    panels.append(kv_panel("Tool effect", _effect_pairs(o)))
    panels.append(kv_panel("Run", _run_pairs(o)))
    panels.append(kv_panel("Retry", _retry_pairs(o)))
    panels.append(table_panel("Operator journal", ("TIME (UTC)", "ACTOR", "ACTION", "REASON"),
                              [_journal_row(e) for e in o.journal], "no tandemctl action on this dead letter"))
    panels.append(table_panel(f"Last runtime events of the run (newest last, up to {len(o.events) or 10})",
                              ("TIME", "TYPE", "NODE", "PAYLOAD"),
                              [_event_row(now, e) for e in o.events], "no runtime events recorded for this run"))
    print_panels(panel_console(), panels)


def _effect_pairs(o: ShowOutcome) -> Pairs:
    effect = o.tool_effect
    if effect is None:
        kind = o.dead_letter.get("source_type")
        return [("effect", "none recorded" if kind == "tool_effect" else f"none ({kind} dead letter)")]
    pairs: list[tuple[str, str | Text]] = [
        ("status", str(effect.get("status"))),
        ("operation", f"{effect.get('operation')} (tool {effect.get('tool') or '-'}, "
                      f"node {effect.get('node_id') or '-'})"),
        ("provider", f"{effect.get('provider') or '-'} → {effect.get('target') or '-'}"),
    ]
    if effect.get("error"):
        pairs.append(("error", str(effect["error"])))
    for key in ("input_digest", "output_digest"):
        if effect.get(key):
            pairs.append((key.replace("_", " "), str(effect[key])))
    if o.outbox is not None:
        pairs.append(("outbox", f"{o.outbox['outbox_id']} {o.outbox.get('status')}, {o.outbox.get('attempts', 0)} "
                                f"attempt(s)"))
    for comp in o.compensations:
        pairs.append(("compensation", f"{comp['compensation_id']} {comp.get('status')} "
                                      f"({comp.get('compensation_type')})"))
    return pairs


def _run_pairs(o: ShowOutcome) -> Pairs:
    run_id = o.dead_letter.get("run_id")
    if run_id is None:
        return [("run", "none (the dead letter names no run)")]
    if o.run is None:
        return [("run", f"{run_id}: not found in the runs file or history shards")]
    run, checkpoint = o.run, o.run.get("checkpoint") or {}
    pairs: list[tuple[str, str | Text]] = [
        ("run", f"{run_id} ({run.get('automation_id')}, {run.get('trigger_type')})"),
        ("status", str(run.get("status"))),
        ("updated", when(o.now_ms, run.get("updated_at_ms"))),
        ("blocked nodes", ", ".join(checkpoint.get("blocked_nodes", [])) or "-"),
        ("pending nodes", ", ".join(checkpoint.get("pending_nodes", [])) or "-"),
    ]
    failure = checkpoint.get("last_failure")
    if isinstance(failure, dict):
        pairs.append(("last failure", f"{failure.get('node_id')}: {failure.get('reason')} "
                                      f"at {when(o.now_ms, failure.get('failed_at_ms'))}"))
    pairs.append(("dead letters", f"{o.run_dead_letters} owned by this run"))
    return pairs


def _retry_pairs(o: ShowOutcome) -> Pairs:
    r, v = o.retry, o.verdict
    return [
        ("dispatches", f"{r.dispatch_count} of {r.max_dispatches}"),
        ("last dispatch", when(o.now_ms, r.last_dispatch_at_ms)),
        ("next eligible", when(o.now_ms, r.next_eligible_at_ms) if r.next_eligible_at_ms
         else "no backoff (not dispatched yet)"),
        ("dispatcher", Text(("acts now: " if v.acts else "does not act: ") + v.explanation,
                            style="green" if v.acts else "yellow")),
        ("decision", v.decision),
        ("next step", v.next_step),
    ]


def _journal_row(entry: Row) -> list[str]:
    return [str(entry.get("at", ""))[:19].replace("T", " "), str(entry.get("actor", "")),
            f"{entry.get('action', '')} {entry.get('operation_id', '')}", str(entry.get("reason") or "-")]


def _event_row(now_ms: int, event: Row) -> list[str]:
    import orjson

    payload = event.get("payload")
    text = orjson.dumps(payload).decode() if payload is not None else "-"
    return [when(now_ms, event.get("occurred_at_ms") if isinstance(event.get("occurred_at_ms"), int) else None),
            str(event.get("event_type")), str(event.get("node_id") or "-"), text]
