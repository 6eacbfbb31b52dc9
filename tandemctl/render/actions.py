"""Output of operator actions and undo in every format, and the confirmation prompt.

Data to stdout, the summary line and the prompt to stderr; record text is made inert.
"""

import sys
from typing import Any, Final

import orjson
from rich.text import Text

from tandemctl.commands.action_results import ActionOutcome, RowResult
from tandemctl.commands.action_rules import Outcome
from tandemctl.constants import OutputFormat
from tandemctl.engine.rows import Row
from tandemctl.render.console import STATUS_STYLES, emit_envelope, envelope, message
from tandemctl.render.detail_table import print_with_detail
from tandemctl.render.tabular import emit_csv, emit_jsonl
from tandemctl.render.text import inert

ROW_COLUMNS: Final = ("operation_id", "dry_run", "applied", "dead_letter_id", "outcome", "from", "to", "reason",
                      "metadata_changes")


def is_interactive() -> bool:
    """A person can answer a prompt: stdin and stderr are both terminals (cron may close stdin)."""
    try:
        return bool(sys.stdin and sys.stderr and sys.stdin.isatty() and sys.stderr.isatty())
    except ValueError:  # a closed stream
        return False


def confirm(preview: ActionOutcome) -> bool:
    """Ask on stderr, read the answer from stdin; anything but y/yes (or EOF) declines."""
    plan = preview.plan
    changed, unchanged, refused = (len(plan.of(o)) for o in (Outcome.CHANGED, Outcome.UNCHANGED, Outcome.REFUSED))
    sys.stderr.write(f"{preview.action}: {len(plan.results)} dead letter(s) match, {changed} will change "
                     f"({unchanged} unchanged, {refused} refused). Proceed? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def action_data(outcome: ActionOutcome) -> Row:
    """The JSON envelope's `data` for an action or undo."""
    plan = outcome.plan
    return {
        "operation_id": outcome.operation_id, "action": outcome.action, "dry_run": outcome.dry_run,
        "applied": outcome.applied,
        "changed": [{"dead_letter_id": r.dead_letter_id, "from": r.status, "to": r.to,
                     "metadata_changes": r.metadata_changes()} for r in plan.changed],
        "unchanged": [{"dead_letter_id": r.dead_letter_id, "status": r.status} for r in plan.of(Outcome.UNCHANGED)],
        "refused": [{"dead_letter_id": r.dead_letter_id, "status": r.status, "reason": r.reason}
                    for r in plan.of(Outcome.REFUSED)],
        "not_found": list(plan.not_found),
        # Only a live engine can leave an outcome unknown, so the key appears only when it has rows.
        **({"unknown": [{"dead_letter_id": r.dead_letter_id, "status": r.status, "reason": r.reason}
                        for r in plan.of(Outcome.UNKNOWN)]} if plan.of(Outcome.UNKNOWN) else {}),
    }


def action_rows(outcome: ActionOutcome) -> list[Row]:
    """One flat record per dead letter (jsonl and csv), not-found ids included."""
    base = {"operation_id": outcome.operation_id, "dry_run": outcome.dry_run, "applied": outcome.applied}
    rows = [{**base, "dead_letter_id": r.dead_letter_id, "outcome": r.outcome.value, "from": r.status,
             "to": r.to if r.outcome is Outcome.CHANGED else r.status if r.outcome is Outcome.UNCHANGED else None,
             "reason": r.reason,
             "metadata_changes": r.metadata_changes() if r.outcome is Outcome.CHANGED else None}
            for r in outcome.plan.results]
    rows += [{**base, "dead_letter_id": dl_id, "outcome": "not_found", "from": None, "to": None, "reason": None,
              "metadata_changes": None} for dl_id in outcome.plan.not_found]
    return rows


def emit_action(outcome: ActionOutcome, *, fmt: OutputFormat, quiet: bool) -> None:
    if fmt is OutputFormat.JSON:
        code = outcome.exit_code
        emit_envelope(envelope(outcome.command, ok=code == 0, exit_code=code, data=action_data(outcome)))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl(action_rows(outcome))
    elif fmt is OutputFormat.CSV:
        emit_csv(ROW_COLUMNS, action_rows(outcome))
    else:
        _action_table(outcome)
    if outcome.plan.not_found:
        message("error: dead letter(s) not found in this tenant scope: " + ", ".join(outcome.plan.not_found),
                style="red")
    for dl_id, tenant in outcome.plan.elsewhere:
        message(f"note: {dl_id} is in tenant {tenant}: use --tenant {tenant} (or --all-tenants)", style="yellow")
    if not quiet:
        message(summary(outcome), style="dim")


def summary(outcome: ActionOutcome) -> str:
    plan = outcome.plan
    if not plan.results and not plan.not_found:
        return f"{outcome.action}: nothing selected; nothing written"
    counts = [f"{len(plan.changed)} {'would change' if outcome.dry_run else 'changed'}",
              f"{len(plan.of(Outcome.UNCHANGED))} unchanged", f"{len(plan.of(Outcome.REFUSED))} refused"]
    if plan.not_found:
        counts.append(f"{len(plan.not_found)} not found")
    if plan.of(Outcome.UNKNOWN):
        counts.append(f"{len(plan.of(Outcome.UNKNOWN))} unknown (sent, no answer: see each row)")
    text = f"{outcome.action}: " + ", ".join(counts)
    if outcome.dry_run:
        return text + "; dry run, nothing written"
    return text + (f"; operation {outcome.operation_id}" if outcome.operation_id else "; nothing written")


def _action_table(outcome: ActionOutcome) -> None:
    rows = [_table_row(result, dry_run=outcome.dry_run) for result in outcome.plan.results]
    rows += [((Text(inert(dl_id)), Text("-"), Text("-"), Text("not found", style="red")), "")
             for dl_id in outcome.plan.not_found]
    print_with_detail(("ID", "FROM", "TO", "OUTCOME"), rows)


def _table_row(result: RowResult, *, dry_run: bool) -> tuple[tuple[Text, Text, Text, Text], str]:
    status = result.status or "-"
    if result.outcome is Outcome.CHANGED:
        to, label, detail = result.to or "-", "would change" if dry_run else "changed", _metadata_text(result)
    elif result.outcome is Outcome.UNCHANGED:
        to, label, detail = status, "unchanged", f"already {status}"
    else:
        to, label, detail = "-", result.outcome.value, result.reason or ""
    return ((Text(inert(result.dead_letter_id)), Text(status, style=STATUS_STYLES.get(status, "")),
             Text(to, style=STATUS_STYLES.get(to, "")), Text(label)), inert(detail))


def _metadata_text(result: RowResult) -> str:
    """`metadata: -retry_dispatch_count(5) +operator_retry_count=1 key 1->2` (- removed, + added)."""
    parts = []
    for key, change in result.metadata_changes().items():
        if "after" not in change:
            parts.append(f"-{key}({_json(change['before'])})")
        elif "before" not in change:
            parts.append(f"+{key}={_json(change['after'])}")
        else:
            parts.append(f"{key} {_json(change['before'])}->{_json(change['after'])}")
    return "metadata: " + " ".join(parts) if parts else ""


def _json(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")
