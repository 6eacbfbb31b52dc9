"""The linear shape of the work (issue: performance): whatever N, a command reads each file at
most once and writes each file at most once; the store, runs file and ledger are written once.
Observed through Python audit hooks in a real subprocess, not through timing."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.generate import generate_state

NOW_MS = 1_795_737_600_000
TRACER = r"""
import json, os, sys
log = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                  (isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR))
        log.append(["w" if writing else "r", os.fsdecode(path)])
    elif event == "mmap.__new__":
        log.append(["mmap", ""])
sys.addaudithook(hook)
import atexit
atexit.register(lambda: open(os.environ["IO_TRACE"], "w").write(json.dumps(log)))
sys.argv = ["tandemctl", *sys.argv[1:]]
from tandemctl.cli.app import main
main()
"""


def _trace(tmp: Path, root: Path, *args: str) -> list[tuple[str, str]]:
    trace = tmp / "trace.json"
    env = {**os.environ, "IO_TRACE": str(trace), "TANDEMCTL_NOW_MS": str(NOW_MS), "TANDEM_ENGINE_PORT": "9"}
    done = subprocess.run([sys.executable, "-c", TRACER, "--state-dir", str(root), *args], env=env,
                          capture_output=True, text=True)
    assert done.returncode in (0, 6), done.stderr  # 6: some rows refused (e.g. wait dead letters)
    data = root / "data"
    return [(op, str(Path(p).resolve().relative_to(data.resolve())) if p else "") for op, p in
            json.loads(trace.read_text()) if not p or Path(p).resolve().is_relative_to(data.resolve())]


def _atomic_writes(events: list[tuple[str, str]]) -> Counter[str]:
    """Atomic replacements, counted by the unique temp file each one writes (`.<name>.<pid>.<hex>
    .tandemctl.tmp`): the rename itself may be a renameat2 exchange, which has no audit event."""
    writes: Counter[str] = Counter()
    for kind, path in events:
        name = Path(path).name
        if kind == "w" and name.startswith(".") and name.endswith(".tandemctl.tmp"):
            target = name[1:].rsplit(".", 4)[0]
            writes[str(Path(path).parent / target)] += 1
    return writes


def _state_files(events: list[tuple[str, str]], op: str) -> Counter[str]:
    # State files only: not our dot-temp files, lock files or directories opened to fsync them.
    return Counter(path for kind, path in events if kind == op and not Path(path).name.startswith(".")
                   and path.endswith((".json", ".jsonl")))


@pytest.mark.parametrize("size", [60, 600])
def test_sweep_reads_and_writes_each_file_at_most_once(tmp_path: Path, size: int) -> None:
    root = tmp_path / "state"
    generate_state(root, dead_letters=size, seed=3, now_ms=NOW_MS)
    events = _trace(tmp_path, root, "-o", "json", "sweep", "--once")
    reads, renames = _state_files(events, "r"), _atomic_writes(events)
    assert reads and max(reads.values()) == 1, reads.most_common(3)
    assert renames and max(renames.values()) == 1, renames.most_common(3)
    assert renames["runtime/stateful_reliability.json"] == 1 and renames["automation_v2_runs.json"] == 1
    appends = _state_files(events, "w")
    assert appends["audit/protected_events.log.jsonl"] == 1
    # Besides per-run shards, the set of files written does not grow with N.
    fixed = {p for p in renames if not p.startswith("automation-runs/")}
    assert fixed == {"runtime/stateful_reliability.json", "automation_v2_runs.json",
                     "runtime/tandemctl-sweep.intent.json"}


@pytest.mark.parametrize("size", [60, 600])
def test_list_reads_the_store_once_and_writes_nothing(tmp_path: Path, size: int) -> None:
    root = tmp_path / "state"
    generate_state(root, dead_letters=size, seed=3, now_ms=NOW_MS)
    events = _trace(tmp_path, root, "--all-tenants", "-o", "json", "dead-letters", "list", "--limit", "0")
    assert _state_files(events, "r") == Counter({"runtime/stateful_reliability.json": 1})
    assert not _state_files(events, "w") and not _atomic_writes(events)


def test_second_list_maps_the_validated_store_instead_of_reloading_it(tmp_path: Path) -> None:
    root = tmp_path / "state"
    generate_state(root, dead_letters=60, seed=3, now_ms=NOW_MS)
    args = ("--all-tenants", "-o", "json", "dead-letters", "list")
    cold, warm = _trace(tmp_path, root, *args), _trace(tmp_path, root, *args)
    assert ("mmap", "") not in cold and ("mmap", "") in warm


@pytest.mark.parametrize("size", [60, 600])
def test_bulk_retry_reads_and_writes_the_store_once(tmp_path: Path, size: int) -> None:
    root = tmp_path / "state"
    generate_state(root, dead_letters=size, seed=3, now_ms=NOW_MS)
    events = _trace(tmp_path, root, "--all-tenants", "-o", "json", "dead-letters", "retry", "--status", "open",
                    "--reason", "bulk", "--yes")
    writes = _atomic_writes(events)
    assert writes["runtime/stateful_reliability.json"] == 1 and max(writes.values()) == 1, writes
    assert not any(p.startswith("automation") for p in writes)
    assert _state_files(events, "w")["runtime/tandemctl-journal.jsonl"] == 1
