"""`check`: a Nagios/Icinga plugin. Thresholds on the open count, the oldest open age and the
exhausted rows; one status line with perfdata; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
Threshold evaluation is pure (`evaluate`)."""

from dataclasses import dataclass, field
from typing import Any, Final

from tandemctl.commands.durations import duration_text, parse_duration_ms, relative
from tandemctl.commands.invocation import Invocation
from tandemctl.commands.stats import aggregate
from tandemctl.engine.dispositions import visible_to_tenant
from tandemctl.engine.rows import Row

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES: Final = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}


@dataclass(frozen=True)
class Thresholds:
    """Alert when a value is MORE than its threshold (the Nagios `N` range); None = no threshold."""

    warn_open: int | None = None
    crit_open: int | None = None
    warn_oldest_ms: int | None = None
    crit_oldest_ms: int | None = None
    warn_exhausted: int | None = None
    crit_exhausted: int | None = None


def parse_thresholds(*, warn_open: int | None, crit_open: int | None, warn_oldest: str | None,
                     crit_oldest: str | None, warn_exhausted: int | None, crit_exhausted: int | None) -> Thresholds:
    def ms(text: str | None, option: str) -> int | None:
        return None if text is None else parse_duration_ms(text, option=option)

    return Thresholds(warn_open, crit_open, ms(warn_oldest, "--warn-oldest"), ms(crit_oldest, "--crit-oldest"),
                      warn_exhausted, crit_exhausted)


@dataclass(frozen=True)
class Measure:
    name: str
    value: int
    unit: str  # "" or "s"
    warn: int | None
    crit: int | None

    @property
    def state(self) -> int:
        if self.crit is not None and self.value > self.crit:
            return CRITICAL
        if self.warn is not None and self.value > self.warn:
            return WARNING
        return OK

    def perfdata(self) -> str:
        def text(limit: int | None) -> str:
            return "" if limit is None else str(limit)

        return f"{self.name}={self.value}{self.unit};{text(self.warn)};{text(self.crit)};0"


@dataclass(frozen=True)
class CheckOutcome:
    state: int
    line: str
    measures: list[Measure] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        return {"state": STATE_NAMES[self.state], "line": self.line, "measures": [
            {"name": m.name, "value": m.value, "unit": m.unit, "warn": m.warn, "crit": m.crit,
             "state": STATE_NAMES[m.state]} for m in self.measures]}


def evaluate(rows: list[Row], thresholds: Thresholds, *, now_ms: int) -> CheckOutcome:
    data = aggregate(rows, now_ms=now_ms, by=[], top=0)
    oldest = data["oldest_open"]
    oldest_s = 0 if oldest is None else oldest["age_ms"] // 1000
    exhausted = sum(1 for r in rows if r.get("operator_disposition") == "retry_exhausted"
                    and r.get("status") == "ignored")
    t = thresholds
    measures = [
        Measure("open", data["open"], "", t.warn_open, t.crit_open),
        Measure("oldest_open", oldest_s, "s", _s(t.warn_oldest_ms), _s(t.crit_oldest_ms)),
        Measure("exhausted", exhausted, "", t.warn_exhausted, t.crit_exhausted),
        Measure("retries_in_flight", sum(data["retries_in_flight"].values()), "", None, None),
    ]
    state = max(m.state for m in measures)
    alerts = [_alert(m) for m in measures if m.state != OK]
    summary = "; ".join(alerts) if alerts else (
        f"{data['open']} open dead letter(s), oldest "
        f"{'none' if oldest is None else relative(now_ms, oldest['created_at_ms'])}, {exhausted} exhausted")
    perf = " ".join(m.perfdata() for m in measures)
    return CheckOutcome(state, f"TANDEMCTL {STATE_NAMES[state]} - {summary} | {perf}", measures)


def _s(ms: int | None) -> int | None:
    return None if ms is None else ms // 1000


def _alert(m: Measure) -> str:
    limit = m.crit if m.state == CRITICAL else m.warn
    if m.name == "oldest_open":
        return f"oldest open {duration_text(m.value * 1000)} (> {duration_text((limit or 0) * 1000)})"
    label = {"open": "open dead letter(s)", "exhausted": "exhausted"}[m.name]
    return f"{m.value} {label} (> {limit})"


def unknown(message: str) -> CheckOutcome:
    return CheckOutcome(UNKNOWN, f"TANDEMCTL UNKNOWN - {message}")


def run_check(inv: Invocation, thresholds: Thresholds) -> CheckOutcome:
    rows = inv.store().load_dead_letters()
    if inv.tenant is not None:
        rows = [row for row in rows if visible_to_tenant(row, inv.tenant)]
    return evaluate(rows, thresholds, now_ms=inv.now_ms)
