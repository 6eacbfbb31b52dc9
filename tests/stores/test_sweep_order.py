"""The sweep leaves the dead letters in the engine's order, also when clocks differ between hosts:
the engine re-sorts after each mark (spec 01 §7.3, spec 02 §4 step j), not once at the end."""

import json
from pathlib import Path

from tandemctl.engine.rows import RowChange
from tandemctl.engine.sweep_order import engine_order
from tests.stores.test_sweep import sweep
from tests.sweep_fixtures import NOW, SweepDir, group_a_dead_letter, run_record


def _order(d: SweepDir) -> list[str]:
    return [row["dead_letter_id"] for row in json.loads(d.paths.reliability_file.read_bytes())["dead_letters"]]


def test_future_dated_rows_marked_by_the_sweep_come_out_in_the_engines_order(tmp_path: Path) -> None:
    d = SweepDir(tmp_path / "state")
    d.write_runs([run_record()])
    spent = {"retry_dispatch_count": 7}
    d.write_dead_letters([
        group_a_dead_letter("dead-future-2s", status="retrying", metadata=spent, updated=NOW + 2000),
        group_a_dead_letter("dead-future-1s", status="retrying", metadata=spent, updated=NOW + 1000),
        group_a_dead_letter("dead-past", status="open", updated=1000),
    ])
    outcome = sweep(d)
    assert sorted(outcome.exhausted) == ["dead-future-1s", "dead-future-2s"]
    # The engine: exhaust the first (now < the second's time: it sorts behind it), then the second,
    # which ties with the first and keeps its place in front. One final stable sort would swap them.
    assert _order(d) == ["dead-future-1s", "dead-future-2s", "dead-past"]


def test_engine_order_equals_one_final_sort_without_clock_skew() -> None:
    rows = [{"dead_letter_id": name, "updated_at_ms": at} for name, at in (("a", 30), ("b", 20), ("c", 10))]
    marked = [dict(rows[1], updated_at_ms=40), dict(rows[2], updated_at_ms=40)]
    after = [rows[0], marked[0], marked[1]]
    marks = [RowChange("dead_letters", "b", rows[1], marked[0]), RowChange("dead_letters", "c", rows[2], marked[1])]
    assert [r["dead_letter_id"] for r in engine_order(after, marks)] == ["b", "c", "a"]
