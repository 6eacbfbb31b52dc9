"""Properties of repeated sweeps over random stores: backoff honoured, at most 5 dispatches per
dead letter, never a cross-tenant requeue, and a repeat at the same clock dispatches nothing."""

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandemctl.engine.dispatcher import dead_letter_retry_backoff_ms
from tandemctl.engine.dispositions import tenant_key, tenant_of
from tests.stores.test_sweep import sweep
from tests.stores.test_sweep_writes import fail_again
from tests.sweep_fixtures import NOW, TENANT_A, TENANT_B, SweepDir, group_a_dead_letter, run_record

TENANTS = [TENANT_A, TENANT_B]
RUN_STATUSES = ["failed", "failed", "blocked", "running", "queued", "completed", "paused"]

run_spec = st.tuples(st.sampled_from(RUN_STATUSES), st.integers(0, 1))
dead_letter_spec = st.tuples(
    st.integers(0, 9),  # run pick: 9 = a run that does not exist, else index modulo the run count
    st.sampled_from([False, False, False, True]),  # scoped to the other tenant
    st.sampled_from(["retry_requested", "retry_requested", "retrying", "open"]),
    st.sampled_from([0, 0, 0, 1, 2, 3, 4, 5, 6]),  # prior dispatch count
    st.one_of(st.none(), st.integers(NOW - 400_000, NOW + 400_000)),  # prior dispatch time
)
store_spec = st.tuples(st.lists(run_spec, min_size=1, max_size=4), st.lists(dead_letter_spec, min_size=1, max_size=6),
                       st.lists(st.integers(0, 400_000), min_size=1, max_size=8))


def build(d: SweepDir, runs: list[tuple[str, int]], dead_letters: list[tuple[int, bool, str, int, int | None]]) -> None:
    d.write_runs([run_record(f"automation-v2-run-{i}", status=status, tenant_context=TENANTS[t])
                  for i, (status, t) in enumerate(runs)])
    rows = []
    for j, (pick, foreign, status, count, at) in enumerate(dead_letters):
        run_index = len(runs) if pick == 9 else pick % len(runs)
        run_tenant = runs[run_index][1] if run_index < len(runs) else 0
        meta: dict[str, Any] = {"retry_dispatch_count": count}
        if at is not None:
            meta["retry_dispatched_at_ms"] = at
        rows.append(group_a_dead_letter(f"dead-{j}", run_id=f"automation-v2-run-{run_index}", status=status,
                                        tenant_context=TENANTS[run_tenant ^ foreign], metadata=meta, updated=1000 + j))
    d.write_dead_letters(rows)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(store_spec)
def test_repeated_sweeps_respect_backoff_cap_and_tenants(spec: tuple[Any, Any, list[int]]) -> None:
    runs, dead_letters, steps = spec
    with tempfile.TemporaryDirectory() as tmp:
        d = SweepDir(Path(tmp) / "state")
        build(d, runs, dead_letters)
        initial_counts = {f"dead-{j}": count for j, (_, _, _, count, _) in enumerate(dead_letters)}
        dispatches = dict.fromkeys(initial_counts, 0)
        now = NOW
        for step in steps:
            before = d.dead_letters()
            run_tenants = {run_id: run["tenant_context"] for run_id, run in d.runs_file()["runs"].items()}
            outcome = sweep(d, now=now)
            for item in outcome.dispatched:
                row = before[item.dead_letter_id]
                meta = row["metadata"]
                at = meta.get("retry_dispatched_at_ms")
                assert at is None or now >= at + dead_letter_retry_backoff_ms(meta["retry_dispatch_count"])
                assert tenant_key(tenant_of(row)) == tenant_key(run_tenants[item.run_id])
                dispatches[item.dead_letter_id] += 1
            repeat = sweep(d, now=now)
            assert repeat.dispatched == [] and repeat.runs_requeued == []  # exhausting may still happen
            for run_id in outcome.runs_requeued:
                fail_again(d, run_id)  # the re-driven effect fails again
            now += step
        for dead_letter_id, count in dispatches.items():
            assert count <= max(0, 5 - initial_counts[dead_letter_id])
        for row in d.dead_letters().values():
            assert row["metadata"]["retry_dispatch_count"] <= max(5, initial_counts[row["dead_letter_id"]])
