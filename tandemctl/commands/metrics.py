"""Prometheus text exposition for the node_exporter textfile collector: dead-letter gauges
(`metrics`) and the last sweep (`sweep --metrics-file`), each from its own CollectorRegistry and
written atomically, so the collector never reads half a file."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from tandemctl.commands.invocation import Invocation
from tandemctl.commands.stats import OPEN_STATUSES, aggregate, tenant_text
from tandemctl.commands.sweep import SweepResult
from tandemctl.engine.dispositions import visible_to_tenant
from tandemctl.engine.rows import Row
from tandemctl.errors import WriteError
from tandemctl.fs import atomic

STATUSES: Final = ("open", "retry_requested", "retrying", "ignored", "linked_to_compensation", "resolved")


def dead_letter_registry(rows: Sequence[Row], *, now_ms: int) -> CollectorRegistry:
    """Counts by status and tenant (every status for every tenant seen, zeros included, so an alert
    on a series never sees it vanish), the oldest open age, retries in flight and exhaustions."""
    registry = CollectorRegistry(auto_describe=True)
    by_tenant = Gauge("tandemctl_dead_letters", "Dead letters by status and tenant (org/workspace[/deployment]).",
                      ["status", "tenant"], registry=registry)
    tenants = sorted({tenant_text(row) for row in rows})
    for tenant in tenants:
        for status in STATUSES:
            by_tenant.labels(status=status, tenant=tenant).set(0)
    for row in rows:
        by_tenant.labels(status=str(row.get("status")), tenant=tenant_text(row)).inc()
    data = aggregate(rows, now_ms=now_ms, by=[], top=0)
    oldest = data["oldest_open"]
    Gauge("tandemctl_dead_letters_open_oldest_age_seconds", "Age of the oldest dead letter in "
          f"{', '.join(OPEN_STATUSES)} (0 when none).", registry=registry).set(
        0 if oldest is None else oldest["age_ms"] / 1000)
    flight = Gauge("tandemctl_dead_letter_retries_in_flight", "Dead letters waiting for or under a retry.",
                   ["status"], registry=registry)
    for status, count in data["retries_in_flight"].items():
        flight.labels(status=status).set(count)
    Gauge("tandemctl_dead_letters_exhausted", "Dead letters parked by the dispatcher after 5 dispatches.",
          registry=registry).set(sum(1 for r in rows if r.get("operator_disposition") == "retry_exhausted"
                                     and r.get("status") == "ignored"))
    Gauge("tandemctl_dead_letters_exhausted_last_24h", "Dead letters exhausted in the last 24 hours.",
          registry=registry).set(data["exhausted_last_24h"])
    Gauge("tandemctl_metrics_generated_timestamp_seconds", "When these metrics were computed.",
          registry=registry).set(now_ms / 1000)
    return registry


def sweep_registry(result: SweepResult, *, finished_ms: int, duration_s: float) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    Gauge("tandemctl_sweep_last_run_timestamp_seconds", "When the last sweep finished.",
          registry=registry).set(finished_ms / 1000)
    Gauge("tandemctl_sweep_duration_seconds", "How long the last sweep took.", registry=registry).set(duration_s)
    Gauge("tandemctl_sweep_skipped_engine_live", "1 when the last sweep was skipped because an engine is live.",
          registry=registry).set(0 if result.outcome is not None else 1)
    rows = Gauge("tandemctl_sweep_dead_letters", "Dead letters the last sweep dispatched, resolved, exhausted "
                 "or skipped.", ["outcome"], registry=registry)
    outcome = result.outcome
    counts = {"dispatched": 0, "resolved": 0, "exhausted": 0, "skipped": 0}
    if outcome is not None:
        counts = {"dispatched": len(outcome.dispatched), "resolved": len(outcome.resolved),
                  "exhausted": len(outcome.exhausted), "skipped": len(outcome.skipped)}
    for name, count in counts.items():
        rows.labels(outcome=name).set(count)
    Gauge("tandemctl_sweep_runs_requeued", "Runs the last sweep requeued.", registry=registry).set(
        0 if outcome is None else len(outcome.runs_requeued))
    Gauge("tandemctl_sweep_dry_run", "1 when the last sweep was a dry run.", registry=registry).set(
        1 if outcome is not None and outcome.dry_run else 0)
    return registry


def write_textfile(path: Path, registry: CollectorRegistry) -> None:
    """Atomically replace `path` (the collector reads `*.prom` files; name it so)."""
    if not path.parent.is_dir():
        raise WriteError(f"{path}: its directory does not exist")
    atomic.write_atomic(path, generate_latest(registry))


@dataclass(frozen=True)
class MetricsOutcome:
    text: bytes
    path: Path | None


def dead_letter_metrics(inv: Invocation, *, textfile: str | None) -> MetricsOutcome:
    rows = inv.store().load_dead_letters()
    if inv.tenant is not None:
        rows = [row for row in rows if visible_to_tenant(row, inv.tenant)]
    registry = dead_letter_registry(rows, now_ms=inv.now_ms)
    if textfile is None:
        return MetricsOutcome(generate_latest(registry), None)
    write_textfile(Path(textfile), registry)
    return MetricsOutcome(b"", Path(textfile))
