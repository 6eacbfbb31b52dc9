"""Output of `sweep` and `audit verify`: tables for people, envelopes for scripts."""


from typing import Any

import orjson
from rich.text import Text

from tandemctl.commands.audit import AuditOutcome
from tandemctl.commands.history import iso_utc
from tandemctl.commands.sweep import SweepResult
from tandemctl.constants import OutputFormat
from tandemctl.engine.dispatcher import MAX_DEAD_LETTER_RETRY_ATTEMPTS
from tandemctl.render.console import emit_envelope, envelope, message, write_stdout
from tandemctl.render.detail_table import print_with_detail
from tandemctl.render.tabular import emit_csv, emit_jsonl
from tandemctl.render.text import age, inert

SWEEP = "sweep"


def emit_sweep(result: SweepResult, *, fmt: OutputFormat, now_ms: int, loop: bool, quiet: bool = False) -> None:
    """In loop mode every line carries the sweep's time; with -q, a table sweep that did nothing
    prints nothing at all (cron mails any output)."""
    stamp = f"[{iso_utc(now_ms)}] " if loop else ""
    extra: dict[str, Any] = {"at": iso_utc(now_ms)} if loop else {}
    if result.outcome is None:
        if not quiet:
            message(f"{stamp}engine live, sweep skipped: {result.skipped_engine_live}", style="yellow")
        if fmt in (OutputFormat.JSON, OutputFormat.JSONL):
            body = envelope(SWEEP, ok=True, exit_code=0, data=None, skipped="engine_live",
                            note=result.skipped_engine_live, **extra)
            _emit_json(body, compact=loop or fmt is OutputFormat.JSONL)
        return
    data = result.outcome.model_dump(mode="json")
    if fmt in (OutputFormat.JSON, OutputFormat.JSONL):
        _emit_json(envelope(SWEEP, ok=True, exit_code=0, data=data, **extra),
                   compact=loop or fmt is OutputFormat.JSONL)
        if not quiet:
            _summary(result, stamp)
        return
    if fmt is OutputFormat.CSV:
        _csv(result, now_ms)
    elif result.outcome.acted or not (loop or quiet):
        _table(result, now_ms)
    if not quiet:
        _summary(result, stamp)


def _emit_json(body: dict[str, object], *, compact: bool) -> None:
    if compact:  # a loop prints one envelope per line (JSON Lines)
        write_stdout(orjson.dumps(body) + b"\n")
    else:
        emit_envelope(body)


def _rows(result: SweepResult, now_ms: int) -> list[tuple[str, str, str, str]]:
    outcome = result.outcome
    assert outcome is not None
    cap = MAX_DEAD_LETTER_RETRY_ATTEMPTS
    rows = [("dispatched", d.dead_letter_id, d.run_id,
             f"run {d.run_id} requeued; reset {', '.join(d.reset_nodes)}; dispatch {d.retry_dispatch_count}/{cap}; "
             f"next eligible {age(now_ms, d.next_eligible_at_ms)}") for d in outcome.dispatched]
    rows += [("resolved", dl, "", "superseded by a successful replay") for dl in outcome.resolved]
    rows += [("exhausted", dl, "", f"parked for review after {cap} dispatches") for dl in outcome.exhausted]
    rows += [("skipped", s.dead_letter_id, "", s.reason) for s in outcome.skipped]
    return rows


def _table(result: SweepResult, now_ms: int) -> None:
    styles = {"dispatched": "cyan", "resolved": "green", "exhausted": "yellow", "skipped": "dim"}
    print_with_detail(("OUTCOME", "DEAD LETTER"), [((Text(outcome, style=styles[outcome]), Text(inert(dead_letter))),
                                                     inert(detail)) for outcome, dead_letter, _run, detail
                                                    in _rows(result, now_ms)])


def _csv(result: SweepResult, now_ms: int) -> None:
    emit_csv(("outcome", "dead_letter_id", "run_id", "detail"), _rows(result, now_ms))


def _summary(result: SweepResult, stamp: str) -> None:
    outcome = result.outcome
    assert outcome is not None
    if outcome.finished_interrupted:
        message(f"{stamp}finished an interrupted sweep first: {outcome.finished_interrupted}", style="yellow")
    prefix = "dry run: would act" if outcome.dry_run else "acted"
    message(f"{stamp}{prefix} on {outcome.acted}: {len(outcome.dispatched)} dispatched "
            f"({len(outcome.runs_requeued)} run(s) requeued), {len(outcome.resolved)} resolved, "
            f"{len(outcome.exhausted)} exhausted; {len(outcome.skipped)} skipped", style="dim")


def emit_audit(outcome: AuditOutcome, *, fmt: OutputFormat) -> None:
    result, path = outcome.verification, outcome.path
    if outcome.missing:
        text = f"no ledger at {path} (no audit record has been written yet)"
        if fmt is OutputFormat.JSON:
            emit_envelope(envelope("audit verify", ok=False, exit_code=outcome.exit_code, data=None,
                                   errors=[{"code": "no_ledger", "message": text, "path": str(path)}]))
        message(f"error: {text}", style="red")
        return
    violation = result.first_violation
    record = {"path": str(path), **result.model_dump(mode="json")}
    if fmt is OutputFormat.JSON:
        errors = [] if violation is None else [{"code": "audit_chain_invalid", "message":
                                                f"{path}: line {violation.line}: {violation.reason}",
                                                "line": violation.line}]
        emit_envelope(envelope("audit verify", ok=result.valid, exit_code=outcome.exit_code,
                               data=result.model_dump(mode="json"), errors=errors))
    elif fmt is OutputFormat.JSONL:
        emit_jsonl([record])
    elif fmt is OutputFormat.CSV:
        emit_csv(("path", "valid", "record_count", "violation_line", "violation_reason"),
                 [(path, result.valid, result.record_count, violation.line if violation else None,
                   violation.reason if violation else None)])
    if violation is None:
        message(f"{path}: {result.record_count} record(s), hash chain valid", style="green")
    else:
        message(f"error: {path}: line {violation.line}: {violation.reason}", style="red")
