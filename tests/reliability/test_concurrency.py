"""Many real tandemctl processes at once — actions on overlapping and disjoint rows (by id and by
selector), concurrent `sweep --once`, and an unlocked engine-style writer — lose no update,
dispatch nothing twice, and leave the journal, the audit ledger and the files in agreement.

The writer is test_actions_concurrency's imitation of the engine's own store write (fixed
`<store>.tmp`, no lock), paced by a short pause after each write as an engine's writes follow its
events. (Back to back with no pause, every write of it carries a read from before tandemctl's
rename, so it reverts any change at once; tandemctl then gives up after 20 s with exit 4, "may
not be in place", and never reports such a change as done.) The sweep refuses while an engine is
*live*, which it can only see through the health probe or the engine lock; the imitator stands for
an engine whose liveness is not visible, so this is the worst case for the sweep, not a supported
way to run it."""

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from tandemctl.fs import reads
from tests.factories import write_store
from tests.reliability.test_actions_concurrency import ENGINE_WRITER, _effects, _outbox_row, _wait_for
from tests.reliability.test_sweep_crash import assert_requeued_once
from tests.reliability_helpers import (
    assert_files_valid,
    child_env,
    intent_files,
    journal_entries,
    lock_config,
    make_idle,
    report,
    spawn,
    temp_files,
)
from tests.stores.test_sweep import sweep
from tests.stores.test_sweep_writes import busy_state
from tests.sweep_fixtures import NOW, SweepDir, group_a_dead_letter, run_record

pytestmark = pytest.mark.slow

IDS = [f"dl-{i:02d}" for i in range(24)]
INITIAL = {**dict.fromkeys(IDS[0:8], "open"), **dict.fromkeys(IDS[8:16], "retry_requested"),
           **dict.fromkeys(IDS[16:20], "ignored"), **dict.fromkeys(IDS[20:24], "open")}
REQUEUED = "stateful_dead_letter_retry_requeued"
ACTIONS: list[list[str]] = [
    ["retry", *IDS[0:6], "--reason", "r0"],
    ["park", *IDS[3:10], "--reason", "p1"],
    ["resolve", *IDS[6:9], "--reason", "s2"],
    ["retry", "--status", "ignored", "--reason", "r3", "--yes"],
    ["park", "--status", "open", "--reason", "p4", "--yes"],
    ["resolve", "--run", "run-20", "--reason", "s5", "--yes"],
    ["retry", IDS[16], IDS[17], IDS[21], "--reason", "r6"],
    ["park", IDS[22], IDS[23], "--reason", "p7"],
    ["retry", "--status", "open", "--reason", "r8", "--yes"],
    ["reopen", "--status", "ignored", "--reason", "o9", "--yes"],
]
SWEEPS = 3
ENGINE_PAUSE_S = 0.02
# The same writer, pausing after each of its writes (argv[3] seconds).
PACED_ENGINE_WRITER = ("import os, sys, time\n_replace = os.replace\n"
                       "def _replace_then_pause(src, dst):\n"
                       "    _replace(src, dst)\n    time.sleep(float(sys.argv[3]))\n"
                       "os.replace = _replace_then_pause\n" + ENGINE_WRITER)


def _seed(d: SweepDir) -> None:
    d.write_runs([run_record(f"run-{i:02d}") for i in range(24)])
    rows = [group_a_dead_letter(dl_id, run_id=f"run-{i:02d}", status=INITIAL[dl_id], updated=1400 + i)
            for i, dl_id in enumerate(IDS)]
    write_store(d.paths.reliability_file, rows, outbox=[_outbox_row()])
    make_idle(d.paths.reliability_file)


def _conflicts(log: Path) -> tuple[int, int]:
    """(temp files written but not renamed: stale attempts retried, renames after the first)."""
    labels = [line.split(" ", 1)[1] for line in log.read_text().splitlines()] if log.exists() else []
    writes = labels.count("write stateful_reliability.json")
    renames = labels.count("rename stateful_reliability.json")
    return writes - renames, max(renames - 1, 0)


def test_concurrent_actions_sweeps_and_an_unlocked_engine_writer(tmp_path: Path) -> None:
    d = SweepDir(tmp_path / "state")
    _seed(d)
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", PACED_ENGINE_WRITER, str(d.paths.reliability_file), str(stop),
                               str(ENGINE_PAUSE_S)], stdout=subprocess.PIPE, text=True, env=child_env())
    started = time.monotonic()
    procs: list[tuple[str, subprocess.Popen[str], Path]] = []
    try:
        _wait_for(lambda: len(_effects(d.paths.reliability_file)) >= 3, 15, "the engine writer to start")
        config = lock_config(tmp_path, 60)
        for i, args in enumerate(ACTIONS):
            log = tmp_path / f"action-{i}.log"
            env = {**config, "TANDEMCTL_NOW_MS": str(NOW + 1000 * (i + 1)), "TANDEMCTL_FAULT_LOG": str(log)}
            procs.append((f"action-{i}", spawn(d.root, ["--all-tenants", "-o", "json", "dead-letters", *args], env),
                          log))
        for k in range(SWEEPS):
            log = tmp_path / f"sweep-{k}.log"
            env = {"TANDEMCTL_NOW_MS": str(NOW + 500 * (2 * k + 1)), "TANDEMCTL_FAULT_LOG": str(log)}
            procs.append((f"sweep-{k}", spawn(d.root, ["-o", "json", "sweep", "--once", "--lock-timeout", "60"], env),
                          log))
        outputs = {name: (*proc.communicate(timeout=120), proc.returncode, log) for name, proc, log in procs}
    finally:
        stop.touch()
        iterations = int(writer.communicate(timeout=60)[0])
        elapsed = time.monotonic() - started

    for name, (_, err, code, _) in outputs.items():
        assert code in (0, 6), (name, code, err)
    envelopes = {name: json.loads(out)["data"] for name, (out, _, _, _) in outputs.items()}
    assert_files_valid(d.paths)
    assert temp_files(d.root) == [] and intent_files(d.root) == []
    final = json.loads(d.paths.reliability_file.read_bytes())

    # The engine writer's own updates survived every tandemctl write.
    assert {r["effect_id"] for r in final["tool_effects"]} == {f"effect-writer-{k}" for k in range(iterations)}
    assert [r["attempts"] for r in final["outbox"]] == [iterations]

    # Journal <-> envelopes: one line per applied action, with exactly the rows it reported.
    everything = journal_entries(d.paths.journal_file)
    journal = [entry for entry in everything if entry["action"] != "sweep"]
    applied = {data["operation_id"]: data for name, data in envelopes.items() if name.startswith("action")
               and data["applied"]}
    assert [e["operation_id"] for e in journal if e["operation_id"] in applied] == [e["operation_id"] for e in journal]
    assert set(applied) == {e["operation_id"] for e in journal}
    for entry in journal:
        reported = applied[entry["operation_id"]]["changed"]
        assert [(r["dead_letter_id"], r["from"], r["to"]) for r in entry["rows"]] == [
            (r["dead_letter_id"], r["from"], r["to"]) for r in reported]

    # What was dispatched, from the audit ledger (the record of every requeue); every dispatch a
    # sweep reported is in it, and nothing else is.
    dispatched = Counter(line["payload"]["metadata"]["dead_letter_id"] for line in d.audit())
    reported = Counter(item["dead_letter_id"] for name, data in envelopes.items() if name.startswith("sweep")
                       for item in data["dispatched"])
    assert reported == dispatched

    # Each row's history, in journal order, must chain: every action saw the previous one's result,
    # or a sweep's dispatch (retry_requested -> retrying) in between. The file holds the last one.
    rows_of: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in everything:
        for row in entry["rows"]:
            rows_of[row["dead_letter_id"]].append(row)
    by_id = {row["dead_letter_id"]: row for row in final["dead_letters"]}
    seen_moves: Counter[str] = Counter()
    for dl_id in IDS:
        status = INITIAL[dl_id]
        for row in rows_of[dl_id]:
            if row["from"] != status:
                assert (status, row["from"]) == ("retry_requested", "retrying"), (dl_id, status, row)
                seen_moves[dl_id] += 1
            status = row["to"]
        if by_id[dl_id]["status"] != status:
            assert (status, by_id[dl_id]["status"]) == ("retry_requested", "retrying"), (dl_id, status)
            seen_moves[dl_id] += 1
        elif rows_of[dl_id]:  # the last change is in the file exactly as journaled
            last = rows_of[dl_id][-1]
            assert {f: by_id[dl_id].get(f) for f in last["after"]} == last["after"], dl_id
        else:
            assert by_id[dl_id]["status"] == INITIAL[dl_id]
    # Sweeps journal their dispatch marks; a mark not journaled would show as a gap in the chain.
    journaled = Counter(row["dead_letter_id"] for entry in everything if entry["action"] == "sweep"
                        for row in entry["rows"] if row["to"] == "retrying")
    assert seen_moves + journaled == dispatched, "a sweep's dispatch mark was lost, or a row was dispatched unseen"

    # Every run requeued at most once, and lifecycle, audit and sweep reports agree per run.
    runs = d.runs_file()["runs"]
    lifecycle = Counter({run_id: sum(e["event"] == REQUEUED for e in run["checkpoint"]["lifecycle_history"])
                         for run_id, run in runs.items()})
    audit = Counter(line["payload"]["run_id"] for line in d.audit())
    requeued = Counter(run_id for name, data in envelopes.items() if name.startswith("sweep")
                       for run_id in data["runs_requeued"])
    assert +lifecycle == audit == requeued
    assert all(count == 1 for count in requeued.values())
    assert requeued == Counter(f"run-{dl_id[3:]}" for dl_id in dispatched)

    stale, restores = map(sum, zip(*(_conflicts(log) for (_, _, _, log) in outputs.values()), strict=True))
    actions = [data for name, data in envelopes.items() if name.startswith("action")]
    report("concurrency", processes=len(procs) + 1, tandemctl_processes=len(procs), seconds=round(elapsed, 1),
           row_operations=sum(len(a["changed"]) + len(a["unchanged"]) + len(a["refused"]) for a in actions),
           rows_changed=sum(len(a["changed"]) for a in actions), journal_lines=len(journal),
           dispatches=sum(dispatched.values()), runs_requeued=len(requeued), engine_writes=iterations,
           stale_writes_retried=stale, rows_restored_after_engine_revert=restores, lost_updates=0,
           double_dispatches=0)


def test_a_sweep_puts_back_dispatch_marks_an_unlocked_writer_reverted(tmp_path: Path) -> None:
    """An active writer: it writes once while the sweep runs (so the sweep's write is stale), then lands
    a write that read the store before the sweep's rename. Both its rows and the sweep's survive."""
    d = SweepDir(tmp_path / "state")
    busy_state(d)
    store, intent = d.paths.reliability_file, d.paths.runtime_dir / "tandemctl-sweep.intent.json"
    clobbered = threading.Event()

    def engine_write(top: dict[str, Any], outbox_id: str) -> None:
        top["outbox"].append({**_outbox_row(), "outbox_id": outbox_id, "updated_at_ms": 99})
        temp = store.with_name(store.name + ".tmp")
        temp.write_bytes(json.dumps(top, indent=2).encode())
        os.replace(temp, store)

    def engine() -> None:
        while not intent.exists():  # the sweep has read and planned: it is writing now
            time.sleep(0.0002)
        engine_write(json.loads(store.read_bytes()), "outbox-engine-1")
        mine = reads.FileIdentity.of(store)
        in_flight = json.loads(store.read_bytes())  # read before the sweep's rename ...
        while reads.FileIdentity.of(store) == mine:
            time.sleep(0.0002)
        engine_write(in_flight, "outbox-engine-2")  # ... written after it
        clobbered.set()

    thread = threading.Thread(target=engine)
    thread.start()
    outcome = sweep(d)
    thread.join(10)
    assert clobbered.is_set() and outcome.acted == 5
    final = json.loads(store.read_bytes())
    assert {row["dead_letter_id"]: row["status"] for row in final["dead_letters"]} == {
        "dead-1": "retrying", "dead-2": "retrying", "dead-3": "retrying", "dead-ok": "resolved",
        "dead-spent": "ignored"}
    assert sorted(row["outbox_id"] for row in final["outbox"]) == ["outbox-engine-1", "outbox-engine-2"]
    assert_requeued_once(d)
