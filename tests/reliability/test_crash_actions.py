"""Operator actions killed with SIGKILL at every durable step, and actions and the sweep killed at
random moments: every file stays valid, no temp file is read as state, the lock never blocks the
next command, and re-running converges to exactly the state (and the one journal line) of an
uninterrupted run. (Kills of the sweep at every durable step: test_sweep_crash.py.)"""

import random
import shutil
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tandemctl.stores.json_codec import parse_reliability
from tests.factories import dead_letter, tenant, write_store
from tests.reliability.test_sweep_crash import assert_requeued_once, without_hashes
from tests.reliability_helpers import (
    assert_files_valid,
    intent_files,
    journal_entries,
    journal_without_ids,
    lock_config,
    make_idle,
    random_kill,
    report,
    run_in_process,
    run_process,
    spawn,
    state_paths,
    temp_files,
)
from tests.stores.test_sweep_writes import RUN_IDS, busy_state
from tests.sweep_fixtures import NOW, SweepDir, group_a_dead_letter, run_record

pytestmark = pytest.mark.slow

OTHER = tenant("org-b", "ws-b")
RETRY = ["--all-tenants", "-o", "json", "dead-letters", "retry", "--status", "open", "--status", "ignored",
         "--reason", "provider is back", "--yes"]
PARK = ["--all-tenants", "-o", "json", "dead-letters", "park", "dl-03", "dl-07", "dl-20", "dl-24", "dl-25", "dl-29",
        "--reason", "duplicate send"]
RANDOM_KILLS_PER_COMMAND = 14
COUNTS: Counter[str] = Counter()


def _rows() -> list[dict[str, Any]]:
    exhausted = {"retry_dispatch_count": 5, "retry_dispatched_at_ms": 900, "retry_backoff_ms": 32000}
    rows = [dead_letter(f"dl-{i:02d}", created=1000 + i, run_id=f"run-{i:02d}") for i in range(12)]
    rows += [dead_letter(f"dl-{i:02d}", status="ignored", created=1000 + i, operator_disposition="retry_exhausted",
                         metadata=dict(exhausted)) for i in range(12, 18)]
    rows += [dead_letter(f"dl-{i:02d}", source_type="stateful_wait", created=1000 + i) for i in (18, 19)]
    rows += [dead_letter(f"dl-{i:02d}", status="resolved", created=1000 + i) for i in range(20, 24)]
    rows += [dead_letter(f"dl-{i:02d}", status="retry_requested", created=1000 + i) for i in range(24, 28)]
    rows += [dead_letter(f"dl-{i:02d}", tenant_context=OTHER, created=1000 + i) for i in (28, 29)]
    return rows


def _outbox() -> list[dict[str, Any]]:
    return [{"schema_version": 1, "outbox_id": "outbox-1", "run_id": "run-00",
             "scope": {"schema_version": 1, "tenant_context": {"org_id": "local", "workspace_id": "local",
                                                               "source": "local_implicit"}},
             "operation": "mock.send", "status": "pending", "attempts": 1, "created_at_ms": 500,
             "updated_at_ms": 500, "engine_only_key": "kept"}]


def _seed(root: Path) -> None:
    store = state_paths(root).reliability_file
    write_store(store, _rows(), outbox=_outbox())
    make_idle(store)


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    make_idle(state_paths(target).reliability_file)
    return target


class Scenario:
    """One command on one initial state, with the result of its uninterrupted run."""

    def __init__(self, base: Path, name: str, args: list[str], initial: Path) -> None:
        self.base, self.name, self.args, self.initial = base, name, args, initial
        clean = _copy(initial, base / f"{name}-clean")
        log = base / f"{name}-steps.log"
        result = run_process(clean, args, {"TANDEMCTL_FAULT_LOG": str(log)})
        assert result.exit_code in (0, 6), result.stderr
        self.exit_code = result.exit_code
        self.steps = log.read_text().splitlines()
        self.store = state_paths(clean).reliability_file.read_bytes()
        self.journal_before = journal_entries(state_paths(initial).journal_file)
        added = journal_entries(state_paths(clean).journal_file)[len(self.journal_before):]
        assert len(added) == 1 and "recovered" not in added[0]
        self.journal_rows = added[0]["rows"]
        self.changed = sorted(row["dead_letter_id"] for row in result.json()["data"]["changed"])
        assert self.changed == sorted(row["dead_letter_id"] for row in self.journal_rows)
        # What re-running it on the finished state answers (an undo refuses rows it already reverted).
        again = run_process(clean, args)
        assert again.json()["data"]["changed"] == [] and state_paths(clean).reliability_file.read_bytes() == self.store
        self.rerun_codes = {self.exit_code, again.exit_code}

    def check_killed(self, root: Path) -> None:
        """Right after the kill: valid files, temp files invisible to a read."""
        paths = state_paths(root)
        assert_files_valid(paths)
        listed = run_in_process(root, ["--all-tenants", "-o", "json", "dead-letters", "list", "--limit", "0"])
        assert listed.exit_code == 0, listed.stderr
        stored = parse_reliability(paths.reliability_file.read_bytes(), paths.reliability_file).dead_letters
        assert sorted(r["dead_letter_id"] for r in listed.json()["data"]) == sorted(
            r["dead_letter_id"] for r in stored)
        assert {r["dead_letter_id"]: r for r in listed.json()["data"]} == {r["dead_letter_id"]: r for r in stored}

    def check_converged(self, root: Path) -> None:
        """Re-run with a 0.2 s lock timeout: the killed process's lock must not block it."""
        COUNTS["temps_left_by_kills"] += len(temp_files(root))
        COUNTS["intents_left_by_kills"] += len(intent_files(root))
        rerun = run_in_process(root, self.args, lock_config(root.parent, 0.2))
        assert rerun.exit_code in self.rerun_codes, rerun.stderr
        paths = state_paths(root)
        assert paths.reliability_file.read_bytes() == self.store
        added = journal_entries(paths.journal_file)[len(self.journal_before):]
        assert [entry["rows"] for entry in added] == [self.journal_rows], "exactly one journal line per change"
        assert temp_files(root) == [] and intent_files(root) == []
        assert_files_valid(paths)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crash-actions")


@pytest.fixture(scope="module")
def scenarios(base: Path) -> dict[str, Scenario]:
    initial = base / "initial"
    _seed(initial)
    retry = Scenario(base, "retry", RETRY, initial)
    park = Scenario(base, "park", PARK, initial)
    # The undo starts from the state the retry left, with its journal line.
    after_retry = _copy(base / "retry-clean", base / "undo-initial")
    op = journal_entries(state_paths(after_retry).journal_file)[-1]["operation_id"]
    undo = Scenario(base, "undo", ["--all-tenants", "-o", "json", "undo", op, "--yes", "--reason", "mistake"],
                    after_retry)
    return {"retry": retry, "park": park, "undo": undo}


def test_clean_runs_have_the_expected_outcome(scenarios: dict[str, Scenario]) -> None:
    retry, park, undo = scenarios["retry"], scenarios["park"], scenarios["undo"]
    assert len(retry.changed) == 20 and retry.exit_code == 6  # the two stateful_wait rows are refused
    assert park.changed == ["dl-03", "dl-07", "dl-24", "dl-25", "dl-29"] and park.exit_code == 6  # dl-20 resolved
    assert undo.changed == retry.changed and undo.exit_code == 0
    for scenario in scenarios.values():
        labels = [step.split(" ", 1)[1] for step in scenario.steps]
        assert "rename stateful_reliability.json" in labels and "append tandemctl-journal.jsonl" in labels


@pytest.mark.parametrize("name", ["retry", "park", "undo"])
def test_kill_at_every_durable_step_converges(scenarios: dict[str, Scenario], base: Path, name: str) -> None:
    scenario = scenarios[name]
    for k in range(1, len(scenario.steps) + 1):
        root = _copy(scenario.initial, base / f"{name}-k{k}")
        killed = run_process(root, scenario.args, {"TANDEMCTL_FAULT_AFTER": str(k)})
        assert killed.exit_code == -signal.SIGKILL, (k, killed.stderr)
        scenario.check_killed(root)
        scenario.check_converged(root)
        COUNTS["step_kills"] += 1
    report(f"actions: kill at every durable step ({name})", steps=len(scenario.steps), kills=len(scenario.steps),
           losses=0, duplicate_journal_lines=0)


def _timeline(scenario: Scenario, base: Path) -> tuple[float, float]:
    """How long the clean command lives, and how long its durable steps take (first to last)."""
    root = _copy(scenario.initial, base / f"{scenario.name}-timing")
    log = base / f"{scenario.name}-timing.log"
    started = time.monotonic()
    proc = spawn(root, scenario.args, {"TANDEMCTL_FAULT_LOG": str(log)})
    first = last = 0.0
    while proc.poll() is None:
        steps = len(log.read_text().splitlines()) if log.exists() else 0
        if steps and not first:
            first = time.monotonic()
        if steps >= len(scenario.steps):
            last = time.monotonic()
            break
        time.sleep(0.0002)
    proc.communicate(timeout=60)
    return time.monotonic() - started, max(last - first, 0.005)


@pytest.mark.parametrize("name", ["retry", "park"])
def test_random_time_kills_converge(scenarios: dict[str, Scenario], base: Path, name: str) -> None:
    scenario = scenarios[name]
    lifetime, writing = _timeline(scenario, base)
    rng = random.Random(f"tandemctl-{name}")
    landed: Counter[int] = Counter()
    for i in range(RANDOM_KILLS_PER_COMMAND):
        # Odd: anywhere in the process's life. Even: at a random point of the stretch where it writes.
        anchored = i % 2 == 0
        delay = rng.uniform(0, writing * 1.2) if anchored else rng.uniform(0, lifetime)
        root = _copy(scenario.initial, base / f"{name}-r{i}")
        landed[random_kill(root, scenario.args, base / f"{name}-r{i}.log", delay, anchored=anchored)] += 1
        scenario.check_killed(root)
        scenario.check_converged(root)
        COUNTS["random_kills"] += 1
    report(f"actions: random-time SIGKILL ({name})", kills=RANDOM_KILLS_PER_COMMAND,
           durable_steps_done_when_killed=dict(sorted(landed.items())), losses=0, duplicate_journal_lines=0)


SWEEP = ["-o", "json", "sweep", "--once", "--lock-timeout", "0.2"]
SWEEP_ENV = {"TANDEMCTL_NOW_MS": str(NOW)}
AUDIT = "data/audit/protected_events.log.jsonl"


def test_random_time_kills_of_the_sweep_converge(base: Path) -> None:
    initial = SweepDir(base / "sweep-initial")
    busy_state(initial)
    clean = SweepDir(base / "sweep-clean")
    shutil.copytree(initial.root, clean.root)
    log = base / "sweep-steps.log"
    assert run_process(clean.root, SWEEP, {**SWEEP_ENV, "TANDEMCTL_FAULT_LOG": str(log)}).exit_code == 0
    steps, reference = len(log.read_text().splitlines()), clean.files()
    started = time.monotonic()
    assert run_process(initial.root, ["-o", "json", "sweep", "--once", "--dry-run"], SWEEP_ENV).exit_code == 0
    lifetime = time.monotonic() - started
    rng = random.Random("tandemctl-sweep")
    landed: Counter[int] = Counter()
    for i in range(RANDOM_KILLS_PER_COMMAND):
        anchored = i % 2 == 0
        delay = rng.uniform(0, 0.03) if anchored else rng.uniform(0, lifetime)
        d = SweepDir(base / f"sweep-r{i}")
        shutil.copytree(initial.root, d.root)
        proc_log = base / f"sweep-r{i}.log"
        landed[random_kill(d.root, SWEEP, proc_log, delay, anchored=anchored, env=SWEEP_ENV)] += 1
        assert_files_valid(d.paths)
        COUNTS["temps_left_by_kills"] += len(temp_files(d.root))
        again = run_in_process(d.root, SWEEP, SWEEP_ENV)  # the dead sweep's locks must not block
        assert again.exit_code == 0, again.stderr
        final = d.files()
        assert set(final) == set(reference), i
        for name, data in reference.items():
            if name == AUDIT:
                assert without_hashes(final[name]) == without_hashes(data), i
            elif name.endswith("tandemctl-journal.jsonl"):  # the sweep journaled exactly once
                assert journal_without_ids(final[name]) == journal_without_ids(data), i
            else:
                assert final[name] == data, (i, name)
        assert temp_files(d.root) == [] and intent_files(d.root) == []
        assert_files_valid(d.paths)
        assert_requeued_once(d)
        COUNTS["random_kills"] += 1
    report("sweep: random-time SIGKILL", kills=RANDOM_KILLS_PER_COMMAND, durable_steps=steps,
           durable_steps_done_when_killed=dict(sorted(landed.items())), double_dispatches=0)


def test_a_sweep_after_an_interrupted_action_journals_the_action_first(base: Path) -> None:
    d = SweepDir(base / "interrupted-then-swept")
    d.write_runs([run_record(RUN_IDS[0]), run_record(RUN_IDS[1])])
    d.write_dead_letters([group_a_dead_letter(f"dead-{i}", run_id=RUN_IDS[i], status="open", updated=1490 - i)
                          for i in (0, 1)])
    make_idle(d.paths.reliability_file)
    retry = ["--all-tenants", "-o", "json", "dead-letters", "retry", "dead-0", "dead-1", "--reason", "back"]
    probe = SweepDir(base / "interrupted-probe")
    shutil.copytree(d.root, probe.root)
    log = base / "interrupted-probe.log"
    assert run_process(probe.root, retry, {**SWEEP_ENV, "TANDEMCTL_FAULT_LOG": str(log)}).exit_code == 0
    labels = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    k = labels.index("rename stateful_reliability.json") + 1  # the store is written, the journal is not
    killed = run_process(d.root, retry, {**SWEEP_ENV, "TANDEMCTL_FAULT_AFTER": str(k)})
    assert killed.exit_code == -signal.SIGKILL
    assert journal_entries(d.paths.journal_file) == [] and len(intent_files(d.root)) == 1
    note = run_in_process(d.root, ["--all-tenants", "history"], SWEEP_ENV).stderr
    assert "note: operation op-" in note and "was interrupted" in note
    swept = run_in_process(d.root, SWEEP, SWEEP_ENV)
    assert swept.exit_code == 0 and len(swept.json()["data"]["dispatched"]) == 2, swept.stderr
    entry, sweep_entry = journal_entries(d.paths.journal_file)  # the interrupted action first, then the sweep
    assert entry["recovered"] is True and entry["action"] == "retry"
    assert sweep_entry["action"] == "sweep" and [r["dead_letter_id"] for r in sweep_entry["rows"]] == ["dead-0",
                                                                                                         "dead-1"]
    assert entry["rows"] == journal_entries(probe.paths.journal_file)[0]["rows"]
    assert {row["dead_letter_id"]: row["status"] for row in d.dead_letters().values()} == {
        "dead-0": "retrying", "dead-1": "retrying"}
    assert intent_files(d.root) == []
    history = run_in_process(d.root, ["--all-tenants", "-o", "json", "history"])
    assert [e["operation_id"] for e in history.json()["data"]] == [sweep_entry["operation_id"], entry["operation_id"]]
    undo = run_in_process(d.root, ["--all-tenants", "-o", "json", "undo", entry["operation_id"], "--yes"])
    assert undo.exit_code == 6 and all("retrying" in r["reason"] for r in undo.json()["data"]["refused"])


def test_an_intent_whose_write_never_landed_is_dropped_without_a_journal_line(base: Path) -> None:
    root = base / "never-landed"
    _seed(root)
    killed = run_process(root, PARK, {"TANDEMCTL_FAULT_AFTER": "3"})  # intent renamed in, store not written
    assert killed.exit_code == -signal.SIGKILL and len(intent_files(root)) == 1
    listed = run_in_process(root, ["--all-tenants", "-o", "json", "dead-letters", "resolve", "dl-00", "--reason", "x"])
    assert listed.exit_code == 0
    assert [e["action"] for e in journal_entries(state_paths(root).journal_file)] == ["resolve"]
    assert intent_files(root) == []


def test_an_unreadable_action_intent_is_refused_in_one_line(base: Path) -> None:
    root = base / "bad-intent"
    _seed(root)
    intent = state_paths(root).reliability_file.with_name("stateful_reliability.json.tandemctl.intent")
    intent.write_bytes(b'{"tandemctl_action_intent": 1, "entry": ')
    before = state_paths(root).reliability_file.read_bytes()
    result = run_in_process(root, PARK)
    assert result.exit_code == 5 and str(intent) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert state_paths(root).reliability_file.read_bytes() == before and intent.exists()


def test_the_next_sweep_removes_every_temp_file_a_killed_sweep_left(base: Path) -> None:
    initial = SweepDir(base / "temps-initial")
    busy_state(initial)
    probe = SweepDir(base / "temps-probe")
    shutil.copytree(initial.root, probe.root)
    log = base / "temps-probe.log"
    assert run_process(probe.root, SWEEP, {**SWEEP_ENV, "TANDEMCTL_FAULT_LOG": str(log)}).exit_code == 0
    write_steps = [n for n, line in enumerate(log.read_text().splitlines(), 1) if line.split(" ")[1] == "write"]
    assert len(write_steps) == 6  # intent, three shards, the hot runs file, the store
    for k in write_steps:
        d = SweepDir(base / f"temps-k{k}")
        shutil.copytree(initial.root, d.root)
        assert run_process(d.root, SWEEP, {**SWEEP_ENV, "TANDEMCTL_FAULT_AFTER": str(k)}).exit_code == -signal.SIGKILL
        [left] = temp_files(d.root)
        assert left.name.startswith(".") and left.name.endswith(".tandemctl.tmp")
        assert run_in_process(d.root, SWEEP, SWEEP_ENV).exit_code == 0
        assert temp_files(d.root) == [], k
        assert_requeued_once(d)
    report("sweep: temp files of killed sweeps", kills=len(write_steps), temps_left_after_next_sweep=0)
